"""Spans that ``exec`` and ``run`` build and record themselves, without importing the SDK.

A new span's parent comes from ``TRACEPARENT`` / ``TRACESTATE`` (``new_record``), and the
child it runs gets them back naming the new span (``child_environment``).

By default (``OTEL_TRACES_EXPORTER`` unset or ``sqlite``) a record goes straight to
``Store.write``, the same write path the SDK exporter uses. When other exporters are named
(``otlp``, ``console``, ``sqlite,otlp``) the record is handed to the SDK's processors instead
(``otel_sqlite.sdk.sdk_recorder``), imported only then.

Recording must never change the wrapped command: a failure is reported once through ``warn``
and the caller carries on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from otel_sqlite import __version__
from otel_sqlite.capture import traceparent
from otel_sqlite.conventions import (
    ENV_DB,
    ENV_RESOURCE_ATTRIBUTES,
    ENV_SERVICE_NAME,
    SERVICE_NAME,
)
from otel_sqlite.records import Attributes, ResourceRecord, ScopeRecord, SpanRecord
from otel_sqlite.sdk.exporter_choice import exporter_names, sqlite_is_the_only_exporter

Warn = Callable[[str], None]
DEFAULT_SERVICE_NAME = "otel-sqlite"


class Recorder(Protocol):
    def begin(self, record: SpanRecord) -> None:
        """Record a span that has just started (``end_ns`` None), where the exporter can."""

    def finish(self, record: SpanRecord) -> None:
        """Record the finished span, replacing its in-flight row."""

    def close(self) -> None:
        """Flush and release everything; the last call on a recorder."""


class NullRecorder:
    """``OTEL_TRACES_EXPORTER=none``: spans are made (children still join a trace), not kept."""

    def begin(self, record: SpanRecord) -> None:
        pass

    def finish(self, record: SpanRecord) -> None:
        pass

    def close(self) -> None:
        pass


class StoreRecorder:
    """Writes records to the SQLite store, opening it on first use."""

    def __init__(self, db: Path, warn: Warn) -> None:
        self.db = db
        self._warn = warn
        self._store = None

    def begin(self, record: SpanRecord) -> None:
        self._write(record)

    def finish(self, record: SpanRecord) -> None:
        self._write(record)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _write(self, record: SpanRecord) -> None:
        try:
            if self._store is None:
                from otel_sqlite.storage.store import (
                    Store,  # sqlite3 and the schema, only when needed
                )

                self._store = Store(self.db)
            self._store.write([record])
        except Exception as exc:  # a broken database must never break the command
            self._warn(f"cannot record in {self.db}: {exc}")


def open_recorder(db: Path, warn: Warn) -> Recorder:
    """The recorder ``OTEL_TRACES_EXPORTER`` asks for (default: the SQLite store at ``db``)."""
    if sqlite_is_the_only_exporter():
        return StoreRecorder(db, warn)
    if set(exporter_names()) <= {"none"}:
        return NullRecorder()
    from otel_sqlite.sdk.sdk_recorder import SdkRecorder

    return SdkRecorder(db, warn)


def resource_record() -> ResourceRecord:
    """The resource of spans made without the SDK, from the SDK's own variables.

    ``OTEL_RESOURCE_ATTRIBUTES`` (``key=value,...``, percent-encoded values) then
    ``OTEL_SERVICE_NAME``, which wins, as in the SDK; the service defaults to ``otel-sqlite``.
    """
    attributes: dict[str, str] = {}
    if raw := os.environ.get(ENV_RESOURCE_ATTRIBUTES, ""):
        from urllib.parse import unquote  # only paid for when the variable is set

        for pair in raw.split(","):
            key, sep, value = pair.partition("=")
            if sep and key.strip():
                attributes[key.strip()] = unquote(value.strip())
    attributes[SERVICE_NAME] = (
        os.environ.get(ENV_SERVICE_NAME) or attributes.get(SERVICE_NAME) or DEFAULT_SERVICE_NAME
    )
    return ResourceRecord(attributes)


def scope_record(name: str) -> ScopeRecord:
    return ScopeRecord(name, __version__)


def new_record(name: str, attributes: Attributes, scope: str) -> SpanRecord:
    """A span starting now: a child of the environment's trace context, else a new trace."""
    parent, tracestate = traceparent.from_environment()
    return SpanRecord(
        trace_id=parent.trace_id if parent else traceparent.new_trace_id(),
        span_id=traceparent.new_span_id(),
        name=name,
        start_ns=time.time_ns(),
        parent_span_id=parent.span_id if parent else None,
        attributes=dict(attributes),
        resource=resource_record(),
        scope=scope_record(scope),
        trace_state=tracestate,
        trace_flags=parent.flags if parent else traceparent.SAMPLED,
    )


def child_environment(
    record: SpanRecord, db: Path, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for what runs inside ``record``'s span: nested ``exec`` calls and
    instrumented children join its trace, and write to the same database."""
    merged = traceparent.child_environment(
        traceparent.TraceParent(record.trace_id, record.span_id, record.trace_flags),
        record.trace_state, env,
    )
    merged[ENV_DB] = str(db)
    return merged
