"""Several database files read as one, on one read-only connection (``sql --db A --db B``).

The first file is the connection's main database; the others are ATTACHed read-only. TEMP
views named like the tables (``spans``, ``attributes``, ..., ``text_fts``) UNION ALL the same
table of every file, with integer row ids (and the columns that refer to them) offset per
file so they never collide; TEMP objects shadow main ones in SQLite's name resolution, and the
schema's own views are recreated as TEMP views over them, so every query in ``queries/`` runs
unchanged. SQLite pushes a query's WHERE terms (an FTS MATCH included) into each file's part.

Artifact paths stored relative to a file's folder are made absolute for every file but the
first (whose folder readers already resolve against). SQLite attaches at most
``SQLITE_LIMIT_ATTACHED`` files (10 in common builds) besides the main one.

The price: SQLite materialises a whole view whenever a query joins it (it cannot push a join's
constraint into a UNION ALL), so the read commands combine each file's own answer instead
(``queries.several``, with the figures).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from otel_sqlite.errors import DatabaseError
from otel_sqlite.storage.schema import connect_readonly, describe_error, has_fts

# Row ids of file n are shifted by n << ID_SHIFT_BITS: room for 10^12 rows per table per file.
ID_SHIFT_BITS = 40
_FTS = "text_fts"


def connect_several(paths: Sequence[str | os.PathLike[str]]) -> sqlite3.Connection:
    """One read-only connection answering over every file of ``paths`` (see above).

    Raises DatabaseError naming the file that cannot be read, or saying how many files at
    most can be read at once.
    """
    files = [Path(path) for path in paths]
    db = connect_readonly(files[0])
    try:
        limit = db.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) if hasattr(db, "getlimit") else 10
        if len(files) - 1 > limit:
            raise DatabaseError(
                f"cannot read {len(files)} databases at once: this SQLite opens at most "
                f"{limit + 1}; merge some of them first (otel-sqlite merge)"
            )
        for number, file in enumerate(files[1:], start=1):
            connect_readonly(file).close()  # the same checks and messages as for one file
            try:
                db.execute(f"ATTACH DATABASE ? AS db{number}",
                           (f"{file.resolve().as_uri()}?mode=ro",))
            except sqlite3.Error as exc:
                raise DatabaseError(describe_error(file, exc)) from exc
        _create_views(db, files)
    except BaseException:
        db.close()
        raise
    return db


def _create_views(db: sqlite3.Connection, files: list[Path]) -> None:
    schemas = ["main", *(f"db{number}" for number in range(1, len(files)))]
    db.execute("PRAGMA query_only = OFF")  # TEMP views only: every file stays read-only
    for table in _tables(db):
        keys = _id_columns(db, table)
        columns = [name for _, name, *_ in db.execute(f"PRAGMA main.table_info('{table}')")]
        parts = [
            f"SELECT {_picks(columns, keys, number, table, file)} FROM {schema}.\"{table}\""
            for number, (schema, file) in enumerate(zip(schemas, files, strict=True))
        ]
        db.execute(f'CREATE TEMP VIEW "{table}" AS ' + " UNION ALL ".join(parts))
    fts = [(number, schema) for number, schema in enumerate(schemas)
           if _has_fts_in(db, schema)]
    if has_fts(db) and fts:
        db.execute(f"CREATE TEMP VIEW {_FTS} AS " + " UNION ALL ".join(
            f"SELECT rowid + {number << ID_SHIFT_BITS} AS rowid, text, {_FTS} AS {_FTS} "
            f"FROM {schema}.{_FTS}" for number, schema in fts))
    for (sql,) in db.execute(
        "SELECT sql FROM main.sqlite_master WHERE type = 'view' ORDER BY rowid"
    ).fetchall():
        db.execute(sql.replace("CREATE VIEW", "CREATE TEMP VIEW", 1))
    db.execute("PRAGMA query_only = ON")


def _has_fts_in(db: sqlite3.Connection, schema: str) -> bool:
    return db.execute(
        f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = '{_FTS}'"
    ).fetchone() is not None


def _tables(db: sqlite3.Connection) -> list[str]:
    """The ordinary tables of the schema (not FTS5's own shadow tables)."""
    names = [name for (name,) in db.execute(
        "SELECT name FROM main.sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")]
    return [name for name in names if not name.startswith(f"{_FTS}_")]


def _id_columns(db: sqlite3.Connection, table: str) -> set[str]:
    """The integer row id of ``table`` and every column referring to another row id."""
    keys = {name for _, name, kind, _, _, pk in db.execute(f"PRAGMA main.table_info('{table}')")
            if pk and kind.upper() == "INTEGER"}
    keys.update(row[3] for row in db.execute(f"PRAGMA main.foreign_key_list('{table}')"))
    return keys


def _picks(columns: list[str], keys: set[str], number: int, table: str, file: Path) -> str:
    offset = number << ID_SHIFT_BITS
    picks = []
    for name in columns:
        if name in keys and number:
            picks.append(f'"{name}" + {offset} AS "{name}"')
        elif table == "artifacts" and name == "path" and number:
            folder = str(file.resolve().parent).replace("'", "''")
            picks.append(f"CASE WHEN substr(path, 1, 1) = '/' THEN path "
                         f"ELSE '{folder}/' || path END AS path")
        else:
            picks.append(f'"{name}"')
    return ", ".join(picks)
