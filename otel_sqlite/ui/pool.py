"""Read-only connections for the UI's request threads, that follow the database file.

A pool rather than one connection per thread: ``ThreadingHTTPServer`` starts a thread per
client connection, so per-thread connections would be opened and dropped all the time. Each
connection remembers which file (device, inode) it opened; when the path now names another
file (the database was replaced, e.g. restored from a backup) or has gone, the stale
connection is closed and a fresh one is opened (or the error says the file is gone).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from otel_sqlite.errors import DatabaseError
from otel_sqlite.storage.schema import connect_readonly, describe_error

# Idle connections kept for reuse; more may be open at once while many requests run.
MAX_IDLE = 4

_Identity = tuple[int, int]


def _identity(path: Path) -> _Identity | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class ReadOnlyPool:
    """Hands out ``schema.connect_readonly`` connections to one database path."""

    def __init__(self, path: str | os.PathLike[str], max_idle: int = MAX_IDLE) -> None:
        self.path = Path(path)
        self._max_idle = max_idle
        self._idle: list[tuple[sqlite3.Connection, _Identity | None]] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection for one request; sqlite3 errors become DatabaseError.

        A connection that saw an SQLite error is not reused: the file may have been replaced
        or truncated under it, and a fresh connection is the cheap way to find out.
        """
        db, identity = self._checkout()
        healthy = False
        try:
            yield db
            healthy = True
        except sqlite3.Error as exc:
            raise DatabaseError(describe_error(self.path, exc)) from exc
        finally:
            self._checkin(db, identity, healthy)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db, _ in idle:
            db.close()

    def _checkout(self) -> tuple[sqlite3.Connection, _Identity | None]:
        current = _identity(self.path)
        stale: list[sqlite3.Connection] = []
        found = None
        with self._lock:
            while self._idle:
                db, identity = self._idle.pop()
                if identity == current and current is not None:
                    found = (db, identity)
                    break
                stale.append(db)
        for db in stale:
            db.close()
        if found is not None:
            return found
        db = connect_readonly(self.path)
        return db, _identity(self.path)

    def _checkin(self, db: sqlite3.Connection, identity: _Identity | None, healthy: bool) -> None:
        if healthy and identity == _identity(self.path):
            with self._lock:
                if len(self._idle) < self._max_idle:
                    self._idle.append((db, identity))
                    return
        db.close()
