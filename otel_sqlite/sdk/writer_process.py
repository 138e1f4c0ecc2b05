"""A child process that owns the exporter's store, so the writes leave the application's GIL.

Beside an application creating spans, an exporter writing in its own process holds the GIL for
its Python (building rows, encoding them) and convoys on every ``sqlite3_step``; the
application's own loop then runs at half speed. The exporter instead packs each batch
(``span_wire.pack``), sends it down a pipe with ``marshal``, and waits for the child's answer:
the count written, or the sentence saying why nothing was. One batch is still one transaction,
and ``export``'s SUCCESS or FAILURE is still exact, because the answer comes after the commit.

The child lives as long as the pipe: it writes what it was sent, then exits when the host
closes the pipe (``close``) or dies (even by SIGKILL, everything it answered for is committed).
It runs in its own session, so the SIGINT, SIGTERM or SIGHUP that a terminal or a CI runner
sends the application's process group does not reach it, and it ignores them when sent
directly: the host decides when recording ends, and may still be flushing. It runs isolated
(``python -I``), so an ``opentelemetry-instrument`` sitecustomize on PYTHONPATH cannot
instrument the writer and make it record itself; and it never imports the SDK.

Frames both ways are a 4-byte little-endian length and a payload. The host's payload is a
flag byte (more parts follow, the last part, or abandon the batch) and a ``marshal``-ed part
of the batch; the child answers once per batch, after its commit or rollback.
"""

from __future__ import annotations

import gc
import logging
import marshal
import os
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

from otel_sqlite.errors import DatabaseError, OtelSqliteError
from otel_sqlite.sdk import span_wire
from otel_sqlite.storage.store import Store

_FRAME = struct.Struct("<I")
# Linux's default ceiling for an unprivileged process (/proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20
_MORE, _LAST, _ABANDON = b"m", b"l", b"a"
# How long ``close`` waits for the child to commit and exit before killing it.
CLOSE_TIMEOUT_S = 30.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_CHILD = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from otel_sqlite.sdk.writer_process import main; main(sys.argv[1])"
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


class WriterProcess:
    """The host's end of the pipe. Not thread-safe: the exporter's lock serialises calls."""

    def __init__(self, path: Path) -> None:
        # Unbuffered pipes: nothing half-sent can sit in a buffer for a later flush to emit,
        # which matters for a forked copy of this object (``detach``).
        self._child = subprocess.Popen(
            [sys.executable, "-I", "-c", _CHILD, str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=0, close_fds=True, start_new_session=True,
        )
        _widen(self._child.stdin)

    @property
    def pid(self) -> int:
        return self._child.pid

    def write(self, chunks: Iterable[span_wire.Batch]) -> tuple[int, list[tuple[str, int, str]]]:
        """Store one batch, given in parts, in one transaction; the count written and the
        child's log records. Each part is sent as soon as it is packed, so the child writes
        one while the host packs the next.

        Raises ValueError when ``marshal`` cannot carry a value (nothing is written),
        DatabaseError with the store's sentence, WriterGone when the child is not there to
        answer.
        """
        unsent, sent = None, False
        try:
            for chunk in chunks:
                if unsent is not None:
                    self._send(_MORE, unsent)
                    sent = True
                unsent = marshal.dumps(chunk)
        except ValueError:
            if sent:
                self._send(_ABANDON, b"")
                self._answer()
            raise
        if unsent is None:
            raise TypeError("a batch has at least one part")
        self._send(_LAST, unsent)
        count, error, records = self._answer()
        if error is not None:
            raise DatabaseError(error)
        return count, records

    def _send(self, flag: bytes, payload: bytes) -> None:
        try:
            _send(self._child.stdin, flag + payload)  # type: ignore[arg-type]
        except OSError as exc:
            raise WriterGone(self._why_gone(exc)) from None

    def _answer(self) -> tuple[int, str | None, list[tuple[str, int, str]]]:
        try:
            return marshal.loads(_receive(self._child.stdout))  # type: ignore[arg-type]
        except (OSError, EOFError, ValueError) as exc:
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
        for pipe in (self._child.stdin, self._child.stdout, self._child.stderr):
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


def main(path: str) -> None:
    """The child: write each batch the host sends, answer, and exit when the pipe closes."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)

    collect = _Collect()
    logging.getLogger("otel_sqlite").addHandler(collect)
    source = os.fdopen(sys.stdin.fileno(), "rb", buffering=0)
    answers = os.fdopen(sys.stdout.fileno(), "wb", buffering=0)
    writer = _BatchWriter(path)
    while True:
        try:
            parts = _receive_batch(source)
            count, error = writer.write(parts)
            for _ in parts:  # what a failed write left unread of its batch
                pass
        except EOFError:
            break
        except _Abandoned:
            count, error = 0, None
        try:
            _send(answers, marshal.dumps((count, error, collect.records)))
        except OSError:
            break
        collect.records = []
    writer.close()


class _Abandoned(Exception):
    """The host could not send the rest of the batch: roll back what came of it."""


class _BatchWriter:
    """The child's store, opened at the first batch so that an open error is an answer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._store: Store | None = None

    def write(self, parts: Iterator[span_wire.Batch]) -> tuple[int, str | None]:
        """The count written and None, or 0 and why nothing was; EOFError and _Abandoned
        from ``parts`` propagate, after the rollback."""
        try:
            if self._store is None:
                self._store = Store(self.path, sole_thread=True)
                # What lives now lives until exit; left to the collector, its full passes
                # walked it all again and again (a batch of 4096 spans allocates ~200k
                # objects) and took a third of the writer's time.
                gc.freeze()
            return self._store.write_chunks(map(span_wire.unpack, parts)), None
        except (EOFError, _Abandoned):
            raise
        except OtelSqliteError as exc:
            return 0, str(exc)
        except Exception as exc:  # the host hears of it; the writer carries on
            return 0, f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _receive_batch(source: BinaryIO) -> Iterator[span_wire.Batch]:
    """The parts of the next batch, once the first has arrived (the store's transaction must
    not begin before it does); EOFError if the host has gone."""
    flag, part = _receive_part(source)

    def parts() -> Iterator[span_wire.Batch]:
        nonlocal flag, part
        yield part
        while flag == _MORE:
            flag, part = _receive_part(source)
            yield part

    return parts()


def _receive_part(source: BinaryIO) -> tuple[bytes, span_wire.Batch]:
    frame = _receive(source)
    flag = frame[:1]
    if flag == _ABANDON:
        raise _Abandoned
    return flag, marshal.loads(frame[1:])
