"""The SDK side: an OTel ``SpanExporter`` that stores spans, and the in-flight processor.

Translation of an SDK span into a ``SpanRecord`` is a pure function (``span_wire``); the
exporter adds the ``SpanExporter`` contract around ``Store.write``, in its own process or a
writer process: ``export`` never raises, says why it failed once per cause, and ``shutdown``
is idempotent.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_sqlite.conventions import HARNESS_KIND, IN_FLIGHT_KINDS
from otel_sqlite.errors import OtelSqliteError
from otel_sqlite.records import SpanRecord
from otel_sqlite.sdk import span_wire, writer_process
from otel_sqlite.sdk.notices import WarnOnce
from otel_sqlite.storage.paths import resolve_db_path
from otel_sqlite.storage.store import Store

logger = logging.getLogger(__name__)


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """The plain record of one SDK span (finished, or in flight with ``end_ns`` None)."""
    return span_wire.unpack(span_wire.pack([span]))[0]


# Once this many spans have been exported, a writer process (``writer_process``) takes the
# writes off the application's GIL; a short script's few spans never pay its start-up, about
# 70 ms. Counted over all batches: the processor's short timer cuts a busy application's
# spans into batches of any size. Only a batch of several spans starts it: a single span is
# written on the application's own thread (an in-flight row, SimpleSpanProcessor), which
# must never wait for a start-up.
WRITER_PROCESS_AFTER = 512
# The batch goes to the writer in parts of this many spans, each sent as soon as it is packed.
WRITER_PROCESS_PART = 512


_exporters: weakref.WeakSet[SQLiteSpanExporter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for exporter in list(_exporters):
        exporter._forget_parents_writer()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SQLiteSpanExporter(SpanExporter):
    """Stores spans in one SQLite file: ``$OTEL_SQLITE_DB``, else ``./otel-sqlite.db``.

    The SDK builds exporters named in ``OTEL_TRACES_EXPORTER`` with no arguments, so every
    argument has an environment fallback. The database is opened on first export, so a bad
    path fails the export (and is reported) instead of crashing the host at start-up.

    The first batch of several spans once WRITER_PROCESS_AFTER spans have been exported
    starts a writer process, which stores it and every later export; where none can start, or
    it dies, writes stay in this process.
    """

    def __init__(self, db: str | os.PathLike[str] | None = None) -> None:
        self.path = resolve_db_path(db)
        self._store: Store | None = None
        self._writer: writer_process.WriterProcess | None = None
        self._writer_failed = False
        self._exported = 0
        self._lock = threading.Lock()
        self._shutdown = False
        self._warn_once = WarnOnce(logger)
        _exporters.add(self)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            self._warn_once("export called after shutdown; spans were not stored")
            return SpanExportResult.FAILURE
        try:
            with self._lock:
                self._write(spans)
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
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def writer_pid(self) -> int | None:
        """The writer process's pid while one runs: the process ``ps`` shows beside the
        application, holding the database open."""
        return self._writer.pid if self._writer is not None else None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export is committed before it returns

    def _write(self, spans: Sequence[ReadableSpan]) -> None:
        self._exported += len(spans)
        if (self._writer is None and len(spans) > 1 and not self._writer_failed
                and self._exported >= WRITER_PROCESS_AFTER):
            # Waiting the writer's start-up (~70 ms) costs less than writing this batch here,
            # beside the application, at a third of the writer's speed.
            self._writer = writer_process.start(self.path)
            self._writer_failed = self._writer is None
        if self._writer is not None:
            try:
                _, records = self._writer.write(span_wire.pack_parts(spans, WRITER_PROCESS_PART))
            except writer_process.WriterGone as exc:
                self._warn_once(
                    f"the writer process stopped ({exc}); writing in the application's process"
                )
                self._writer, self._writer_failed = None, True
            except ValueError:
                pass  # a value marshal cannot carry: this batch is written here
            else:
                for name, level, message in records:
                    logging.getLogger(name).log(level, message)
                return
        self._open().write(span_wire.unpack(span_wire.pack(spans)))

    def _forget_parents_writer(self) -> None:
        """In a forked child: the writer and the lock belong to the parent (a thread of the
        parent may have held the lock at the fork); this copy starts its own when it needs one."""
        self._lock = threading.Lock()
        if self._writer is not None:
            self._writer.detach()
            self._writer = None

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
