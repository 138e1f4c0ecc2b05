"""Running a child process the way a terminal would, while keeping an exact copy of its output.

Both the harness API's ``command()`` and the ``exec`` CLI command run children through
``run_captured``. What it promises:

- stdout and stderr are each written to a file (bytes exact) and hashed as they stream, and
  tee'd to our own stdout / stderr as they arrive. One thread pumps both pipes in the order
  their data arrives, so the console sees the two streams interleaved as closely as pipes
  allow; memory stays bounded (one chunk) however much the child prints.
- The child runs in its own session and process group. SIGINT, SIGTERM, SIGHUP and SIGQUIT
  that reach us are forwarded to that whole group (when we run in the main thread), so a
  Ctrl-C reaches the command and its grandchildren, and we still get to record the result.
- ``timeout``: SIGTERM to the group, then SIGKILL to whatever is left of it after
  ``kill_after`` seconds (default ``KILL_AFTER_SECONDS``); the result says so and its exit code
  is 124, like coreutils ``timeout``.
- Exit codes are what a shell reports: the child's own, 128+N when signal N killed it, 127 when
  the command does not exist and 126 when it cannot be executed.
- When the command exits while something it started in the background still holds its output
  pipes, we stop reading once they have been quiet for ``DRAIN_IDLE_SECONDS``: the wrapper
  returns when the command does, as it would in a terminal.
- When whoever reads our stdout goes away (``exec -- yes | head -1``), we stop reading the
  command's stdout, so the command gets SIGPIPE exactly as it would have without us.
"""

from __future__ import annotations

import errno
import hashlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from otel_sqlite.conventions import ROLE_STDERR, ROLE_STDOUT

EXIT_TIMEOUT = 124
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
KILL_AFTER_SECONDS = 2.0
DRAIN_IDLE_SECONDS = 0.5
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_CHUNK = 1 << 18
_PIPE_SIZE = 1 << 20  # Linux caps unprivileged pipes at 1 MiB; fewer wake-ups on big output
_F_SETPIPE_SZ = 1031
_POLL_MS = 100


@dataclass(frozen=True)
class CapturedFile:
    role: str
    path: Path
    size: int
    sha256: str
    error: str | None = None  # why the file holds less than the child wrote


@dataclass(frozen=True)
class ProcessResult:
    """What happened to the child. ``exit_code`` is what a shell would report (128+N, 124...)."""

    exit_code: int
    pid: int | None
    signal: int | None
    outputs: tuple[CapturedFile, ...]
    error: str | None = None  # why the child could not be started, when it could not
    timed_out: float | None = None  # the timeout, in seconds, when it expired
    forwarded_signal: int | None = None  # the last signal we passed on to the child's group
    capture_error: str | None = None  # why an output file is incomplete (a full disk...)


class _Output:
    """One pipe's destination: the capture file (until it fails) and our console fd."""

    def __init__(self, role: str, path: Path | None, tee_fd: int | None) -> None:
        self.role, self.path, self.tee_fd = role, path, tee_fd
        self.file: BinaryIO | None = None
        self.size = 0
        self.digest = hashlib.sha256()
        self.error: str | None = None
        if path is not None:
            try:
                self.file = open(path, "wb")  # noqa: SIM115 - closed by finish()
            except OSError as exc:
                self.error = f"cannot capture {role} in {path}: {exc.strerror or exc}"
                self.path = None

    def write(self, chunk: bytes) -> bool:
        """Keep and echo ``chunk``; False once nobody reads our console end any more."""
        if self.file is not None:
            try:
                self.file.write(chunk)
                self.digest.update(chunk)
                self.size += len(chunk)
            except OSError as exc:
                self.error = f"capture of {self.role} stopped at {self.size} bytes: {exc}"
                self._close()
        if self.tee_fd is not None and not _write_all(self.tee_fd, chunk):
            self.tee_fd = None
            return False
        return True

    def _close(self) -> None:
        if self.file is not None:
            try:
                self.file.close()
            except OSError as exc:
                self.error = self.error or f"capture of {self.role} is incomplete: {exc}"
            self.file = None

    def finish(self) -> CapturedFile | None:
        self._close()
        if self.path is None:
            return None
        return CapturedFile(
            self.role, self.path, self.size, self.digest.hexdigest(), self.error
        )


class _Pump(threading.Thread):
    """Copies both pipes to their outputs, in the order their data arrives."""

    def __init__(self, pipes: Sequence[tuple[BinaryIO, _Output]]) -> None:
        super().__init__(daemon=True, name="otel-sqlite-pump")
        self.outputs = {pipe.fileno(): (pipe, output) for pipe, output in pipes}
        self.child_exited = threading.Event()

    def run(self) -> None:
        poller = select.poll()
        for fd in self.outputs:
            _grow_pipe(fd)
            poller.register(fd, select.POLLIN)
        open_fds = set(self.outputs)
        last_data = time.monotonic()
        while open_fds:
            ready = poller.poll(_POLL_MS)
            for fd, _ in ready:
                chunk = _read(fd)
                if chunk and self.outputs[fd][1].write(chunk):
                    last_data = time.monotonic()
                    continue
                # End of output, or our reader went away (``exec -- yes | head``): stop
                # reading, so the command's next write fails as it would without us.
                poller.unregister(fd)
                open_fds.discard(fd)
                self.outputs[fd][0].close()
            if (
                not ready
                and self.child_exited.is_set()
                and time.monotonic() - last_data >= DRAIN_IDLE_SECONDS
            ):
                break  # a background grandchild holds the pipes; the command itself is done
        for pipe, _ in self.outputs.values():
            pipe.close()  # closing twice is harmless


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, _CHUNK)
    except OSError:
        return b""


def _grow_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, OSError):
        pass  # not Linux, or the limit is lower here: the default size works, a bit slower


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data``; False when the reader has gone (a closed pipe)."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        return False
    except OSError:
        pass  # a console that cannot take output (EIO...): capture goes on regardless
    return True


class SignalForwarder:
    """Passes terminating signals on to the child's process group while it runs.

    Signal handlers can only be set from the main thread; elsewhere (a harness calling
    ``command()`` from a worker thread) this does nothing and signals keep their handlers.
    Signals that arrive before the child exists are delivered to it once it does. A caller
    that must finish recording after the child exits keeps its own forwarder open around
    ``run_captured(forwarder=...)``, so a second Ctrl-C cannot interrupt the recording.
    """

    def __init__(self) -> None:
        self.active = threading.current_thread() is threading.main_thread()
        self.group: int | None = None
        self.pending: list[int] = []
        self.last: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalForwarder:
        if self.active:
            for signum in FORWARDED_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def attach(self, group: int) -> None:
        self.group = group
        for signum in self.pending:
            _killpg(group, signum)
        self.pending.clear()

    def _handle(self, signum: int, frame: object) -> None:
        self.last = signum
        if self.group is None:
            self.pending.append(signum)
        else:
            _killpg(self.group, signum)


def _killpg(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait(child: subprocess.Popen, deadline: float | None, kill_after: float) -> bool:
    """Wait for ``child``; past ``deadline`` stop its whole group. True when it timed out."""
    if deadline is None:
        child.wait()
        return False
    try:
        child.wait(timeout=max(0.0, deadline - time.monotonic()))
        return False
    except subprocess.TimeoutExpired:
        pass
    _killpg(child.pid, signal.SIGTERM)
    grace_ends = time.monotonic() + kill_after
    while time.monotonic() < grace_ends:
        if child.poll() is not None and not _group_alive(child.pid):
            break
        time.sleep(0.02)
    else:
        _killpg(child.pid, signal.SIGKILL)
    child.wait()
    return True


def _not_started(
    argv: Sequence[str],
    cwd: str | os.PathLike[str] | None,
    exc: OSError,
    outputs: Sequence[_Output],
    forwarded: int | None,
) -> ProcessResult:
    missing = exc.errno == errno.ENOENT
    if cwd is not None and exc.filename == os.fspath(cwd):
        missing, message = False, f"cannot run in {cwd}: {exc.strerror or exc}"
    elif missing and "/" not in argv[0]:
        message = f"{argv[0]}: command not found"
    else:
        message = f"{argv[0]}: {exc.strerror or exc}"
    captured = tuple(c for c in (o.finish() for o in outputs) if c is not None)
    return ProcessResult(
        EXIT_NOT_FOUND if missing else EXIT_NOT_EXECUTABLE, None, None, captured,
        error=message, forwarded_signal=forwarded,
    )


def run_captured(
    argv: Sequence[str],
    out_dir: Path | None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    tee: bool = True,
    timeout: float | None = None,
    kill_after: float = KILL_AFTER_SECONDS,
    on_spawn: Callable[[subprocess.Popen], None] | None = None,
    forwarder: SignalForwarder | None = None,
) -> ProcessResult:
    """Run ``argv`` to completion, capturing stdout and stderr into files in ``out_dir``.

    ``out_dir`` None captures nothing to disk (the console still gets everything). A folder
    or file that cannot be written never stops the command: the result's ``capture_error``
    says what was lost.
    ``on_spawn`` runs in this thread while the child runs (``exec`` records its in-flight span
    there, so that write overlaps the command instead of delaying it).
    """
    folder_error = None
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            folder_error = f"cannot capture output in {out_dir}: {exc.strerror or exc}"
            out_dir = None
    outputs = [
        _Output(role, out_dir / role if out_dir is not None else None, _fd(stream) if tee else None)
        for role, stream in ((ROLE_STDOUT, sys.stdout), (ROLE_STDERR, sys.stderr))
    ]
    with forwarder if forwarder is not None else SignalForwarder() as forwarder:
        try:
            child = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                stdin=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return _not_started(argv, cwd, exc, outputs, forwarder.last)
        deadline = time.monotonic() + timeout if timeout is not None else None
        forwarder.attach(child.pid)
        assert child.stdout is not None and child.stderr is not None
        pump = _Pump([(child.stdout, outputs[0]), (child.stderr, outputs[1])])
        pump.start()
        if on_spawn is not None:
            on_spawn(child)
        timed_out = _wait(child, deadline, kill_after)
        pump.child_exited.set()
        pump.join()
    returncode = child.returncode
    signal_number = -returncode if returncode < 0 else None
    if timed_out:
        exit_code = EXIT_TIMEOUT
    else:
        exit_code = 128 + signal_number if signal_number else returncode
    captured = tuple(c for c in (o.finish() for o in outputs) if c is not None)
    return ProcessResult(
        exit_code, child.pid, signal_number, captured,
        timed_out=timeout if timed_out else None,
        forwarded_signal=forwarder.last,
        capture_error=folder_error or next((o.error for o in outputs if o.error), None),
    )


def died_of_forwarded_signal(result: ProcessResult) -> int | None:
    """The signal to re-raise on ourselves once the result is recorded, if any.

    When a Ctrl-C (or SIGTERM, SIGHUP) reached us and the child died of it, our caller should
    die of it too, so a shell running us stops its script exactly as it would have without
    the wrapper. A child that handled the signal and exited normally leaves nothing to raise.
    """
    if result.forwarded_signal is not None and result.signal == result.forwarded_signal:
        if result.signal != signal.SIGQUIT:  # re-raising SIGQUIT would dump our core
            return result.signal
    return None


def _fd(stream: object) -> int | None:
    try:
        stream.flush()  # type: ignore[attr-defined]
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
