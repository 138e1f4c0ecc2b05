"""Recording a behave run: the session is a run span; features, rules, scenarios and their steps
are nested step spans.

Imported only when behave loads the formatter (``otel_sqlite.behave``), so behave is already
there. Spans go through the harness API's provider, as the pytest plugin's do: code under a
step that calls ``command``, ``api_call`` or ``event`` nests under that step, TRACEPARENT puts
the session under an outer run (parallel workers started by one coordinator), and
``OTEL_TRACES_EXPORTER=otlp`` sends the same spans to Jaeger.

behave tells a formatter when things start, not when a scenario ends: a scenario is finished
when the next one, its rule or its feature starts or ends. A scenario run again by the runner
(``behave.contrib.scenario_autoretry``) starts again as the same object: each run is an attempt
of one step (``harness.step.attempt``), as pytest reruns are. Outcomes use the pytest plugin's
words (``harness.test.outcome``), so every reader counts both alike.
"""

from __future__ import annotations

import mimetypes
import os
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from behave.formatter.base import Formatter, StreamOpener
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from otel_sqlite import conventions as c
from otel_sqlite import harness
from otel_sqlite.plugins.attachments import attach_bytes
from otel_sqlite.sdk.exporter import SQLiteSpanExporter
from otel_sqlite.sdk.in_flight_watch import InFlightWatch
from otel_sqlite.sdk.provider import DEFAULT_EXPORTER, exporter_names
from otel_sqlite.storage.paths import resolve_db_path

USERDATA_SWITCH = "otel_sqlite"  # behave -D otel_sqlite=1 (or =DB)
USERDATA_NAME = "otel_sqlite.name"  # behave -D otel_sqlite.name=NAME
ROLE_ATTACHMENT = "attachment"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

# behave's statuses in the pytest plugin's words; anything else (untested...) is skipped.
_OUTCOMES = {
    "passed": c.OUTCOME_PASSED, "failed": c.OUTCOME_FAILED, "error": c.OUTCOME_ERROR,
    "hook_error": c.OUTCOME_ERROR, "cleanup_error": c.OUTCOME_ERROR,
    "pending": c.OUTCOME_ERROR, "undefined": c.OUTCOME_ERROR,
    "pending_warn": c.OUTCOME_PASSED,
}
_RESULT_STATUS = {c.OUTCOME_PASSED: "pass", c.OUTCOME_FAILED: "fail", c.OUTCOME_ERROR: "fail"}
_REASONS = {"undefined": "undefined step", "pending": "pending step"}


def outcome_of(status: Any) -> str:
    return _OUTCOMES.get(getattr(status, "name", str(status)), c.OUTCOME_SKIPPED)


@dataclass
class _Level:
    """One open span: a feature, rule, scenario attempt or step."""

    model: Any
    span: Span
    scope: ExitStack
    number: int
    attempt: int = 1
    children: int = 0  # scenarios (and rules) numbered so far under a feature or rule
    scenarios: int = 0  # scenarios finished under it, and how many of them failed
    failed: int = 0
    done: set[int] = field(default_factory=set)  # id(step) of steps already recorded
    failure: str | None = None  # the first failing step: its message and outcome
    failure_outcome: str = c.OUTCOME_FAILED


def _tags(*models: Any) -> list[str]:
    return list(dict.fromkeys(str(tag) for model in models for tag in model.tags))


def _location(model: Any) -> dict[str, Any]:
    location = getattr(model, "location", None)
    if location is None:
        return {}
    return {c.CODE_FILE_PATH: os.path.abspath(location.filename),
            c.CODE_LINE_NUMBER: location.line}


def _set_outcome(span: Span, outcome: str, message: str | None, reason: str | None) -> None:
    span.set_attribute(c.HARNESS_TEST_OUTCOME, outcome)
    if outcome in _RESULT_STATUS:
        span.set_attribute(c.TEST_CASE_RESULT_STATUS, _RESULT_STATUS[outcome])
    if reason:
        span.set_attribute(c.HARNESS_TEST_REASON, reason)
    if outcome in (c.OUTCOME_FAILED, c.OUTCOME_ERROR):
        span.set_status(Status(StatusCode.ERROR, message or outcome))


def _first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


class Recorder(Formatter):
    """The behave formatter: ``behave -f otel_sqlite.behave:Recorder -o otel-sqlite.db``.

    Its output file is the database (without ``-o``: ``$OTEL_SQLITE_DB``, else
    ``./otel-sqlite.db``); it never writes to behave's output stream.
    """

    name = "otel-sqlite"
    description = "Records the run as OpenTelemetry spans in an otel-sqlite database."

    def __init__(self, stream_opener: StreamOpener, config: Any) -> None:
        super().__init__(stream_opener, config)
        target = stream_opener.name if stream_opener.name not in (None, "-") else None
        self.provider = harness.configure(
            resolve_db_path(target).absolute(),
            service_name=os.environ.get("OTEL_SERVICE_NAME") or "behave",
        )
        self.tracer = self.provider.get_tracer("otel_sqlite.behave")
        self.watch = (
            InFlightWatch(SQLiteSpanExporter(harness.database()))
            if DEFAULT_EXPORTER in exporter_names() else None
        )
        userdata = getattr(config, "userdata", None) or {}
        name = userdata.get(USERDATA_NAME) or Path.cwd().name
        self.session = ExitStack()
        self.run_span = self.session.enter_context(harness.run(
            name, **{c.TEST_SUITE_NAME: name,
                     c.HARNESS_TEST_ARGS: [str(a) for a in getattr(config, "paths", [])]},
        ))
        self.levels: list[_Level] = []
        self.features = 0
        self.scenarios = 0
        self.failed = 0
        self.attachments = 0
        self.closed = False

    # Containers: features and rules.
    def feature(self, feature: Any) -> None:
        self._close_to(0)
        self.features += 1
        self._open(feature, feature.name, self.features, {
            c.HARNESS_TEST_KEYWORD: feature.keyword, c.HARNESS_TEST_TAGS: _tags(feature),
            **_location(feature)})

    def rule(self, rule: Any) -> None:
        self._close_to(1)
        self._open(rule, rule.name, self._next_child(), {
            c.HARNESS_TEST_KEYWORD: rule.keyword, c.HARNESS_TEST_TAGS: _tags(rule),
            **_location(rule)})

    def rule_finished(self) -> None:
        self._close_to(1)

    def eof(self) -> None:
        self._close_to(0)

    # Scenarios, their attempts and steps.
    def scenario(self, scenario: Any) -> None:
        attempt = 1
        if self.levels and self.levels[-1].model is scenario:
            # The runner starts the same scenario again: the open attempt failed.
            previous = self.levels[-1]
            number, attempt = previous.number, previous.attempt + 1
            self._record_unrun_steps(previous)
            self._finish(previous, previous.failure_outcome, previous.failure or "failed")
            self.levels.pop().scope.close()
        else:
            self._close_to(self._container_depth())
            number = self._next_child()
        feature = self._feature_model()
        attributes = {
            c.TEST_CASE_NAME: f"{feature.name} / {scenario.name}" if feature else scenario.name,
            c.HARNESS_TEST_KEYWORD: scenario.keyword,
            c.HARNESS_TEST_TAGS: _tags(*(m for m in (feature, scenario) if m is not None)),
            **_location(scenario),
        }
        row = getattr(scenario, "_row", None)
        if row is not None:
            attributes[c.HARNESS_TEST_PARAMETERS] = str(row.id)
            for heading, cell in zip(row.headings, row.cells, strict=False):
                attributes[c.HARNESS_TEST_PARAM_PREFIX + heading] = cell
        self._open(scenario, scenario.name, number, attributes, attempt=attempt)

    def match(self, match: Any) -> None:
        scenario = self._scenario_level()
        if scenario is not None and (steps := self._steps_to_run(scenario)):
            self._open_step(scenario, steps[0])

    def result(self, step: Any) -> None:
        scenario = self._scenario_level()
        if scenario is None:
            return
        if self.levels[-1].model is not step:  # a result without a match (dry run)
            self._open_step(scenario, step)
        level = self.levels.pop()
        self._record_step(scenario, level, step)
        level.scope.close()

    @staticmethod
    def _steps_to_run(scenario: _Level) -> list[Any]:
        """The scenario's steps not recorded yet, in order."""
        return [step for step in scenario.model.all_steps if id(step) not in scenario.done]

    def _open_step(self, scenario: _Level, step: Any) -> None:
        """A step's span, numbered by its place in the scenario (background steps first).

        Written in flight only if it runs for a while (``InFlightWatch``), as the pytest
        plugin does for tests: a row per step at its start doubled what recording cost.
        """
        number = next(n for n, s in enumerate(scenario.model.all_steps, 1) if s is step)
        attributes = {c.HARNESS_STEP_NUMBER: number, c.HARNESS_TEST_KEYWORD: step.keyword,
                      **_location(step)}
        span = self.tracer.start_span(f"{step.keyword} {step.name}", attributes=attributes)
        # The kind comes after the start, so the in-flight processor does not write it.
        span.set_attribute(c.HARNESS_KIND, c.KIND_STEP)
        scope = ExitStack()
        scope.enter_context(trace.use_span(span, end_on_exit=True))
        if self.watch is not None:  # unwatched before the span ends (the stack unwinds)
            self.watch.watch(span)
            scope.callback(self.watch.unwatch)
        self.levels.append(_Level(step, span, scope, number))

    def embedding(self, mime_type: str, data: bytes | str) -> None:
        """``context.attach(mime_type, data)``: a file beside the database, an artifact of the
        innermost open span (the step that attached it, else its scenario)."""
        level = self.levels[-1] if self.levels else None
        span = level.span if level is not None else self.run_span
        content = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        self.attachments += 1
        extension = mimetypes.guess_extension(mime_type) or ".bin"
        attach_bytes(span, ROLE_ATTACHMENT, f"{ROLE_ATTACHMENT}-{self.attachments}{extension}",
                     content, mime_type)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._close_to(0)
        span = self.run_span
        span.set_attribute(c.TEST_SUITE_RUN_STATUS, "failure" if self.failed else "success")
        if self.failed:
            span.set_status(Status(StatusCode.ERROR, f"behave: {self.failed} of "
                                                     f"{self.scenarios} scenarios failed"))
        self.session.close()
        if self.watch is not None:
            self.watch.close()
        self.provider.force_flush()

    # Opening and closing levels.
    def _open(self, model: Any, name: str, number: int | None, attributes: dict[str, Any],
              attempt: int | None = None) -> None:
        """A span for ``model`` under the innermost open one; ``attempt`` for scenarios."""
        scope = ExitStack()
        span = scope.enter_context(harness.step(
            name, number=number, attempt=attempt,
            **{k: v for k, v in attributes.items() if v not in (None, [])},
        ))
        self.levels.append(_Level(model, span, scope, number or 0, attempt or 1))

    def _next_child(self) -> int | None:
        """The number of a new scenario or rule within its feature or rule."""
        depth = self._container_depth()
        if depth == 0:
            return None
        self.levels[depth - 1].children += 1
        return self.levels[depth - 1].children

    def _container_depth(self) -> int:
        """How many open levels are features or rules (a scenario's parents)."""
        depth = 0
        for level in self.levels:
            if getattr(level.model, "type", None) not in ("feature", "rule"):
                break
            depth += 1
        return depth

    def _close_to(self, depth: int) -> None:
        """Finish the open levels deeper than ``depth``, innermost first."""
        while len(self.levels) > depth:
            level = self.levels.pop()
            status = getattr(level.model, "status", None)
            outcome = outcome_of(status)
            if getattr(level.model, "type", None) == "scenario":
                self._record_unrun_steps(level)
                self._attach_captured(level)
                self._count(outcome in (c.OUTCOME_FAILED, c.OUTCOME_ERROR))
            elif level.failed:
                level.failure = f"{level.failed} of {level.scenarios} scenarios failed"
            self._finish(level, outcome, level.failure or _first_line(
                getattr(level.model, "error_message", None) or outcome))
            level.scope.close()

    def _count(self, failed: bool) -> None:
        """One more finished scenario for the run and every open feature and rule."""
        self.scenarios += 1
        self.failed += failed
        for level in self.levels:
            level.scenarios += 1
            level.failed += failed

    def _finish(self, level: _Level, outcome: str, message: str | None) -> None:
        reason = getattr(level.model, "skip_reason", None) if outcome == c.OUTCOME_SKIPPED \
            else None
        _set_outcome(level.span, outcome, message, reason)

    def _feature_model(self) -> Any:
        return self.levels[0].model if self.levels and self.levels[0].model.type == "feature" \
            else None

    def _scenario_level(self) -> _Level | None:
        for level in reversed(self.levels):
            if getattr(level.model, "type", None) == "scenario":
                return level
        return None

    def _record_step(
        self, scenario: _Level, level: _Level, step: Any, not_run: str | None = None
    ) -> None:
        scenario.done.add(id(step))
        name = getattr(step.status, "name", str(step.status))
        outcome = outcome_of(step.status)
        message = None
        if outcome in (c.OUTCOME_FAILED, c.OUTCOME_ERROR):
            exception = getattr(step, "exception", None)
            message = _first_line(exception) if exception is not None else _REASONS.get(
                name, name)
            message = message or type(exception).__name__
            self._exception_event(level.span, step, exception, message)
            if scenario.failure is None:
                scenario.failure = f"{step.keyword} {step.name}: {message}"
                scenario.failure_outcome = outcome
        reason = _REASONS.get(name, not_run if outcome == c.OUTCOME_SKIPPED else None)
        _set_outcome(level.span, outcome, message, reason)

    def _exception_event(self, span: Span, step: Any, exception: Any, message: str) -> None:
        if exception is None:
            return
        trace = "".join(traceback.format_exception(
            type(exception), exception, getattr(step, "exc_traceback", None)))
        span.add_event(c.EXCEPTION_EVENT, {
            c.EXCEPTION_TYPE: type(exception).__name__, c.EXCEPTION_MESSAGE: message,
            c.EXCEPTION_STACKTRACE: trace})

    def _record_unrun_steps(self, scenario: _Level) -> None:
        """Steps the scenario never ran (after a failure, in a skipped scenario), as behave
        left them: skipped or undefined, each a step of no duration."""
        not_run = ("an earlier step failed" if scenario.failure else
                   getattr(scenario.model, "skip_reason", None) or "not run")
        for step in self._steps_to_run(scenario):
            self._open_step(scenario, step)
            level = self.levels.pop()
            self._record_step(scenario, level, step, not_run)
            level.scope.close()

    def _attach_captured(self, scenario: _Level) -> None:
        captured = getattr(scenario.model, "captured", None)
        for role in (c.ROLE_STDOUT, c.ROLE_STDERR):
            text = getattr(captured, role, "") if captured is not None else ""
            if text:
                attach_bytes(scenario.span, role, role, text.encode("utf-8", "replace"))


def enabled(userdata: Any) -> str | None:
    """The database ``-D otel_sqlite=...`` asks for: ``""`` for the default, None when off."""
    value = str(userdata.get(USERDATA_SWITCH, "") or os.environ.get(c.ENV_BEHAVE, "")).strip()
    if value.lower() in _FALSE:
        return None
    return "" if value.lower() in _TRUE else value


def record(context: Any) -> Recorder | None:
    """For ``environment.py``'s ``before_all``: record this run when ``behave -D
    otel_sqlite=1`` (or ``=DB``, or ``OTEL_SQLITE_BEHAVE=1``) asks for it, beside the
    formatters the project already uses. Returns the recorder, or None when not asked."""
    runner = context._runner  # noqa: SLF001 - behave keeps its formatters there
    target = enabled(context.config.userdata)
    if target is None or any(isinstance(f, Recorder) for f in runner.formatters):
        return None
    recorder = Recorder(StreamOpener(filename=target or None), context.config)
    runner.formatters.append(recorder)
    return recorder
