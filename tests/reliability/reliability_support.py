"""Shared helpers for the reliability suite: real processes writing real SQLite files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from processes import read_sql

WORKERS = Path(__file__).parent / "workers"
# The opt-in soak: the same tests, ten times the work (OTEL_SQLITE_SOAK=1 pytest tests/reliability).
SOAK = os.environ.get("OTEL_SQLITE_SOAK") == "1"


def start_worker(script: str, *args: object, **popen: Any) -> subprocess.Popen:
    """Start ``workers/<script>.py`` in a new Python process."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, str(WORKERS / f"{script}.py"), *map(str, args)], **popen
    )


def run_worker(script: str, *args: object, timeout: float = 120, **run: Any):
    """Run ``workers/<script>.py`` to completion; returns the CompletedProcess."""
    if "stdout" not in run and "stderr" not in run:
        run["capture_output"] = True
    return subprocess.run(
        [sys.executable, str(WORKERS / f"{script}.py"), *map(str, args)],
        timeout=timeout, **run,
    )


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def integrity(db: Path) -> str:
    return read_sql(db, "PRAGMA integrity_check")[0][0]


def cli_path() -> str:
    return str(Path(sys.executable).with_name("otel-sqlite"))


def host_app(db: Path, exit_code: int, *extra: object, **popen: Any):
    """Start the harness host application (``workers/host_app.py``) on ``db``."""
    return start_worker("host_app", db, exit_code, *extra, **popen)


def log_lines(stderr: str) -> list[str]:
    """The lines otel-sqlite logged to the host's stderr."""
    return [line for line in stderr.splitlines() if line.startswith("otel-sqlite:")]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*args: object, **run: Any) -> subprocess.CompletedProcess[str]:
    """Run the installed ``otel-sqlite`` command."""
    return subprocess.run(
        [cli_path(), *map(str, args)], capture_output=True, text=True, timeout=60, **run
    )


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small filesystem of its own at ``folder`` (root only); skips the test elsewhere."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True, text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def start_script(script: str, *args: object, **popen: Any) -> subprocess.Popen:
    """Start the bash script ``workers/<script>.sh``."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(["bash", str(WORKERS / f"{script}.sh"), *map(str, args)], **popen)
