"""The Python harness API: ``configure``, ``run``, ``step``, ``skip``, ``command``,
``api_call``, ``event``.

Plain OTel underneath: each helper starts a span with ``harness.kind`` set and the semantic-
convention attributes filled in, so the same harness reports to Jaeger when
``OTEL_TRACES_EXPORTER=otlp`` and to SQLite by default. Outcomes beyond passed and failed
(skipped, xfailed, xpassed) are ``harness.test.outcome`` and ``harness.test.reason``, as the
pytest plugin records them.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    format_span_id,
    format_trace_id,
)

from otel_sqlite import conventions as c
from otel_sqlite.capture import provenance, traceparent
from otel_sqlite.capture.command_span import (
    artifact_attributes,
    command_attributes,
    command_name,
    describe_exit,
    error_description,
    result_attributes,
)
from otel_sqlite.capture.process import ProcessResult, died_of_forwarded_signal, run_captured
from otel_sqlite.sdk.notices import WarnOnce
from otel_sqlite.sdk.provider import build_provider
from otel_sqlite.storage.paths import resolve_db_path, span_artifact_dir

_TRACER_NAME = "otel_sqlite.harness"
_warn_once = WarnOnce(logging.getLogger(__name__))
_lock = threading.Lock()
_configured: _Configuration | None = None


@dataclass(frozen=True)
class _Configuration:
    provider: TracerProvider
    db: Path
    # One tracer for the process: the SDK's get_tracer builds a new one per call, which
    # measured as the largest per-span cost of a pytest session recording every test.
    tracer: trace.Tracer


def configure(
    db: str | os.PathLike[str] | None = None,
    service_name: str | None = None,
    **resource_attributes: Any,
) -> TracerProvider:
    """Set up tracing once for this process; later calls return the same provider.

    Exporters come from ``OTEL_TRACES_EXPORTER`` (default ``sqlite``, writing to ``db``, else
    ``$OTEL_SQLITE_DB``, else ``./otel-sqlite.db``). When the process already has an SDK
    provider (``opentelemetry-instrument`` made one), spans go there and nothing is added.
    The SDK provider flushes at interpreter exit.
    """
    global _configured
    with _lock:
        if _configured is not None:
            return _configured.provider
        existing = trace.get_tracer_provider()
        if isinstance(existing, TracerProvider):
            provider = existing
        else:
            attributes = dict(resource_attributes)
            attributes[c.SERVICE_NAME] = (
                service_name or os.environ.get("OTEL_SERVICE_NAME") or _program_name()
            )
            provider = build_provider(db, Resource.create(attributes))
            trace.set_tracer_provider(provider)
        _configured = _Configuration(
            provider, resolve_db_path(db).absolute(), provider.get_tracer(_TRACER_NAME)
        )
        return provider


def _program_name() -> str:
    return Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "python"


def _configuration() -> _Configuration:
    if _configured is None:
        configure()
    assert _configured is not None
    return _configured


def database() -> Path:
    """The database this process's harness spans and captured files belong to."""
    return _configuration().db


def artifact_dir(span: Span) -> Path:
    """The folder for the files ``span`` produces, beside the database."""
    ids = span.get_span_context()
    trace_id, span_id = format_trace_id(ids.trace_id), format_span_id(ids.span_id)
    return span_artifact_dir(database(), trace_id, span_id)


def _tracer() -> trace.Tracer:
    return _configuration().tracer


def context_from_env(env: Mapping[str, str] | None = None) -> otel_context.Context | None:
    """The W3C context TRACEPARENT / TRACESTATE name in ``env`` (default: ours), the inverse
    of ``traceparent_env``; None when they name none (or an invalid one)."""
    parent, tracestate = traceparent.from_environment(env)
    if parent is None:
        return None
    remote = SpanContext(
        int(parent.trace_id, 16), int(parent.span_id, 16), is_remote=True,
        trace_flags=TraceFlags(parent.flags), trace_state=TraceState.from_header([tracestate]),
    )
    return trace.set_span_in_context(NonRecordingSpan(remote))


def _environment_parent() -> otel_context.Context | None:
    """The W3C context in our environment, for a span that has no parent here."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    return context_from_env()


class Skipped(Exception):
    """Raised by ``skip``; the innermost ``step`` (or ``run``) ends skipped and swallows it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def skip(reason: str) -> NoReturn:
    """End the current ``step`` here as skipped, with ``reason``: ``if not creds: skip(...)``.

    Like ``pytest.skip``: the rest of the step's block does not run, and the run goes on."""
    raise Skipped(reason)


class CommandFailedError(subprocess.CalledProcessError):
    """``command(check=True)`` on a failed child; ``description`` is what its span says
    (``exit code 2``, ``killed by SIGTERM``): what a step that fails of it says in front."""

    def __init__(self, returncode: int, cmd: list[str], description: str) -> None:
        super().__init__(returncode, cmd)
        self.description = description


def _mark(span: Span, outcome: str, reason: str | None) -> None:
    span.set_attribute(c.HARNESS_TEST_OUTCOME, outcome)
    if reason:
        span.set_attribute(c.HARNESS_TEST_REASON, reason)


@contextmanager
def _span(
    name: str, kind: str, attributes: Mapping[str, Any], span_kind: SpanKind = SpanKind.INTERNAL
) -> Iterator[Span]:
    initial = {c.HARNESS_KIND: kind}
    initial.update((k, v) for k, v in attributes.items() if v is not None)
    # The SDK would put "CalledProcessError: Command [...] returned..." in front; the
    # exception itself still goes into the span's exception event.
    with _tracer().start_as_current_span(
        name, context=_environment_parent(), kind=span_kind, attributes=initial,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Skipped as skipped:
            _mark(span, c.OUTCOME_SKIPPED, skipped.reason)
        except BaseException as exc:
            description = (
                exc.description if isinstance(exc, CommandFailedError)
                else f"{type(exc).__name__}: {exc}"
            )
            span.set_status(Status(StatusCode.ERROR, description))
            raise


@contextmanager
def run(name: str, **attributes: Any) -> Iterator[Span]:
    """One execution of a suite, session or pipeline: the root of its trace."""
    with _span(name, c.KIND_RUN, {**provenance.run_attributes(), **attributes}) as span:
        yield span


@contextmanager
def step(
    name: str, number: int | None = None, attempt: int | None = None,
    xfail: str | None = None, **attributes: Any,
) -> Iterator[Span]:
    """A unit of work inside a run; steps nest, and retries share a name with a new attempt.

    ``skip(reason)`` inside ends the step as skipped. ``xfail=reason`` expects it to fail: an
    exception is recorded and swallowed (xfailed), no exception makes it xpassed.
    """
    with _span(
        name, c.KIND_STEP,
        {c.HARNESS_STEP_NUMBER: number, c.HARNESS_STEP_ATTEMPT: attempt, **attributes},
    ) as span:
        if xfail is None:
            yield span
            return
        try:
            yield span
        except Exception as exc:
            if isinstance(exc, Skipped):
                raise
            span.record_exception(exc)
            _mark(span, c.OUTCOME_XFAILED, xfail)
        else:
            _mark(span, c.OUTCOME_XPASSED, xfail)


@dataclass(frozen=True)
class CommandResult:
    """The outcome of ``command()``: like ``subprocess.CompletedProcess``, with file paths."""

    argv: tuple[str, ...]
    exit_code: int
    stdout_path: Path
    stderr_path: Path
    trace_id: str
    span_id: str

    @property
    def returncode(self) -> int:
        return self.exit_code

    @property
    def stdout(self) -> bytes:
        return self.stdout_path.read_bytes()

    @property
    def stderr(self) -> bytes:
        return self.stderr_path.read_bytes()


def traceparent_env(span: Span, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: ours) with TRACEPARENT / TRACESTATE naming ``span`` as the parent."""
    ids = span.get_span_context()
    parent = traceparent.TraceParent(
        format_trace_id(ids.trace_id), format_span_id(ids.span_id), int(ids.trace_flags)
    )
    return traceparent.child_environment(parent, ids.trace_state.to_header(), env)


def record_process_result(span: Span, result: ProcessResult) -> None:
    """Exit status, pid, status and artifact events of a finished child, onto its span."""
    span.set_attributes(result_attributes(result))
    for output in result.outputs:
        span.add_event(c.ARTIFACT_EVENT, artifact_attributes(output))
    if (description := error_description(result)) is not None:
        span.set_status(Status(StatusCode.ERROR, description))


def command(
    argv: Sequence[str],
    *,
    name: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = False,
    timeout: float | None = None,
    **attributes: Any,
) -> CommandResult:
    """Run ``argv`` as a command span; its output is tee'd to ours and kept as artifacts.

    ``check=True`` raises ``CommandFailedError`` (a ``subprocess.CalledProcessError``) on a
    non-zero exit, like ``subprocess.run``; the span is recorded either way. ``timeout`` stops
    the command's whole process group (SIGTERM, then SIGKILL) and makes the exit code 124. A
    Ctrl-C during the command reaches the command; if it dies of it, the KeyboardInterrupt
    follows here.
    """
    argv = [os.fspath(a) for a in argv]
    with _span(
        name or command_name(argv), c.KIND_COMMAND, {**command_attributes(argv, cwd), **attributes}
    ) as span:
        ids = span.get_span_context()
        trace_id, span_id = format_trace_id(ids.trace_id), format_span_id(ids.span_id)
        out_dir = artifact_dir(span)
        result = run_captured(
            argv, out_dir, cwd=cwd, env=traceparent_env(span, env), timeout=timeout
        )
        record_process_result(span, result)
    if result.capture_error:
        _warn_once(result.capture_error, key=result.capture_error.split(":")[-1])
    if (signum := died_of_forwarded_signal(result)) is not None:
        signal.raise_signal(signum)
    done = CommandResult(
        tuple(argv), result.exit_code, out_dir / c.ROLE_STDOUT, out_dir / c.ROLE_STDERR,
        trace_id, span_id,
    )
    if check and done.exit_code != 0:
        raise CommandFailedError(done.exit_code, list(argv), describe_exit(result))
    return done


class ApiCall:
    """The span of a paid call; usage can be set when the response arrives."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def set_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> None:
        for key, value in (
            (c.GEN_AI_USAGE_INPUT_TOKENS, input_tokens),
            (c.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens),
            (c.HARNESS_COST_USD, None if cost_usd is None else float(cost_usd)),
        ):
            if value is not None:
                self.span.set_attribute(key, value)

    @property
    def input_tokens(self) -> int | None:
        return self._get(c.GEN_AI_USAGE_INPUT_TOKENS)

    @input_tokens.setter
    def input_tokens(self, value: int) -> None:
        self.set_usage(input_tokens=value)

    @property
    def output_tokens(self) -> int | None:
        return self._get(c.GEN_AI_USAGE_OUTPUT_TOKENS)

    @output_tokens.setter
    def output_tokens(self, value: int) -> None:
        self.set_usage(output_tokens=value)

    @property
    def cost_usd(self) -> float | None:
        return self._get(c.HARNESS_COST_USD)

    @cost_usd.setter
    def cost_usd(self, value: float) -> None:
        self.set_usage(cost_usd=value)

    def set_attribute(self, key: str, value: Any) -> None:
        self.span.set_attribute(key, value)

    def _get(self, key: str) -> Any:
        return (getattr(self.span, "attributes", None) or {}).get(key)


@contextmanager
def api_call(
    model: str,
    provider: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cost_usd: float | None = None,
    **attributes: Any,
) -> Iterator[ApiCall]:
    """A paid remote call (an LLM, an API) with its ``gen_ai.*`` usage and ``harness.cost.usd``.

    Named ``"{operation} {model}"`` as the gen_ai conventions ask (operation default ``chat``).
    """
    operation = attributes.pop("gen_ai.operation.name", "chat")
    with _span(
        f"{operation} {model}",
        c.KIND_API_CALL,
        {
            "gen_ai.operation.name": operation,
            c.GEN_AI_REQUEST_MODEL: model,
            c.GEN_AI_PROVIDER_NAME: provider,
            **attributes,
        },
        SpanKind.CLIENT,
    ) as span:
        call = ApiCall(span)
        call.set_usage(input_tokens, output_tokens, cost_usd)
        yield call


def event(name: str, **attributes: Any) -> None:
    """A span event on the current span: a decision, a trigger, a note worth finding later."""
    trace.get_current_span().add_event(name, attributes)
