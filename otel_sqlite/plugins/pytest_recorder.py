"""Recording a pytest session: the session is a run span, each attempt of a test a step span.

Loaded only when the plugin is enabled (``otel_sqlite.pytest_plugin``). Spans go through the
harness API's provider, so tests that call ``command``, ``api_call`` or ``event`` nest under
their test, and ``OTEL_TRACES_EXPORTER=otlp`` sends the very same spans to Jaeger.

A test's step spans its setup, call and teardown; rerun plugins (pytest-rerunfailures), which
run that protocol again, give one step span per attempt, numbered by ``harness.step.attempt``.
Under pytest-xdist the controller owns the run span and hands its context to each worker,
whose steps join the same trace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from otel_sqlite import conventions as c
from otel_sqlite import harness
from otel_sqlite.plugins.attachments import attach_bytes
from otel_sqlite.sdk.exporter import SQLiteSpanExporter
from otel_sqlite.sdk.in_flight_watch import InFlightWatch
from otel_sqlite.sdk.provider import DEFAULT_EXPORTER, exporter_names
from otel_sqlite.storage.paths import default_db_path, resolve_db_path

# Keys of xdist's workerinput: what the controller tells each worker.
WORKERINPUT_CONTEXT = "otel_sqlite_context"
WORKERINPUT_DB = "otel_sqlite_db"
# A setup / call / teardown phase gets its own child span when it fails or takes this long;
# below it, a span per phase would triple the spans of a fast suite and show nothing.
PHASE_SPAN_MIN_NS = 10_000_000
PARAM_VALUE_MAX_CHARS = 200

FAILING = frozenset({c.OUTCOME_FAILED, c.OUTCOME_ERROR})
_RESULT_STATUS = {
    c.OUTCOME_PASSED: "pass", c.OUTCOME_XPASSED: "pass", c.OUTCOME_XFAILED: "pass",
    c.OUTCOME_FAILED: "fail", c.OUTCOME_ERROR: "fail",
}
_attempt_key = pytest.StashKey["_Attempt"]()
_attempts_key = pytest.StashKey[int]()
_sections_key = pytest.StashKey[int]()


@dataclass
class _Attempt:
    """One run of a test's setup / call / teardown, while it is under way."""

    span: Span
    scope: ExitStack
    first_section: int
    reports: dict[str, pytest.TestReport] = field(default_factory=dict)


def outcome_of(reports: Mapping[str, pytest.TestReport]) -> str:
    """pytest's word for an attempt, from its phase reports, as its terminal summary says it."""
    setup, call, teardown = (reports.get(when) for when in ("setup", "call", "teardown"))
    if setup is None or setup.failed:
        result = c.OUTCOME_ERROR
    elif setup.skipped:
        result = c.OUTCOME_XFAILED if hasattr(setup, "wasxfail") else c.OUTCOME_SKIPPED
    elif call is None:
        result = c.OUTCOME_ERROR
    elif call.failed:
        result = c.OUTCOME_FAILED
    elif call.skipped:
        result = c.OUTCOME_XFAILED if hasattr(call, "wasxfail") else c.OUTCOME_SKIPPED
    else:
        result = c.OUTCOME_XPASSED if hasattr(call, "wasxfail") else c.OUTCOME_PASSED
    if teardown is not None and teardown.failed and result != c.OUTCOME_FAILED:
        result = c.OUTCOME_ERROR
    return result


def reason_of(reports: Mapping[str, pytest.TestReport | pytest.CollectReport]) -> str | None:
    """Why an attempt was skipped or xfailed, when it was."""
    for report in reports.values():
        if getattr(report, "wasxfail", None):
            return str(report.wasxfail)
        if report.skipped and isinstance(report.longrepr, tuple):
            return str(report.longrepr[2]).removeprefix("Skipped: ")
    return None


def crash_message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The one-line cause of a failed phase, as pytest's short test summary shows it."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    return text.strip().splitlines()[0] if text.strip() else "failed"


def collect_error_message(report: pytest.CollectReport) -> str:
    """The error a module's import raised: the last ``E`` line of pytest's report, which
    names the missing module or the syntax error, where its first line only names the file."""
    errors = [line[1:].strip() for line in report.longreprtext.splitlines() if line[:2] == "E "]
    return errors[-1] if errors else crash_message(report)


def add_exception_event(
    span: Span, type_name: str, message: str, report: pytest.TestReport | pytest.CollectReport
) -> None:
    """pytest's failure report as the span's ``exception`` event; the stack trace is the
    longrepr exactly as pytest printed it."""
    span.add_event(
        c.EXCEPTION_EVENT,
        {
            c.EXCEPTION_TYPE: type_name,
            c.EXCEPTION_MESSAGE: message,
            c.EXCEPTION_STACKTRACE: report.longreprtext,
            c.HARNESS_TEST_PHASE: getattr(report, "when", None) or "collect",
        },
    )


def attributes_of(item: pytest.Item) -> dict[str, Any]:
    """What identifies a test: node id, code location, parametrisation, markers."""
    module = getattr(getattr(item, "module", None), "__name__", None)
    cls = getattr(item, "cls", None)
    function = getattr(item, "originalname", None) or item.name
    qualified = [part for part in (module, cls.__qualname__ if cls else None, function) if part]
    _, line, _ = item.location
    attributes: dict[str, Any] = {
        c.TEST_CASE_NAME: item.nodeid,
        c.CODE_FUNCTION_NAME: ".".join(qualified),
        c.CODE_FILE_PATH: str(item.path),
        c.CODE_LINE_NUMBER: line + 1 if line is not None else None,
        c.HARNESS_TEST_MODULE: module,
        c.HARNESS_TEST_CLASS: cls.__qualname__ if cls else None,
        c.HARNESS_TEST_FUNCTION: function,
    }
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        attributes[c.HARNESS_TEST_PARAMETERS] = callspec.id
        for name, value in callspec.params.items():
            attributes[c.HARNESS_TEST_PARAM_PREFIX + name] = _attribute_value(value)
    markers = list(dict.fromkeys(m.name for m in item.iter_markers() if m.name != "parametrize"))
    if markers:
        attributes[c.HARNESS_TEST_MARKERS] = markers
    return attributes


def _attribute_value(value: object) -> str | bool | int | float:
    if isinstance(value, (str, bool, int, float)):
        return value
    return repr(value)[:PARAM_VALUE_MAX_CHARS]


def captured_sections(sections: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Captured output by role (stdout, stderr, log), each phase's text in order."""
    texts: dict[str, list[str]] = {}
    for title, content in sections:
        if not title.startswith("Captured ") or not content:
            continue
        role = title.removeprefix("Captured ").rsplit(" ", 1)[0]
        texts.setdefault(role, []).append(content)
    return {role: "".join(parts) for role, parts in texts.items()}


class Recorder:
    """The enabled plugin: pytest hooks that turn the session into spans."""

    def __init__(self, config: pytest.Config, db: str | None) -> None:
        workerinput: dict[str, Any] = getattr(config, "workerinput", None) or {}
        self.config = config
        self.worker_id: str | None = workerinput.get("workerid")
        self.run_context: dict[str, str] | None = workerinput.get(WORKERINPUT_CONTEXT)
        self.provider = harness.configure(
            workerinput.get(WORKERINPUT_DB) or resolve_db_path(db).absolute(),
            service_name=os.environ.get("OTEL_SERVICE_NAME") or "pytest",
        )
        self.tracer = self.provider.get_tracer("otel_sqlite.pytest")
        self.watch = (
            InFlightWatch(SQLiteSpanExporter(harness.database()))
            if DEFAULT_EXPORTER in exporter_names() else None
        )
        self.session = ExitStack()
        self.run_span: Span | None = None
        self.numbers: dict[str, int] = {}
        self.collect_reports: set[str] = set()

    @property
    def run_name(self) -> str:
        return self.config.getoption("otel_sqlite_name", None) or self.config.rootpath.name

    # The run: started before xdist starts its workers, so they can be told its context.
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        parent = harness.context_from_env(self.run_context) if self.run_context else None
        if parent is not None:
            self.session.callback(otel_context.detach, otel_context.attach(parent))
            return
        self.run_span = self.session.enter_context(
            harness.run(
                self.run_name,
                **{
                    c.TEST_SUITE_NAME: self.run_name,
                    c.HARNESS_TEST_ARGS: [str(a) for a in self.config.invocation_params.args],
                    c.HARNESS_TEST_ROOTDIR: str(self.config.rootpath),
                },
            )
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist (controller): every worker joins this run, in this database."""
        if self.run_span is not None:
            node.workerinput[WORKERINPUT_CONTEXT] = harness.traceparent_env(self.run_span, {})
            node.workerinput[WORKERINPUT_DB] = str(harness.database())

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that cannot be imported, or skips itself whole, is a step, as pytest
        counts it among the errors or skips.

        Recorded where the run span lives: under xdist every worker collects and the
        controller hears each worker's report, so it keeps one per node id.
        """
        if self.run_span is None or report.passed or report.nodeid in self.collect_reports:
            return
        self.collect_reports.add(report.nodeid)
        outcome = c.OUTCOME_ERROR if report.failed else c.OUTCOME_SKIPPED
        with harness.step(report.nodeid or self.run_name, attempt=1) as span:
            span.set_attributes({c.HARNESS_TEST_OUTCOME: outcome, c.HARNESS_TEST_PHASE: "collect"})
            if report.failed:
                message = collect_error_message(report)
                type_name, separator, detail = message.partition(": ")
                if separator and type_name.isidentifier():
                    add_exception_event(span, type_name, detail, report)
                else:
                    add_exception_event(span, "CollectError", message, report)
                span.set_status(Status(StatusCode.ERROR, message))
            elif (reason := reason_of({"collect": report})) is not None:
                span.set_attribute(c.HARNESS_TEST_REASON, reason)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.numbers = {item.nodeid: number for number, item in enumerate(session.items, 1)}

    # The first attempt starts with the protocol, so that what the step costs us (its in-flight
    # row, the first test's database open) is not counted in pytest's own setup duration.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        self._start_attempt(item)
        try:
            return (yield)
        finally:
            if (attempt := item.stash.get(_attempt_key, None)) is not None:
                attempt.span.set_attribute(c.HARNESS_TEST_OUTCOME, c.OUTCOME_INTERRUPTED)
                attempt.span.set_status(Status(StatusCode.ERROR, "interrupted"))
                self._end_attempt(item, attempt)

    # Later attempts (a rerun plugin running the protocol again) start with their setup.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Any:
        if _attempt_key not in item.stash:
            self._start_attempt(item)
        return (yield)

    # Outermost wrapper, so the report is final (xfail already applied) when we read it.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Any:
        report = yield
        attempt = item.stash.get(_attempt_key, None)
        if attempt is not None:
            self._record_phase(attempt, call, report)
            if report.when == "teardown":
                self._finish_attempt(item, attempt)
        return report

    # Outermost wrapper: the run ends before pytest's summary, and our line comes after it.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Any:
        if self.run_span is not None:
            self._finish_run(int(exitstatus))
        self.session.close()
        if self.watch is not None:
            self.watch.close()
        self.provider.force_flush()
        result = yield
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if self.run_span is not None and terminal is not None:
            terminal.write_line(self.summary_line())
        return result

    def summary_line(self) -> str:
        """Where the run went and the command that shows it."""
        trace_id = f"{self.run_span.get_span_context().trace_id:032x}"  # type: ignore[union-attr]
        if DEFAULT_EXPORTER not in exporter_names():
            return f"otel-sqlite: run {trace_id} exported to {', '.join(exporter_names())}"
        db = harness.database()
        shown = _display_path(db, self.config.invocation_params.dir)
        db_flag = "" if db == default_db_path().absolute() else f" --db {shown}"
        return (
            f"otel-sqlite: run {trace_id} in {shown}; "
            f"see it: otel-sqlite summary {trace_id}{db_flag}"
        )

    def _start_attempt(self, item: pytest.Item) -> None:
        number = item.stash.get(_attempts_key, 0) + 1
        item.stash[_attempts_key] = number
        attributes = {
            c.HARNESS_STEP_NUMBER: self.numbers.get(item.nodeid),
            c.HARNESS_STEP_ATTEMPT: number,
            c.HARNESS_TEST_WORKER: self.worker_id,
            **attributes_of(item),
        }
        span = self.tracer.start_span(
            item.nodeid, attributes={k: v for k, v in attributes.items() if v is not None}
        )
        # The kind comes after the start, so the in-flight processor does not write every
        # test when it starts: the watch writes the one test that runs long enough to matter.
        span.set_attribute(c.HARNESS_KIND, c.KIND_STEP)
        if self.watch is not None:
            self.watch.watch(span)
        scope = ExitStack()
        scope.enter_context(trace.use_span(span, end_on_exit=True))
        item.stash[_attempt_key] = _Attempt(span, scope, item.stash.get(_sections_key, 0))

    def _end_attempt(self, item: pytest.Item, attempt: _Attempt) -> None:
        del item.stash[_attempt_key]
        if self.watch is not None:
            self.watch.unwatch()
        attempt.scope.close()

    def _record_phase(
        self, attempt: _Attempt, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> None:
        attempt.reports[report.when] = report
        duration_ns = int(call.duration * 1e9)
        if report.failed:
            excinfo = call.excinfo
            add_exception_event(
                attempt.span,
                excinfo.typename if excinfo else "Failed",
                str(excinfo.value) if excinfo else crash_message(report),
                report,
            )
        elif duration_ns < PHASE_SPAN_MIN_NS:
            return
        # pytest's clock for a phase may start a hair before the step did: keep it inside.
        end = int(call.start * 1e9) + duration_ns
        start = min(max(end - duration_ns, getattr(attempt.span, "start_time", None) or 0), end)
        phase = self.tracer.start_span(
            report.when,
            context=trace.set_span_in_context(attempt.span),
            start_time=start,
            attributes={c.HARNESS_TEST_PHASE: report.when},
        )
        if report.failed:
            phase.set_status(Status(StatusCode.ERROR, crash_message(report)))
        phase.end(end_time=end)

    def _finish_attempt(self, item: pytest.Item, attempt: _Attempt) -> None:
        span, reports = attempt.span, attempt.reports
        outcome = outcome_of(reports)
        span.set_attribute(c.HARNESS_TEST_OUTCOME, outcome)
        if outcome in _RESULT_STATUS:
            span.set_attribute(c.TEST_CASE_RESULT_STATUS, _RESULT_STATUS[outcome])
        if (reason := reason_of(reports)) is not None:
            span.set_attribute(c.HARNESS_TEST_REASON, reason)
        if outcome in FAILING:
            failed = next(r for r in reports.values() if r.failed)
            span.set_status(Status(StatusCode.ERROR, crash_message(failed)))
        sections = reports["teardown"].sections
        self._attach_output(span, sections[attempt.first_section:])
        item.stash[_sections_key] = len(sections)
        self._end_attempt(item, attempt)

    def _attach_output(self, span: Span, sections: Sequence[tuple[str, str]]) -> None:
        for role, text in captured_sections(sections).items():
            attach_bytes(span, role, role, text.encode("utf-8", "replace"))

    def _finish_run(self, exit_code: int) -> None:
        span = self.run_span
        assert span is not None
        span.set_attribute(c.PROCESS_EXIT_CODE, exit_code)
        if exit_code == pytest.ExitCode.OK:
            span.set_attribute(c.TEST_SUITE_RUN_STATUS, "success")
            return
        aborted = exit_code in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        span.set_attribute(c.TEST_SUITE_RUN_STATUS, "aborted" if aborted else "failure")
        try:
            description = pytest.ExitCode(exit_code).name.lower().replace("_", " ")
        except ValueError:
            description = f"exit status {exit_code}"
        span.set_status(Status(StatusCode.ERROR, f"pytest: {description}"))


def _display_path(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
