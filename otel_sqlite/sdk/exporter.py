"""The SDK side: an OTel ``SpanExporter`` that stores spans, and the in-flight processor.

Translation of an SDK span into a ``SpanRecord`` is a pure function (``span_wire``); the
exporter adds the ``SpanExporter`` contract around ``Store.write``, in its own process or a
writer process: ``export`` never raises, says why it failed once per cause, and ``shutdown``
is idempotent.
"""

from __future__ import annotations

import logging
import marshal
import os
import threading
import weakref
from collections import deque
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_sqlite.conventions import HARNESS_KIND, IN_FLIGHT_KINDS
from otel_sqlite.errors import DatabaseError, OtelSqliteError
from otel_sqlite.records import SpanRecord
from otel_sqlite.sdk import span_wire, writer_process
from otel_sqlite.sdk.notices import WarnOnce
from otel_sqlite.storage.paths import resolve_db_path
from otel_sqlite.storage.store import Store

logger = logging.getLogger(__name__)


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """The plain record of one SDK span (finished, or in flight with ``end_ns`` None)."""
    return span_wire.unpack(span_wire.pack([span]))[0]


# Once this many spans have been exported, the next batch of several spans starts a writer
# process (``writer_process``), which takes the writes off the application's GIL; a short
# script's few spans never pay for one. A single span (SimpleSpanProcessor's export, an
# in-flight row) never starts it: it is written on the application's thread, which must not
# wait for a start-up.
WRITER_PROCESS_AFTER = 512
# The batch goes to the writer in parts of this many spans, each sent as soon as it is packed.
WRITER_PROCESS_PART = 512
# Batches sent to the writer whose answer has not been read yet: past this many, ``export``
# waits for answers (the pipe itself holds about a megabyte and blocks the sender when full).
MAX_UNANSWERED = 256


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

    Once WRITER_PROCESS_AFTER spans have been exported, a batch of several spans starts a
    writer process, which stores every later export; where none can start, or it dies,
    writes stay in this process. ``export`` hands a batch to the writer and returns SUCCESS
    without waiting for its commit once the database has taken a commit: the batch is then in
    the writer's pipe, and the writer commits it even if this process is killed. Until the
    first commit, after a failure until the next success, and for a single finished span
    (SimpleSpanProcessor: whoever ends a span expects to read it back), an export waits for
    its own commit and reports it. A batch that fails
    after it was handed over is reported by a warning line (once per cause) and by
    ``force_flush`` returning False; ``force_flush`` and ``shutdown`` return once everything
    handed over is committed. In-flight rows (``export`` of a span that has not ended) go
    down a pipe of their own and never wait behind a batch.
    """

    def __init__(self, db: str | os.PathLike[str] | None = None) -> None:
        self.path = resolve_db_path(db)
        self._store: Store | None = None
        self._open_lock = threading.Lock()
        self._writer: writer_process.WriterProcess | None = None
        self._writer_failed = False
        self._exported = 0
        self._lock = threading.Lock()
        self._in_flight_lock = threading.Lock()
        # Per batch sent to the writer and not yet answered: its span count and its parts
        # as sent (bytes: they cost the application's garbage collector nothing).
        self._unanswered: deque[tuple[int, list[bytes]]] = deque()
        self._committed = False  # the database has taken a commit since the last failure
        self._lost_since_flush = False
        self._shutdown = False
        self._warn_once = WarnOnce(logger)
        _exporters.add(self)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            self._warn_once("export called after shutdown; spans were not stored")
            return SpanExportResult.FAILURE
        try:
            if len(spans) == 1 and spans[0].end_time is None:
                self._write_in_flight(spans[0])
            else:
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
                self._settle(wait=True)
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
        writer = self._writer
        return writer.pid if writer is not None else None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until everything handed to the writer is committed; False if something
        handed over since the last flush could not be stored."""
        with self._lock:
            # An empty batch: its answer comes after the in-flight rows sent before it.
            if self._writer is not None and self._send([]):
                self._settle(wait=True)
            lost, self._lost_since_flush = self._lost_since_flush, False
            return not lost

    def _write(self, spans: Sequence[ReadableSpan]) -> None:
        self._exported += len(spans)
        if (self._writer is None and len(spans) > 1 and not self._writer_failed
                and self._exported >= WRITER_PROCESS_AFTER):
            self._writer = writer_process.start(self.path)
            self._writer_failed = self._writer is None
        if self._writer is not None:
            self._settle(wait=False)
        if self._writer is not None and self._send(spans):
            if not self._committed or len(spans) == 1:
                self._settle(wait=True, report_last=True)
            elif len(self._unanswered) > MAX_UNANSWERED:
                self._settle(wait=True)
            return
        self._open().write(span_wire.unpack(span_wire.pack(spans)))
        self._committed = True

    def _send(self, spans: Sequence[ReadableSpan]) -> bool:
        """Hand ``spans`` to the writer; False where they are to be written here (a value
        ``marshal`` cannot carry, or the writer has gone)."""
        assert self._writer is not None
        try:
            parts = self._writer.send(span_wire.pack_parts(spans, WRITER_PROCESS_PART))
        except ValueError:
            return False
        except writer_process.WriterGone as exc:
            self._writer_gone(exc)
            return False
        self._unanswered.append((len(spans), parts))
        return True

    def _settle(self, wait: bool, report_last: bool = False) -> None:
        """Read the writer's answers (with ``wait``, until every batch is answered) and report
        what could not be stored; with ``report_last``, raise DatabaseError for the last
        batch instead, whose export is waiting to say so."""
        assert self._writer is not None
        try:
            while self._unanswered or not wait:
                for results, in_flight_error, records in self._writer.answers(wait):
                    for name, level, message in records:
                        logging.getLogger(name).log(level, message)
                    if in_flight_error is not None:
                        self._lost(1, in_flight_error)
                    for error in results:
                        spans, _ = self._unanswered.popleft()
                        if error is None:
                            self._committed = True
                        elif report_last and not self._unanswered:
                            self._committed = False
                            raise DatabaseError(error)
                        else:
                            self._lost(spans, error)
                if not wait:
                    return
        except writer_process.WriterGone as exc:
            self._writer_gone(exc)

    def _lost(self, spans: int, error: str) -> None:
        self._committed = False
        self._lost_since_flush = True
        self._warn_once(f"could not store {spans} span(s) handed to the writer: {error}",
                        key=error)

    def _writer_gone(self, exc: Exception) -> None:
        """The writer died: say so once, and store here what it had not answered for (a
        batch it committed without answering is replaced by the same rows)."""
        self._warn_once(f"the writer process stopped ({exc}); writing in the application's process")
        with self._in_flight_lock:
            self._writer, self._writer_failed = None, True
        unanswered, self._unanswered = self._unanswered, deque()
        for spans, parts in unanswered:
            try:
                self._open().write_chunks(
                    span_wire.unpack(marshal.loads(part)) for part in parts)
            except OtelSqliteError as error:
                self._lost(spans, str(error))

    def _write_in_flight(self, span: ReadableSpan) -> None:
        """An in-flight row: down the writer's own pipe for them when it runs, else here. The
        exporter's lock is not taken: it may be held for a whole batch."""
        with self._in_flight_lock:
            writer = self._writer
            if writer is not None:
                try:
                    writer.send_in_flight(span_wire.pack([span]))
                    return
                except (ValueError, writer_process.WriterGone):
                    pass  # stored here; the batch path reports a writer that has gone
        self._open().write(span_wire.unpack(span_wire.pack([span])))

    def _forget_parents_writer(self) -> None:
        """In a forked child: the writer and the locks belong to the parent (a thread of the
        parent may have held a lock at the fork); this copy starts its own when it needs one."""
        self._lock = threading.Lock()
        self._in_flight_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._unanswered = deque()
        if self._writer is not None:
            self._writer.detach()
            self._writer = None

    def _open(self) -> Store:
        with self._open_lock:
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
