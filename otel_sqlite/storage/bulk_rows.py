"""Many rows in one statement: a batch's rows as one JSON document that SQLite unpacks in C.

The store writes each table's rows for a whole batch with one statement, not one
``sqlite3_step`` per row. Every step releases the GIL and must take it back, and beside a busy
application thread each take-back can wait out the interpreter's switch interval: measured
here, 20k span rows through ``executemany`` took over 100 s beside a thread creating
spans, against 0.1 s alone. One statement runs its whole batch with the GIL released.

JSON cannot carry everything exactly; what it cannot goes row by row (see ``json_ready`` and
``_bulk``). A writer alone in its process (``writer_process``) has no thread to convoy with,
and goes row by row throughout (``bulk=False``): ``executemany`` binds in C, where building
and parsing the JSON cost more (measured: benchmarks/store_phases.py --sole-thread).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from otel_sqlite.storage import values

_JSON_NUL = "\\u0000"  # SQLite's JSON functions cut text at NUL


class BulkInsert:
    """An INSERT of rows passed as one JSON array of arrays, row by row when it must.

    ``blob_column`` names the one column that may hold bytes: JSON would turn them into text,
    so a batch carrying any goes row by row."""

    def __init__(self, table: str, columns: str, blob_column: int | None = None) -> None:
        count = len(columns.split(","))
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(count))
        self.bulk = f"INSERT INTO {table} ({columns}) SELECT {picks} FROM json_each(?)"
        self.rowwise = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * count)})"
        self._blob_column = blob_column

    def __call__(self, db: sqlite3.Connection, rows: list[tuple], bulk: bool = True) -> None:
        if not rows:
            return
        if not bulk:
            self.row_by_row(db, rows)
            return
        blob = self._blob_column
        holds_blob = blob is not None and any(type(row[blob]) is bytes for row in rows)
        if holds_blob or not _bulk(db, self.bulk, values.to_json(rows)):
            self.row_by_row(db, rows)

    def row_by_row(self, db: sqlite3.Connection, rows: Iterable[tuple]) -> None:
        db.executemany(self.rowwise, rows)


def _bulk(db: sqlite3.Connection, sql: str, text: str) -> bool:
    """Run ``sql`` over one JSON document; False when it must go row by row instead: text
    holding NUL, or a document past SQLite's length limit (a batch of spans each near the
    value limits), whose rows still fit one by one."""
    if _JSON_NUL in text:
        return False
    try:
        db.execute(sql, (text,))
    except sqlite3.DataError as exc:
        if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_TOOBIG:
            raise
        return False
    return True


AttributeDoc = tuple[int, Mapping, list[tuple]]  # (span, JSON-ready attributes, the others)

# Each span's JSON-ready attributes as [span, {key: value, ...}]: the rows are made in C, so
# the write loop builds no tuple per attribute. The others (arrays, maps, big ints, NaN) go as
# plain rows in a second statement: as a UNION ALL branch over the same document they cost
# SQLite a second parse of every span's part of it (measured: benchmarks/store_phases.py).
_INSERT_ATTRIBUTE_DOCS = """
INSERT INTO attributes (span, key, value, type)
SELECT json_extract(s.value, '$[0]'), a.key, a.value,
       CASE a.type WHEN 'text' THEN 'string' WHEN 'integer' THEN 'int' WHEN 'real' THEN 'double'
                   ELSE 'bool' END
FROM json_each(?) AS s, json_each(s.value, '$[1]') AS a
"""
_insert_encoded = BulkInsert("attributes", "span, key, value, type", blob_column=2)


def json_ready(attributes: Mapping) -> tuple[Mapping, list[tuple]]:
    """``attributes`` as values JSON carries with their type (``values.native``; SQLite parses
    Python's shortest float repr exactly), and the others as encoded ``(key, value, type)``;
    the common case returns ``attributes`` itself."""
    plain: Mapping = attributes
    encoded: list[tuple] = []
    native = values.native
    for key, value in attributes.items():
        if native(value):
            continue
        if plain is attributes:
            plain = dict(attributes)
        del plain[key]
        encoded.append((key, *values.encode(value)))
    return plain, encoded


def insert_attributes(db: sqlite3.Connection, docs: list[AttributeDoc], bulk: bool = True) -> None:
    """Store each span's ``(span, JSON-ready attributes, encoded others)``."""
    plain = [(span, attributes) for span, attributes, _ in docs if attributes]
    if plain and (not bulk or not _bulk(db, _INSERT_ATTRIBUTE_DOCS, values.to_json(plain))):
        names = values.SCALAR_TYPE_NAMES  # JSON-ready values are stored as they are
        _insert_encoded.row_by_row(db, (
            (span, key, value, names[type(value)])
            for span, attributes in plain
            for key, value in attributes.items()
        ))
    _insert_encoded(db, [(span, *row) for span, _, rows in docs for row in rows], bulk)
