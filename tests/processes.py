"""Waiting for a process that is not our child (an exporter's writer, exec's grandchildren)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (it is reaped, or a zombie waiting to be)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def writers_of(db: Path) -> list[int]:
    """The exporter writer processes (``otel_sqlite.sdk.writer_process``) still running for ``db``:
    they outlive a killed application by the batch in hand."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        code = next((arg for arg in argv if b"writer_process import main" in arg), None)
        if code is not None and str(db).encode() in argv and not gone(int(entry.name), 0):
            found.append(int(entry.name))
    return found


def read_sql(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read-only SQL against ``db``: checking never changes what it checks."""
    connection = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()
