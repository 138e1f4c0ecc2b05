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

Frames both ways are a 4-byte little-endian length and a ``marshal`` payload.
"""

from __future__ import annotations

import logging
import marshal
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

from otel_sqlite import span_wire
from otel_sqlite.errors import DatabaseError, OtelSqliteError

_FRAME = struct.Struct("<I")
# How long ``close`` waits for the child to commit and exit before killing it.
CLOSE_TIMEOUT_S = 30.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_CHILD = (
    f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
    "from otel_sqlite.writer_process import main; main(sys.argv[1])"
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

    @property
    def pid(self) -> int:
        return self._child.pid

    def write(self, batch: span_wire.Batch) -> tuple[int, list[tuple[str, int, str]]]:
        """Store ``batch`` in one transaction; the count written and the child's log records.

        Raises ValueError when ``marshal`` cannot carry a value, DatabaseError with the store's
        sentence, WriterGone when the child is not there to answer.
        """
        payload = marshal.dumps(batch)
        try:
            _send(self._child.stdin, payload)  # type: ignore[arg-type]
            count, error, records = marshal.loads(_receive(self._child.stdout))  # type: ignore[arg-type]
        except (OSError, EOFError, ValueError) as exc:
            raise WriterGone(self._why_gone(exc)) from None
        if error is not None:
            raise DatabaseError(error)
        return count, records

    def close(self) -> None:
        """Let the child commit and exit; kill it if it has not within CLOSE_TIMEOUT_S."""
        for pipe in (self._child.stdin, self._child.stdout, self._child.stderr):
            pipe.close()  # type: ignore[union-attr]
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
    from otel_sqlite.store import Store  # after the signals: the import takes a while

    collect = _Collect()
    logging.getLogger("otel_sqlite").addHandler(collect)
    source = os.fdopen(sys.stdin.fileno(), "rb", buffering=0)
    answers = os.fdopen(sys.stdout.fileno(), "wb", buffering=0)
    store: Store | None = None
    while True:
        try:
            batch = marshal.loads(_receive(source))
        except EOFError:
            break
        count, error = 0, None
        try:
            if store is None:
                store = Store(path, sole_thread=True)
            count = store.write(span_wire.unpack(batch))
        except OtelSqliteError as exc:
            error = str(exc)
        except Exception as exc:  # the host hears of it; the writer carries on
            error = f"{type(exc).__name__}: {exc}"
        try:
            _send(answers, marshal.dumps((count, error, collect.records)))
        except OSError:
            break
        collect.records = []
    if store is not None:
        store.close()
