"""``otel-sqlite sql``: any read-only query over the schema, for what the commands do not ask.

Three locks keep it read-only: the file is opened ``mode=ro``, ``PRAGMA query_only`` is on,
and an authorizer refuses ``ATTACH`` (which could create a file elsewhere) and setting
pragmas. A refused statement changes nothing.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.errors import QuerySyntaxError, ReadOnlyError

_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    """Deny ATTACH (it could create a file elsewhere) and setting a pragma (``query_only =
    OFF`` would lift a lock). Writes to the database itself fail on the other two locks; the
    authorizer cannot refuse them, because FTS5's own internal statements would fail too."""
    if action in _DENIED or (action == sqlite3.SQLITE_PRAGMA and arg2 is not None):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def run_sql(
    db: sqlite3.Connection, query: str, params: dict[str, Any] | list[Any] | None = None
) -> list[dict[str, Any]]:
    """Rows of one read-only ``query`` as dicts keyed by column name (blobs as hex).

    Raises ReadOnlyError for anything that would write, QuerySyntaxError for SQL SQLite
    rejects.
    """
    db.set_authorizer(_authorize)
    try:
        cursor = db.execute(query, params or [])
        columns = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchall()
    except (sqlite3.Error, sqlite3.Warning) as exc:
        text = str(exc)
        if "not authorized" in text or "readonly" in text or "read-only" in text:
            raise ReadOnlyError(
                f"sql is read-only and refused this statement ({text}); the database was not "
                "changed"
            ) from exc
        raise QuerySyntaxError(f"SQLite rejected the query: {text}") from exc
    finally:
        db.set_authorizer(None)
    return [
        {col: value.hex() if isinstance(value, bytes) else value
         for col, value in zip(columns, row, strict=True)}
        for row in rows
    ]
