"""Keeping the database's size in check: ``prune`` old runs and ``vacuum`` the file.

Besides ``store`` (and ``merge``, which adds whole rows in bulk), this is the only module
that writes: maintenance, not recording. A run is removed whole (its trace's spans and,
through ``ON DELETE CASCADE``, their attributes, events, links, artifacts rows and search
lines) in one transaction; then its captured files are deleted. Which files are the
database's own is read from their rows, not from a folder named after the database file
(a database copied or merged under another name keeps reaching its files): a captured file
is stored relative to the database's folder, under ``<trace id>/<span id>/`` of the span
that owns it (``paths.span_artifact_dir``). An artifact naming any other file (a report the
harness wrote elsewhere) belongs to the user and stays.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path, PurePosixPath
from typing import Any

from otel_sqlite.storage import artifacts
from otel_sqlite.storage.schema import connect, connect_readonly

_BATCH = 500  # traces per DELETE: keeps the statement's parameter list small


def connect_existing(path: Path) -> sqlite3.Connection:
    """A writable connection to a database that must exist: maintenance never creates one."""
    connect_readonly(path).close()
    return connect(path)


def run_starts(
    db: sqlite3.Connection, before_ns: int | None = None, traces: list[str] | None = None
) -> list[tuple[str, int]]:
    """``(trace_id, start_ns)`` of the runs that started before ``before_ns`` (or of
    ``traces``), oldest first."""
    if traces is not None:
        found = []
        for batch in _batches(traces):
            found += db.execute(
                "SELECT trace_id, start_ns FROM run_roots "
                f"WHERE trace_id IN ({', '.join('?' * len(batch))})", batch,
            ).fetchall()
        return sorted(found, key=lambda row: row[1])
    return db.execute(
        "SELECT trace_id, start_ns FROM run_roots WHERE start_ns < ? ORDER BY start_ns",
        (before_ns,),
    ).fetchall()


def _batches(traces: list[str]) -> list[list[str]]:
    return [traces[start:start + _BATCH] for start in range(0, len(traces), _BATCH)]


def own_file(stored: str, trace_id: str, span_id: str) -> bool:
    """Whether an artifact row's stored path is a file captured for its span (see above)."""
    path = PurePosixPath(stored)
    return not path.is_absolute() and ".." not in path.parts and \
        path.parts[-3:-1] == (trace_id, span_id)


def files_of(db: sqlite3.Connection, traces: list[str], db_path: Path) -> list[tuple[Path, int]]:
    """The captured files of ``traces`` (found through their artifact rows) and their sizes."""
    files = []
    for batch in _batches(traces):
        for stored, size, trace_id, span_id in db.execute(
            "SELECT a.path, a.size, s.trace_id, s.span_id FROM artifacts a "
            f"JOIN spans s ON s.id = a.span WHERE s.trace_id IN ({', '.join('?' * len(batch))})",
            batch,
        ):
            if own_file(stored, trace_id, span_id):
                files.append((artifacts.resolve_stored_path(stored, db_path).absolute(),
                              size or 0))
    return files


def delete_runs(db: sqlite3.Connection, traces: list[str]) -> int:
    """Delete every span of ``traces`` (children by cascade) inside the caller's
    transaction; returns how many spans went."""
    spans = 0
    for batch in _batches(traces):
        deleted = db.execute(
            f"DELETE FROM spans WHERE trace_id IN ({', '.join('?' * len(batch))})", batch)
        spans += deleted.rowcount
    return spans


def prune(db_path: str | os.PathLike[str], cutoff_ns: int, dry_run: bool = False) -> dict[str, Any]:
    """Remove the runs that started before ``cutoff_ns`` and their captured files.

    Returns ``runs``, ``spans``, ``files``, ``bytes`` (what was, or with ``dry_run`` would
    be, removed) and ``dry_run``. A dry run opens the database read-only.
    """
    path = Path(db_path)
    db = connect_readonly(path) if dry_run else connect_existing(path)
    try:
        if not dry_run:
            db.execute("BEGIN IMMEDIATE")
        traces = [trace_id for trace_id, _ in run_starts(db, before_ns=cutoff_ns)]
        files = files_of(db, traces, path)
        if dry_run:
            spans = sum(
                db.execute(f"SELECT count(*) FROM spans WHERE trace_id IN "
                           f"({', '.join('?' * len(batch))})", batch).fetchone()[0]
                for batch in _batches(traces)
            )
        else:
            spans = delete_runs(db, traces)
            db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()
    if not dry_run:
        delete_files([file for file, _ in files])
    return {"runs": len(traces), "spans": spans, "files": len(files),
            "bytes": sum(size for _, size in files), "dry_run": dry_run}


def delete_files(files: list[Path]) -> None:
    """Delete captured files, then their span and trace folders when that leaves them empty
    (another span's files may still live there)."""
    folders = set()
    for file in files:
        try:
            file.unlink()
        except FileNotFoundError:
            pass
        folders.update((file.parent, file.parent.parent))
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass


def vacuum(db_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Rebuild the file to return free pages to the disk; ``bytes_before`` / ``bytes_after``."""
    path = Path(db_path)
    db = connect_existing(path)
    try:
        before = path.stat().st_size
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"bytes_before": before, "bytes_after": path.stat().st_size}
    finally:
        db.close()
