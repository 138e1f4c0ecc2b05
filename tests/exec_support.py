"""Helpers for the exec / run tests: the installed CLI, run for real, and the spans it stored."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from otel_sqlite.storage import values

OTEL_SQLITE = shutil.which("otel-sqlite", path=str(Path(sys.executable).parent)) or shutil.which(
    "otel-sqlite"
)
assert OTEL_SQLITE, "install the package (pip install -e .) so the otel-sqlite script exists"


def clean_env(db: Path, **extra: str) -> dict[str, str]:
    """The test's environment (conftest already isolated it) writing to ``db``, with our
    ``otel-sqlite`` first on PATH so scripts that call it find this one."""
    return {
        **os.environ,
        "OTEL_SQLITE_DB": str(db),
        "PATH": f"{Path(OTEL_SQLITE).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }


def otel_sqlite(
    db: Path, *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess:
    """Run the installed ``otel-sqlite`` with ``args``; output captured as bytes."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("timeout", 60)
    return subprocess.run([OTEL_SQLITE, *args], env=env or clean_env(db), **kwargs)


def spans(db: Path) -> list[dict[str, Any]]:
    """Every stored span, oldest first, with its attributes decoded into a dict."""
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = [dict(r) for r in connection.execute("SELECT * FROM spans ORDER BY start_ns")]
        for row in rows:
            row["attributes"] = {
                key: values.decode(value, type_name)
                for key, value, type_name in connection.execute(
                    "SELECT key, value, type FROM attributes WHERE span = ?", (row["id"],)
                )
            }
    connection.close()
    return rows


def only_span(db: Path) -> dict[str, Any]:
    (span,) = spans(db)
    return span


def artifacts(db: Path, span_id: str) -> dict[str, dict[str, Any]]:
    """The artifacts of one span by role, with the file each names."""
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT a.* FROM artifacts a JOIN spans s ON s.id = a.span WHERE s.span_id = ?",
            (span_id,),
        ).fetchall()
    connection.close()
    found = {}
    for row in rows:
        entry = dict(row)
        entry["file"] = db.parent / row["path"]
        found[row["role"]] = entry
    return found
