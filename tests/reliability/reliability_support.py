"""Shared helpers for the reliability suite: real processes writing real SQLite files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKERS = Path(__file__).parent / "workers"


def start_worker(script: str, *args: object, **popen: Any) -> subprocess.Popen:
    """Start ``workers/<script>.py`` in a new Python process."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, str(WORKERS / f"{script}.py"), *map(str, args)], **popen
    )


def run_worker(script: str, *args: object, timeout: float = 120, **run: Any):
    """Run ``workers/<script>.py`` to completion; returns the CompletedProcess."""
    run.setdefault("capture_output", True)
    return subprocess.run(
        [sys.executable, str(WORKERS / f"{script}.py"), *map(str, args)],
        timeout=timeout, **run,
    )


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def read_sql(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read-only SQL against ``db``: checking never changes what it checks."""
    connection = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def integrity(db: Path) -> str:
    return read_sql(db, "PRAGMA integrity_check")[0][0]


def cli_path() -> str:
    return str(Path(sys.executable).with_name("otel-sqlite"))
