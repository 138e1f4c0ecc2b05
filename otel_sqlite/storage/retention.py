"""Keeping the database's size in check: ``prune`` old runs and ``vacuum`` the file.

Besides ``store``, this is the only module that writes: maintenance, not recording. A run is
removed whole (its trace's spans and, through ``ON DELETE CASCADE``, their attributes,
events, links, artifacts rows and search lines) in one transaction; then its captured files
are deleted, but only files inside the database's own artifacts folder: an artifact that
names a file elsewhere (a report the harness wrote) belongs to the user and stays.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from otel_sqlite.storage import artifacts
from otel_sqlite.storage.paths import artifacts_dir
from otel_sqlite.storage.schema import connect, connect_readonly

_BATCH = 500  # traces per DELETE: keeps the statement's parameter list small


def _connect_existing(path: Path) -> sqlite3.Connection:
    """A writable connection to a database that must exist: maintenance never creates one."""
    connect_readonly(path).close()
    return connect(path)


def _old_traces(db: sqlite3.Connection, cutoff_ns: int) -> list[str]:
    return [
        trace_id for (trace_id,) in db.execute(
            "SELECT trace_id FROM run_roots WHERE start_ns < ? ORDER BY start_ns", (cutoff_ns,)
        )
    ]


def _files_of(db: sqlite3.Connection, traces: list[str], db_path: Path) -> list[tuple[Path, int]]:
    own = artifacts_dir(db_path).absolute()
    files = []
    for start in range(0, len(traces), _BATCH):
        batch = traces[start:start + _BATCH]
        for stored, size in db.execute(
            "SELECT a.path, a.size FROM artifacts a JOIN spans s ON s.id = a.span "
            f"WHERE s.trace_id IN ({', '.join('?' * len(batch))})",
            batch,
        ):
            file = artifacts.resolve_stored_path(stored, db_path).absolute()
            if file.is_relative_to(own):
                files.append((file, size or 0))
    return files


def prune(db_path: str | os.PathLike[str], cutoff_ns: int, dry_run: bool = False) -> dict[str, Any]:
    """Remove the runs that started before ``cutoff_ns`` and their captured files.

    Returns ``runs``, ``spans``, ``files``, ``bytes`` (what was, or with ``dry_run`` would
    be, removed) and ``dry_run``. A dry run opens the database read-only.
    """
    path = Path(db_path)
    db = connect_readonly(path) if dry_run else _connect_existing(path)
    try:
        if not dry_run:
            db.execute("BEGIN IMMEDIATE")
        traces = _old_traces(db, cutoff_ns)
        files = _files_of(db, traces, path)
        spans = 0
        for start in range(0, len(traces), _BATCH):
            batch = traces[start:start + _BATCH]
            marks = ", ".join("?" * len(batch))
            if dry_run:
                spans += db.execute(
                    f"SELECT count(*) FROM spans WHERE trace_id IN ({marks})", batch
                ).fetchone()[0]
            else:
                deleted = db.execute(f"DELETE FROM spans WHERE trace_id IN ({marks})", batch)
                spans += deleted.rowcount
        if not dry_run:
            db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()
    if not dry_run:
        _delete_files([file for file, _ in files], artifacts_dir(path).absolute())
    return {"runs": len(traces), "spans": spans, "files": len(files),
            "bytes": sum(size for _, size in files), "dry_run": dry_run}


def _delete_files(files: list[Path], own: Path) -> None:
    folders = set()
    for file in files:
        try:
            file.unlink()
        except FileNotFoundError:
            pass
        folders.update(p for p in file.parents if p.is_relative_to(own) and p != own)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()  # only when empty: another span's files may still live there
        except OSError:
            pass


def vacuum(db_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Rebuild the file to return free pages to the disk; ``bytes_before`` / ``bytes_after``."""
    path = Path(db_path)
    db = _connect_existing(path)
    try:
        before = path.stat().st_size
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"bytes_before": before, "bytes_after": path.stat().st_size}
    finally:
        db.close()
