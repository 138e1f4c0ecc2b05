"""A child process that owns the exporter's store, so the writes leave the application's GIL.

Beside an application creating spans, an exporter writing in its own process holds the GIL for
its Python (building rows, encoding them) and convoys on every ``sqlite3_step``; the
application's own loop then runs at half speed. The exporter instead packs each batch
(``span_wire.pack``) and sends it down a pipe with ``marshal``; the child writes it.

The host does not wait for each commit. Batches queue up in the pipe while the child writes,
and the child puts every batch already waiting into the transaction it has open, up to
GROUP_SPANS spans: one commit for many of the SDK's small batches (a commit rewrites every
index page the batch touched, and 512 spans of different traces touch a page each). Each
batch has a savepoint of its own, so a batch that fails is rolled back alone. After each
commit the child answers with one result per batch (the count stored, or why nothing was),
which the host reads at its next export, flush or shutdown. A batch whose parts did not all
arrive (the host died mid-send, or gave up on a value ``marshal`` cannot carry) is rolled
back to its savepoint; every complete one is committed.

In-flight rows (a run or step starting) come down a second pipe, which the child reads
before and after every batch and never behind one: the application's thread hands the row
over and goes on, and the row is committed with the batch being written, or at once when the
child is idle.

The child lives as long as the batch pipe: it writes what it was sent, then exits when the
host closes the pipe (``close``) or dies (even by SIGKILL, every batch and row sent whole is
committed). It runs in its own session, so the SIGINT, SIGTERM or SIGHUP that a terminal or a
CI runner sends the application's process group does not reach it, and it ignores them when
sent directly: the host decides when recording ends, and may still be flushing. It runs
isolated (``python -I``), so an ``opentelemetry-instrument`` sitecustomize on PYTHONPATH
cannot instrument the writer and make it record itself; and it never imports the SDK.

Frames are a 4-byte little-endian length and a payload. On the batch pipe the payload is a
flag byte (more parts follow, the last part, or abandon the batch) and a ``marshal``-ed part;
on the in-flight pipe, a ``marshal``-ed batch of one span; answers are ``marshal``-ed
``(results, in-flight error, log records)``.
"""

from __future__ import annotations

import gc
import itertools
import logging
import marshal
import os
import select
import signal
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from otel_sqlite.errors import OtelSqliteError
from otel_sqlite.records import SpanRecord
from otel_sqlite.sdk import span_wire
from otel_sqlite.storage.store import Store, Transaction

_FRAME = struct.Struct("<I")
# Linux's default ceiling for an unprivileged process (/proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20
_MORE, _LAST, _ABANDON = b"m", b"l", b"a"
# Batches of one part smaller than this many spans (SimpleSpanProcessor's single spans, the
# SDK's 512-span batches, a 20 ms timer's few hundred) are written together, one statement
# per table for all of them.
MERGE_SPANS = 512
# How long ``close`` waits for the child to commit and exit before killing it.
CLOSE_TIMEOUT_S = 30.0
# The child commits once its transaction holds this many spans, even with more batches
# waiting: the size of configure()'s largest batch (sdk.provider.BATCH_DEFAULTS), whose
# single commit costs least per span.
GROUP_SPANS = 16_384
# The folder holding the otel_sqlite package, for a host that imports it from a path of its own.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from otel_sqlite.sdk.writer_process import main; main(sys.argv[1], int(sys.argv[2]))"
)


class WriterGone(Exception):
    """The writer process is not there to answer (it could not start, or it died)."""


def start(path: Path) -> WriterProcess | None:
    """A writer process for ``path``, or None where this Python cannot start one (a frozen
    application, an embedded interpreter without an executable)."""
    if getattr(sys, "frozen", False) or not sys.executable:
        return None
    try:
        return WriterProcess(path)
    except OSError:
        return None


# Per batch, None (stored) or why it was not; why an in-flight row was not; log records.
Answer = tuple[list["str | None"], "str | None", list[tuple[str, int, str]]]


class WriterProcess:
    """The host's end of the pipes. ``send`` and ``answers`` must be serialised by the caller
    (the exporter's lock); ``send_in_flight`` by another lock of its own."""

    def __init__(self, path: Path) -> None:
        in_flight_read, in_flight_write = os.pipe()
        try:
            # Unbuffered pipes: nothing half-sent can sit in a buffer for a later flush to
            # emit, which matters for a forked copy of this object (``detach``).
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-c", _CHILD, str(path), str(in_flight_read)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                bufsize=0, close_fds=True, pass_fds=(in_flight_read,), start_new_session=True,
            )
        except BaseException:
            os.close(in_flight_write)
            raise
        finally:
            os.close(in_flight_read)
        self._in_flight = os.fdopen(in_flight_write, "wb", buffering=0)
        for pipe in (self._child.stdin, self._child.stdout, self._in_flight):
            _widen(pipe)

    @property
    def pid(self) -> int:
        return self._child.pid

    def send(self, chunks: Iterable[span_wire.Batch]) -> list[bytes]:
        """Send one batch, given in parts, each as soon as it is packed (the child writes one
        while the host packs the next); the parts as sent, to write them here should the
        child die before it answers.

        Raises ValueError when ``marshal`` cannot carry a value (the child rolls back what
        it received of the batch and will not answer for it), WriterGone when the child is
        not there to take it.
        """
        sent: list[bytes] = []
        unsent = None
        try:
            for chunk in chunks:
                if unsent is not None:
                    self._send(_MORE, unsent)
                    sent.append(unsent)
                unsent = marshal.dumps(chunk)
        except ValueError:
            if sent:
                self._send(_ABANDON, b"")
            raise
        if unsent is None:
            raise TypeError("a batch has at least one part")
        self._send(_LAST, unsent)
        sent.append(unsent)
        return sent

    def send_in_flight(self, batch: span_wire.Batch) -> None:
        """Hand over an in-flight row; the child commits it with what it is writing, or at
        once. Raises ValueError (``marshal``) or WriterGone."""
        payload = marshal.dumps(batch)
        try:
            _send(self._in_flight, payload)
        except OSError as exc:
            raise WriterGone(self._why_gone(exc)) from None

    def answers(self, wait: bool) -> Iterator[Answer]:
        """The answers the child has sent; with ``wait``, at least one (blocking)."""
        pipe = self._child.stdout
        try:
            while wait or select.select([pipe], [], [], 0)[0]:
                wait = False
                yield marshal.loads(_receive(pipe))  # type: ignore[arg-type]
        except (OSError, EOFError, ValueError) as exc:
            raise WriterGone(self._why_gone(exc)) from None

    def _send(self, flag: bytes, payload: bytes) -> None:
        try:
            _send(self._child.stdin, flag + payload)  # type: ignore[arg-type]
        except OSError as exc:
            raise WriterGone(self._why_gone(exc)) from None

    def close(self) -> None:
        """Let the child commit and exit; kill it if it has not within CLOSE_TIMEOUT_S."""
        self.detach()
        try:
            self._child.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()

    def detach(self) -> None:
        """Drop this end without a word to the child: a forked copy of the host must leave
        the parent's writer alone."""
        for pipe in (self._in_flight, self._child.stdin, self._child.stdout, self._child.stderr):
            pipe.close()  # type: ignore[union-attr]

    def _why_gone(self, exc: BaseException) -> str:
        code = self._child.poll()
        try:
            said = self._child.stderr.read(65536) if code is not None else b""  # type: ignore[union-attr]
        except OSError:
            said = b""
        lines = [line for line in said.decode(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
        return f"exit status {code}" if code is not None else f"{type(exc).__name__}: {exc}"


def _widen(pipe: BinaryIO | None) -> None:
    """A pipe that holds a whole part (Linux; 64 KiB elsewhere). A part is ~130 KiB, and each
    time a write blocks on a full pipe the exporter's thread gives up the GIL and waits up to
    the interpreter's switch interval (5 ms) for the application to hand it back."""
    if pipe is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size: the default size still works


def _send(pipe: BinaryIO, payload: bytes) -> None:
    view = memoryview(_FRAME.pack(len(payload)) + payload)
    while view:
        view = view[pipe.write(view):]


def _receive(pipe: BinaryIO) -> bytes:
    (size,) = _FRAME.unpack(_read_exactly(pipe, _FRAME.size))
    return _read_exactly(pipe, size)


def _read_exactly(pipe: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = pipe.read(left)
        if not chunk:
            raise EOFError("the pipe closed mid-frame" if chunks else "the pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class _Collect(logging.Handler):
    """Keeps the store's warnings for the next answer: the host logs them as its own."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def main(path: str, in_flight_fd: int) -> None:
    """The child: write what the host sends, answer after each commit, exit when the batch
    pipe closes."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)

    collect = _Collect()
    logging.getLogger("otel_sqlite").addHandler(collect)
    batches = os.fdopen(sys.stdin.fileno(), "rb", buffering=0)
    in_flight: BinaryIO | None = os.fdopen(in_flight_fd, "rb", buffering=0)
    answers: BinaryIO | None = os.fdopen(sys.stdout.fileno(), "wb", buffering=0)
    writer = _BatchWriter(path)
    ended = False
    while not ended:
        waiting = [pipe for pipe in (batches, in_flight) if pipe is not None]
        select.select(waiting, [], [])
        group = _Group(writer)
        while True:
            in_flight = group.take_in_flight(in_flight)
            if not _ready(batches):
                break
            try:
                group.take_batch(*_receive_batch(batches))
            except EOFError:
                ended = True
                break
            in_flight = group.take_in_flight(in_flight)
            if group.full:
                break
        results, in_flight_error = group.commit()
        if answers is not None and (results or in_flight_error or collect.records):
            try:
                _send(answers, marshal.dumps((results, in_flight_error, collect.records)))
            except OSError:
                # The host has gone, but every batch it sent before it went was acknowledged
                # to it: keep storing them until the pipe ends.
                answers = None
        collect.records = []
    writer.close()


def _ready(pipe: BinaryIO) -> bool:
    return bool(select.select([pipe], [], [], 0)[0])


class _Abandoned(Exception):
    """The host could not send the rest of the batch: roll back what came of it."""


class _Group:
    """The batches and in-flight rows that go into one transaction, and their results."""

    def __init__(self, writer: _BatchWriter) -> None:
        self._writer = writer
        self._transaction: Transaction | None = None
        self._results: list[str | None] = []
        self._in_flight_error: str | None = None
        self._has_in_flight = False
        self._pending: list[span_wire.Batch] = []  # small batches not yet written
        self._pending_spans = 0

    @property
    def full(self) -> bool:
        """Commit now: the transaction is big, or it holds an in-flight row, which should
        not wait for more batches than the one that was being written."""
        spans = self._transaction.spans if self._transaction is not None else 0
        return self._has_in_flight or spans + self._pending_spans >= GROUP_SPANS

    def take_batch(self, first: span_wire.Batch, rest: Iterator[span_wire.Batch] | None) -> None:
        """A batch: a small one of one part is kept to be written with the next ones; a big
        one is written part by part as the parts arrive."""
        if rest is None:
            self._pending.append(first)
            self._pending_spans += len(first[2])
            if self._pending_spans >= MERGE_SPANS:
                self._write_pending()
            return
        self._write_pending()
        parts = itertools.chain([first], rest)
        try:
            self._results.append(self._write(map(self._writer.unpack, parts)))
        except _Abandoned:
            pass  # the host knows; it does not wait for an answer

    def take_in_flight(self, pipe: BinaryIO | None) -> BinaryIO | None:
        """Write every in-flight row waiting in ``pipe`` (together: one savepoint, one
        statement per table); None once the host has closed it."""
        rows: list[SpanRecord] = []
        while pipe is not None and _ready(pipe):
            try:
                rows += self._writer.unpack(marshal.loads(_receive(pipe)))
            except (EOFError, ValueError):
                pipe = None
        if rows:
            self._has_in_flight = True
            self._in_flight_error = self._write([rows]) or self._in_flight_error
        return pipe

    def _write_pending(self) -> None:
        """The small batches kept so far, in one savepoint; one by one if that fails, so that
        only a batch that cannot be stored is reported."""
        batches, self._pending, self._pending_spans = self._pending, [], 0
        if not batches:
            return
        parts = [self._writer.unpack(batch) for batch in batches]
        error = self._write([[record for part in parts for record in part]])
        if error is not None and len(batches) > 1 and self.alive:
            self._results += [self._write([part]) for part in parts]
        else:
            self._results += [error] * len(batches)

    @property
    def alive(self) -> bool:
        return self._transaction is not None and self._transaction.alive

    def _write(self, chunks: Iterable[list[SpanRecord]]) -> str | None:
        """None once written, or why nothing was; EOFError and _Abandoned from ``chunks``
        propagate, after the batch's rollback."""
        try:
            if self._transaction is None:
                self._transaction = self._writer.begin()
            if not self._transaction.alive:
                return "the transaction was rolled back by an earlier error"
            self._transaction.write(chunks)
            return None
        except (EOFError, _Abandoned):
            raise
        except OtelSqliteError as exc:
            return str(exc)
        except Exception as exc:  # the host hears of it; the writer carries on
            return f"{type(exc).__name__}: {exc}"
        finally:
            for _ in chunks:  # what a failed write left unread of its batch
                pass

    def commit(self) -> tuple[list[str | None], str | None]:
        """Commit; the result of each batch (all failed, if the commit did) and the error of
        an in-flight row that could not be stored."""
        self._write_pending()
        if self._transaction is not None:
            try:
                self._transaction.commit()
            except OtelSqliteError as exc:
                in_flight = str(exc) if self._has_in_flight else self._in_flight_error
                return [error or str(exc) for error in self._results], in_flight
        return self._results, self._in_flight_error


class _BatchWriter:
    """The child's store, opened at the first write so that an open error is an answer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._store: Store | None = None
        self._known: dict[bytes, object] = {}

    def unpack(self, batch: span_wire.Batch) -> list[SpanRecord]:
        return span_wire.unpack(batch, self._known)

    def begin(self) -> Transaction:
        if self._store is None:
            self._store = Store(self.path, sole_thread=True)
            # What lives now lives until exit; left to the collector, its full passes walked
            # it all again and again (a batch of 4096 spans allocates ~200k objects) and took
            # a third of the writer's time.
            gc.freeze()
        return self._store.begin()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _receive_batch(
    source: BinaryIO,
) -> tuple[span_wire.Batch, Iterator[span_wire.Batch] | None]:
    """The first part of the next batch, once it has arrived (the store's transaction must not
    begin before it does), and the rest, None when there is no more; EOFError if the host
    has gone."""
    flag, first = _receive_part(source)
    if flag != _MORE:
        return first, None

    def rest() -> Iterator[span_wire.Batch]:
        more = True
        while more:
            flag, part = _receive_part(source)
            more = flag == _MORE
            yield part

    return first, rest()


def _receive_part(source: BinaryIO) -> tuple[bytes, span_wire.Batch]:
    frame = _receive(source)
    flag = frame[:1]
    if flag == _ABANDON:
        raise _Abandoned
    return flag, marshal.loads(frame[1:])
