"""Span records built without the SDK, sent through the SDK's exporters after all.

``exec`` and ``run`` build ``SpanRecord``s themselves; when ``OTEL_TRACES_EXPORTER`` names an
exporter other than our store, each record becomes a ``ReadableSpan`` and goes through the
very processors the harness API would use (``tracing.span_processors``), so OTLP, console
and ``sqlite,otlp`` behave exactly as they do for an instrumented application.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace import TraceState as SdkTraceState

from otel_sqlite.records import STATUS_ERROR, SpanRecord
from otel_sqlite.sdk.provider import span_processors


def _context(trace_id: str, span_id: str, flags: int, state: str, remote: bool) -> SpanContext:
    return SpanContext(
        int(trace_id, 16), int(span_id, 16), is_remote=remote, trace_flags=TraceFlags(flags),
        trace_state=SdkTraceState.from_header([state]) if state else SdkTraceState(),
    )


def readable_span(record: SpanRecord) -> ReadableSpan:
    """The SDK's read-only span for ``record`` (the inverse of the exporter's translation)."""
    context = _context(record.trace_id, record.span_id, record.trace_flags, record.trace_state,
                       remote=False)
    parent = (
        _context(record.trace_id, record.parent_span_id, record.trace_flags, record.trace_state,
                 remote=True)
        if record.parent_span_id
        else None
    )
    error = record.status_code == STATUS_ERROR
    return ReadableSpan(
        name=record.name,
        context=context,
        parent=parent,
        resource=Resource(dict(record.resource.attributes), record.resource.schema_url or None),
        attributes=dict(record.attributes),
        events=[Event(e.name, dict(e.attributes), e.time_ns) for e in record.events],
        links=[
            Link(_context(link.trace_id, link.span_id, link.flags, link.trace_state, True),
                 dict(link.attributes))
            for link in record.links
        ],
        kind=SpanKind[record.kind.upper()],
        status=Status(StatusCode[record.status_code], record.status_message if error else None),
        start_time=record.start_ns,
        end_time=record.end_ns,
        instrumentation_scope=InstrumentationScope(
            record.scope.name, record.scope.version or None, record.scope.schema_url or None,
            dict(record.scope.attributes),
        ),
    )


class SdkRecorder:
    """Hands records to the processors ``OTEL_TRACES_EXPORTER`` names, then flushes them.

    ``begin`` is the processors' ``on_start`` (the SQLite in-flight processor writes the row;
    OTLP, which only sees finished spans, ignores it), ``finish`` their ``on_end``, ``close``
    their ``shutdown``, which flushes batches before the process exits.
    """

    def __init__(self, db: Path, warn: Callable[[str], None]) -> None:
        self._warn = warn
        try:
            self._processors: list[SpanProcessor] = span_processors(db)
        except Exception as exc:  # an unknown exporter name must not stop the command
            self._processors = []
            warn(f"cannot export spans: {exc}")

    def begin(self, record: SpanRecord) -> None:
        span = readable_span(record)
        self._each(lambda processor: processor.on_start(span))  # type: ignore[arg-type]

    def finish(self, record: SpanRecord) -> None:
        span = readable_span(record)
        self._each(lambda processor: processor.on_end(span))

    def close(self) -> None:
        self._each(lambda processor: processor.shutdown())

    def _each(self, call) -> None:  # noqa: ANN001 - a callable taking one processor
        for processor in self._processors:
            try:
                call(processor)
            except Exception as exc:  # an exporter's failure must never break the command
                self._warn(f"cannot export spans: {type(exc).__name__}: {exc}")
