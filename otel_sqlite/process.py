"""Running a child process the way a terminal would, while keeping an exact copy of its output.

Both the harness API's ``command()`` and the ``exec`` CLI command run children through
``run_captured``: stdout and stderr are each written to a file (bytes exact), hashed as they
stream, and tee'd to our own stdout / stderr as they arrive, so memory stays bounded however
much the child prints.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from otel_sqlite.conventions import ROLE_STDERR, ROLE_STDOUT
from otel_sqlite.notices import WarnOnce

EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
_CHUNK = 1 << 16
_warn_once = WarnOnce(logging.getLogger(__name__))


@dataclass(frozen=True)
class CapturedFile:
    role: str
    path: Path
    size: int
    sha256: str
    error: str | None = None  # why the file holds less than the child wrote, when it does


@dataclass(frozen=True)
class ProcessResult:
    """What happened to the child. ``exit_code`` is what a shell would report (128+N)."""

    exit_code: int
    pid: int | None
    signal: int | None
    outputs: tuple[CapturedFile, ...]
    error: str | None = None  # why the child could not be started, when it could not


class _Pump(threading.Thread):
    """Copies one pipe to a file and, optionally, to one of our own file descriptors.

    If the file cannot be written (read-only folder, full disk) the pipe is still drained and
    tee'd, so the child never blocks on a full pipe; ``error`` says why the file is short.
    """

    def __init__(
        self, source: BinaryIO, role: str, path: Path, tee_fd: int | None, error: str | None
    ) -> None:
        super().__init__(daemon=True, name=f"otel-sqlite-{role}")
        self.source, self.role, self.path, self.tee_fd = source, role, path, tee_fd
        self.size = 0
        self.digest = hashlib.sha256()
        self.error = error

    def run(self) -> None:
        fd = self.source.fileno()
        out = None if self.error else self._open()
        with self.source:
            while chunk := os.read(fd, _CHUNK):
                if out is not None and not self._keep(out, chunk):
                    os.close(out)
                    out = None
                if self.tee_fd is not None:
                    _write_all(self.tee_fd, chunk)
        if out is not None:
            os.close(out)

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            self._fail(exc)
            return None

    def _keep(self, out: int, chunk: bytes) -> bool:
        """Append ``chunk`` to the file; False (and ``error`` set) once the file cannot grow."""
        view = memoryview(chunk)
        try:
            while view:
                written = os.write(out, view)
                self.digest.update(view[:written])
                self.size += written
                view = view[written:]
        except OSError as exc:
            self._fail(exc)
            return False
        return True

    def _fail(self, exc: OSError) -> None:
        self.error = f"cannot write {self.path}: {exc.strerror or exc}"
        _warn_once(f"{self.error}; the output is not fully captured", key=exc.strerror)

    def captured(self) -> CapturedFile:
        return CapturedFile(self.role, self.path, self.size, self.digest.hexdigest(), self.error)


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        pass  # our console went away (closed pipe); capture goes on regardless


def run_captured(
    argv: Sequence[str],
    out_dir: Path,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    tee: bool = True,
    on_spawn: Callable[[subprocess.Popen], None] | None = None,
) -> ProcessResult:
    """Run ``argv`` to completion, capturing stdout and stderr into ``out_dir``."""
    paths = {role: out_dir / role for role in (ROLE_STDOUT, ROLE_STDERR)}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        folder_error = None
    except OSError as exc:
        folder_error = f"cannot create {out_dir}: {exc.strerror or exc}"
        _warn_once(f"{folder_error}; output is not captured", key=exc.strerror)
    try:
        child = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env) if env is not None else None,
            stdin=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError) as exc:
        for path in paths.values():
            with contextlib.suppress(OSError):
                path.write_bytes(b"")
        code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
        outputs = tuple(
            CapturedFile(role, path, 0, hashlib.sha256().hexdigest())
            for role, path in paths.items()
        )
        return ProcessResult(code, None, None, outputs, f"{argv[0]}: {exc.strerror or exc}")
    pumps = [
        _Pump(child.stdout, ROLE_STDOUT, paths[ROLE_STDOUT],
              _fd(sys.stdout) if tee else None, folder_error),
        _Pump(child.stderr, ROLE_STDERR, paths[ROLE_STDERR],
              _fd(sys.stderr) if tee else None, folder_error),
    ]
    for pump in pumps:
        pump.start()
    if on_spawn is not None:
        on_spawn(child)
    returncode = child.wait()
    for pump in pumps:
        pump.join()
    signal_number = -returncode if returncode < 0 else None
    exit_code = 128 + signal_number if signal_number else returncode
    return ProcessResult(
        exit_code, child.pid, signal_number, tuple(p.captured() for p in pumps)
    )


def _fd(stream: object) -> int | None:
    try:
        stream.flush()  # type: ignore[attr-defined]
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
