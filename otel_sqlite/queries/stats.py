"""What is in the database and how big it is (cucu's ``db stats``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.queries import common
from otel_sqlite.storage.schema import has_fts

_COUNTED = ("spans", "attributes", "events", "links", "artifacts", "text_lines", "resources")


def stats(db: sqlite3.Connection) -> dict[str, Any]:
    """``path``, ``schema_version``, ``fts``, ``runs``, ``incomplete_runs``, a count per table,
    ``artifact_bytes`` (sum of recorded sizes), ``db_bytes``, ``wal_bytes``, ``oldest_run`` /
    ``newest_run`` (ISO start times)."""
    path = common.db_path(db)
    found: dict[str, Any] = {
        "path": str(path),
        "schema_version": db.execute("PRAGMA user_version").fetchone()[0],
        "fts": has_fts(db),
    }
    runs, incomplete, oldest, newest = db.execute(
        "SELECT count(*), total(s.end_ns IS NULL), min(rr.start_ns), max(rr.start_ns) "
        "FROM run_roots rr JOIN spans s ON s.id = rr.span"
    ).fetchone()
    found.update(runs=runs, incomplete_runs=int(incomplete))
    for table in _COUNTED:
        found[table] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    found["artifact_bytes"] = db.execute("SELECT total(size) FROM artifacts").fetchone()[0]
    found["artifact_bytes"] = int(found["artifact_bytes"])
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    found["db_bytes"] = db.execute("PRAGMA page_count").fetchone()[0] * page_size
    wal = path.with_name(path.name + "-wal")
    found["wal_bytes"] = wal.stat().st_size if wal.exists() else 0
    found.update(oldest_run=common.iso(oldest), newest_run=common.iso(newest))
    return found
