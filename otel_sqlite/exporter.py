"""The SDK side: an OTel ``SpanExporter`` that stores spans, and the in-flight processor.

Translation of an SDK span into a ``SpanRecord`` is a pure function; the exporter only adds the
``SpanExporter`` contract around ``Store.write``: ``export`` never raises, says why it failed
once per cause, and ``shutdown`` is idempotent.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from otel_sqlite.conventions import HARNESS_KIND, IN_FLIGHT_KINDS
from otel_sqlite.errors import OtelSqliteError
from otel_sqlite.notices import WarnOnce
from otel_sqlite.paths import resolve_db_path
from otel_sqlite.records import EventRecord, LinkRecord, ResourceRecord, ScopeRecord, SpanRecord
from otel_sqlite.store import Store

logger = logging.getLogger(__name__)


def _plain(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """A dict copy of SDK attributes.

    ``BoundedAttributes`` is a ``MutableMapping`` whose generic ``dict()`` conversion costs more
    than the rest of the translation; its backing dict, when present, copies at C speed.
    """
    if not attributes:
        return {}
    inner = getattr(attributes, "_dict", None)
    return dict(inner) if isinstance(inner, dict) else dict(attributes)


def _items(span: ReadableSpan, name: str) -> Sequence[Any]:
    """A span's events or links. The public properties copy a ``BoundedList`` through its
    Python-level iterator under a lock; ``tuple()`` of the deque behind it is one C call, which
    nothing can interleave with while it holds the GIL."""
    bounded = getattr(span, f"_{name}", None)
    items = getattr(bounded, "_dq", None)
    return tuple(items) if items is not None else getattr(span, name)


_KIND_NAMES = {kind: kind.name.lower() for kind in SpanKind}
_STATUS_NAMES = {code: code.name for code in StatusCode}


class _Translator:
    """SDK spans -> records. Resources and scopes are shared objects, so translate each once."""

    def __init__(self) -> None:
        self._resources: dict[int, tuple[Resource, ResourceRecord]] = {}
        self._scopes: dict[int, tuple[InstrumentationScope | None, ScopeRecord]] = {}

    def resource(self, resource: Resource) -> ResourceRecord:
        cached = self._resources.get(id(resource))
        if cached is None or cached[0] is not resource:
            record = ResourceRecord(_plain(resource.attributes), resource.schema_url or "")
            cached = self._resources[id(resource)] = (resource, record)
        return cached[1]

    def scope(self, scope: InstrumentationScope | None) -> ScopeRecord:
        cached = self._scopes.get(id(scope))
        if cached is None or cached[0] is not scope:
            record = (
                ScopeRecord(
                    scope.name, scope.version or "", scope.schema_url or "",
                    _plain(scope.attributes),
                )
                if scope is not None
                else ScopeRecord()
            )
            cached = self._scopes[id(scope)] = (scope, record)
        return cached[1]

    def span(self, span: ReadableSpan) -> SpanRecord:
        context = span.context
        parent = span.parent
        status = span.status
        return SpanRecord(
            trace_id=format_trace_id(context.trace_id),
            span_id=format_span_id(context.span_id),
            parent_span_id=format_span_id(parent.span_id) if parent is not None else None,
            name=span.name,
            kind=_KIND_NAMES[span.kind],
            start_ns=span.start_time or 0,
            end_ns=span.end_time,
            status_code=_STATUS_NAMES[status.status_code],
            status_message=status.description or "",
            # ``attributes`` wraps the span's BoundedAttributes in a MappingProxyType, whose
            # copy goes through the slow generic Mapping protocol; read what it wraps.
            attributes=_plain(getattr(span, "_attributes", None) or span.attributes),
            events=[
                EventRecord(e.name, e.timestamp, _plain(e.attributes), e.dropped_attributes)
                for e in _items(span, "events")
            ],
            links=[
                LinkRecord(
                    format_trace_id(link.context.trace_id),
                    format_span_id(link.context.span_id),
                    link.context.trace_state.to_header() if link.context.trace_state else "",
                    _plain(link.attributes),
                    int(link.context.trace_flags),
                    link.dropped_attributes,
                )
                for link in _items(span, "links")
            ],
            resource=self.resource(span.resource),
            scope=self.scope(span.instrumentation_scope),
            trace_state=context.trace_state.to_header() if context.trace_state else "",
            trace_flags=int(context.trace_flags),
            dropped_attributes_count=span.dropped_attributes,
            dropped_events_count=span.dropped_events,
            dropped_links_count=span.dropped_links,
        )


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """The plain record of one SDK span (finished, or in flight with ``end_ns`` None)."""
    return _Translator().span(span)


class SQLiteSpanExporter(SpanExporter):
    """Stores spans in one SQLite file: ``$OTEL_SQLITE_DB``, else ``./otel-sqlite.db``.

    The SDK builds exporters named in ``OTEL_TRACES_EXPORTER`` with no arguments, so every
    argument has an environment fallback. The database is opened on first export, so a bad
    path fails the export (and is reported) instead of crashing the host at start-up.
    """

    def __init__(self, db: str | os.PathLike[str] | None = None) -> None:
        self.path = resolve_db_path(db)
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._translate = _Translator()
        self._shutdown = False
        self._warn_once = WarnOnce(logger)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            self._warn_once("export called after shutdown; spans were not stored")
            return SpanExportResult.FAILURE
        try:
            with self._lock:
                records = [self._translate.span(span) for span in spans]
                self._open().write(records)
        except OtelSqliteError as exc:
            self._warn_once(f"could not store {len(spans)} span(s): {exc}", key=str(exc))
            return SpanExportResult.FAILURE
        except Exception as exc:  # the host application must never see our failure
            self._warn_once(
                f"could not store {len(spans)} span(s): {type(exc).__name__}: {exc}",
                key=type(exc).__name__,
            )
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def export_in_flight(self, span: ReadableSpan) -> None:
        """Record a span that has just started, so a killed process still leaves it behind."""
        self.export([span])

    def shutdown(self) -> None:
        with self._lock:
            self._shutdown = True
            if self._store is not None:
                self._store.close()
                self._store = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export is committed before it returns

    def _open(self) -> Store:
        if self._store is None:
            self._store = Store(self.path)
        return self._store


class InFlightSpanProcessor(SpanProcessor):
    """Writes harness spans (run, step, command) the moment they start, with a NULL end.

    Standard exporters see a span only when it ends; a run killed with SIGKILL would vanish.
    The final export of the span replaces the in-flight row.
    """

    def __init__(self, exporter: SQLiteSpanExporter) -> None:
        self._exporter = exporter

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.attributes and span.attributes.get(HARNESS_KIND) in IN_FLIGHT_KINDS:
            self._exporter.export_in_flight(span)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
