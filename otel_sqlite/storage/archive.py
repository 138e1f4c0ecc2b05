"""Moving whole runs, with their captured files, into another database: ``archive``.

Copy, verify, then delete, in that order, so a kill at any moment loses nothing and a re-run
completes the job: the copy is ``merge`` restricted to the runs' traces (chunked, idempotent);
the check and the delete happen inside one write transaction on the source, so a span that
changed after it was copied (an in-flight run finishing) fails the check and nothing is
deleted; the delete is ``retention``'s, the same cascade ``prune`` uses, and the files go
only after it commits. The archive is an ordinary otel-sqlite database.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from otel_sqlite.errors import DatabaseError
from otel_sqlite.storage import artifacts, retention, values
from otel_sqlite.storage.merge import Progress, merge
from otel_sqlite.storage.schema import connect_readonly, describe_error
from otel_sqlite.storage.store import _SPAN_CHILDREN

# Source spans paired with their archived copy: the same (trace, span) and the same end.
_PAIRS = """
CREATE TEMP TABLE archive_pairs AS
SELECT s.id AS src, a.id AS dst FROM json_each(?) AS t
JOIN main.spans AS s ON s.trace_id = t.value
JOIN arc.spans AS a ON a.trace_id = s.trace_id AND a.span_id = s.span_id
    AND a.end_ns IS s.end_ns
"""
# Source spans the archive lacks, or holds in an older state (in flight, or ending earlier).
_NOT_ARCHIVED = """
SELECT count(*) FROM json_each(?) AS t JOIN main.spans AS s ON s.trace_id = t.value
LEFT JOIN arc.spans AS a ON a.trace_id = s.trace_id AND a.span_id = s.span_id
WHERE a.id IS NULL
   OR (a.end_ns IS NOT s.end_ns
       AND (a.end_ns IS NULL OR (s.end_ns IS NOT NULL AND s.end_ns > a.end_ns)))
"""
_FILES = """
SELECT s.trace_id, s.span_id, a.role, a.path, a.sha256, p.dst FROM temp.archive_pairs AS p
JOIN main.spans AS s ON s.id = p.src JOIN main.artifacts AS a ON a.span = p.src
"""


def months(runs: list[tuple[str, int]]) -> dict[str, list[str]]:
    """``runs`` (trace id, start) grouped by the UTC month they started in, ``YYYY-MM``."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for trace_id, start_ns in runs:
        month = datetime.fromtimestamp(start_ns / 1e9, tz=timezone.utc).strftime("%Y-%m")
        grouped[month].append(trace_id)
    return dict(grouped)


def select_runs(
    db_path: str | os.PathLike[str], before_ns: int | None = None,
    traces: list[str] | None = None,
) -> list[tuple[str, int]]:
    """The runs to archive: ``(trace_id, start_ns)``, oldest first."""
    db = connect_readonly(db_path)
    try:
        return retention.run_starts(db, before_ns=before_ns, traces=traces)
    finally:
        db.close()


def archive(
    db_path: str | os.PathLike[str], to: str | os.PathLike[str], traces: list[str],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Move the runs ``traces`` of ``db_path`` into ``to`` (created when missing).

    Returns ``archive``, ``runs``, ``spans`` (moved), ``files`` (copied), ``missing_files``.
    Raises DatabaseError, leaving the source whole, when the copy cannot be made or checked.
    """
    source, target = Path(db_path), Path(to)
    if not traces:
        return {"archive": str(target), "runs": 0, "spans": 0, "files": 0, "missing_files": []}
    copied = merge([source], target, progress=progress, traces=traces)
    if copied.errors:
        raise DatabaseError(copied.errors[0])
    db = retention.connect_existing(source)
    try:
        db.execute("ATTACH DATABASE ? AS arc", (str(target),))
        db.execute("BEGIN IMMEDIATE")
        ids = values.to_json(traces)
        _verify(db, ids, source, target)
        files = retention.files_of(db, traces, source)
        spans = retention.delete_runs(db, traces)
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        raise DatabaseError(describe_error(source, exc)) from exc
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
    retention.delete_files([file for file, _ in files])
    return {"archive": str(target), "runs": len(traces), "spans": spans,
            "files": copied.files, "missing_files": copied.missing_files}


def _verify(db: sqlite3.Connection, ids: str, source: Path, target: Path) -> None:
    """Every span of the runs is in the archive in the same (or a later) state, with as many
    rows of every child table, and every captured file that exists is there with its hash."""
    missing = db.execute(_NOT_ARCHIVED, (ids,)).fetchone()[0]
    if missing:
        _failed(source, f"{missing} spans are not in the archive as they are here")
    db.execute("DROP TABLE IF EXISTS temp.archive_pairs")
    db.execute(_PAIRS, (ids,))
    db.execute("CREATE INDEX temp.archive_pairs_src ON archive_pairs (src)")
    for table, column in db.execute(_SPAN_CHILDREN).fetchall():
        here, there = (
            db.execute(f'SELECT count(*) FROM {schema}."{table}" AS x '
                       f'JOIN temp.archive_pairs AS p ON x."{column}" = p.{side}').fetchone()[0]
            for schema, side in (("main", "src"), ("arc", "dst"))
        )
        if here != there:
            _failed(source, f"{table}: {here} rows here, {there} in the archive")
    for trace_id, span_id, role, stored, sha256, archived_span in db.execute(_FILES).fetchall():
        file = artifacts.resolve_stored_path(stored, source)
        if not file.is_file():
            continue  # already missing here: merge reported it, nothing more can be lost
        expected = sha256 or artifacts.fingerprint(file)[1]
        copies = [
            artifacts.resolve_stored_path(path, target) for (path,) in db.execute(
                "SELECT path FROM arc.artifacts WHERE span = ? AND role = ? "
                "AND sha256 IS ?", (archived_span, role, sha256))
        ]
        if not any(c.is_file() and artifacts.fingerprint(c)[1] == expected for c in copies):
            _failed(source, f"the {role} file of span {trace_id}/{span_id} is not in the "
                            "archive with its sha256")


def _failed(source: Path, why: str) -> None:
    raise DatabaseError(f"archive check failed, nothing was removed from {source}: {why} "
                        "(run it again to finish)")
