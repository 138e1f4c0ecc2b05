"""Running a child process the way a terminal would, while keeping an exact copy of its output.

Both the harness API's ``command()`` and the ``exec`` CLI command run children through
``run_captured``: stdout and stderr are each written to a file (bytes exact), hashed as they
stream, and tee'd to our own stdout / stderr as they arrive, so memory stays bounded however
much the child prints.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from otel_sqlite.conventions import ROLE_STDERR, ROLE_STDOUT

EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
_CHUNK = 1 << 16


@dataclass(frozen=True)
class CapturedFile:
    role: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class ProcessResult:
    """What happened to the child. ``exit_code`` is what a shell would report (128+N)."""

    exit_code: int
    pid: int | None
    signal: int | None
    outputs: tuple[CapturedFile, ...]
    error: str | None = None  # why the child could not be started, when it could not


class _Pump(threading.Thread):
    """Copies one pipe to a file and, optionally, to one of our own file descriptors."""

    def __init__(self, source: BinaryIO, role: str, path: Path, tee_fd: int | None) -> None:
        super().__init__(daemon=True, name=f"otel-sqlite-{role}")
        self.source, self.role, self.path, self.tee_fd = source, role, path, tee_fd
        self.size = 0
        self.digest = hashlib.sha256()

    def run(self) -> None:
        fd = self.source.fileno()
        with self.source, open(self.path, "wb") as out:
            while chunk := os.read(fd, _CHUNK):
                out.write(chunk)
                self.digest.update(chunk)
                self.size += len(chunk)
                if self.tee_fd is not None:
                    _write_all(self.tee_fd, chunk)

    def captured(self) -> CapturedFile:
        return CapturedFile(self.role, self.path, self.size, self.digest.hexdigest())


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
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {role: out_dir / role for role in (ROLE_STDOUT, ROLE_STDERR)}
    try:
        child = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env) if env is not None else None,
            stdin=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError) as exc:
        for path in paths.values():
            path.write_bytes(b"")
        code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_EXECUTABLE
        outputs = tuple(
            CapturedFile(role, path, 0, hashlib.sha256().hexdigest())
            for role, path in paths.items()
        )
        return ProcessResult(code, None, None, outputs, f"{argv[0]}: {exc.strerror or exc}")
    pumps = [
        _Pump(child.stdout, ROLE_STDOUT, paths[ROLE_STDOUT],
              _fd(sys.stdout) if tee else None),
        _Pump(child.stderr, ROLE_STDERR, paths[ROLE_STDERR],
              _fd(sys.stderr) if tee else None),
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
