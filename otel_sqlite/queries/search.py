"""Full-text search over captured output lines and the spans' own text (FTS5).

Hits come newest first (by ``text_lines`` row id, which grows as spans are written), not by
``ORDER BY rank``: ranking must score every match before returning the first, and measured
20x slower on common words, while "where did this warning appear lately" wants recency.
FTS5 walks its index in descending rowid and stops at the limit. Restricting to one run turns
into a rowid range, so FTS5 still reads only that run's part of the index.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.errors import QuerySyntaxError, SearchUnavailableError
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.storage.schema import has_fts

SPAN_TEXT_STREAM = "span"  # the stream of a hit in a span's own text (name, attributes)


def _check(db: sqlite3.Connection) -> None:
    if not has_fts(db):
        raise SearchUnavailableError(
            "full-text search is unavailable: this database was created by a SQLite build "
            "without FTS5 (everything else works)"
        )


def search(
    db: sqlite3.Connection, query: str, run: str | None = None, limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Lines matching the FTS5 ``query``, newest first, each: ``run_id``, ``span_id``,
    ``span_name``, ``stream`` (stdout / stderr / another artifact role, or ``span`` for the
    span's own text), ``line`` (1-based; 0 for span text), ``text``, ``artifact_id``, ``path``.

    ``run`` (any run reference) restricts to one run. A query FTS5 cannot parse raises
    QuerySyntaxError suggesting quotes; a database without FTS5 raises SearchUnavailableError.
    """
    _check(db)
    where, args = "text_fts MATCH :query", {"query": query, "limit": limit, "offset": offset}
    if run is not None:
        trace_id = resolve_run(db, run)["trace_id"]
        low, high = db.execute(
            "SELECT min(t.id), max(t.id) FROM spans s JOIN text_lines t ON t.span = s.id "
            "WHERE s.trace_id = ?",
            (trace_id,),
        ).fetchone()
        if low is None:
            return []
        where += " AND text_fts.rowid BETWEEN :low AND :high AND s.trace_id = :trace"
        args.update(low=low, high=high, trace=trace_id)
    sql = f"""
        SELECT s.trace_id, s.span_id, s.name, a.role, t.line, t.text, a.id, a.path
        FROM text_fts
        JOIN text_lines t ON t.id = text_fts.rowid
        JOIN spans s ON s.id = t.span
        LEFT JOIN artifacts a ON a.id = t.artifact
        WHERE {where}
        ORDER BY text_fts.rowid DESC LIMIT :limit OFFSET :offset
    """
    try:
        rows = db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if text.startswith("fts5:") or "no such column" in text or "unterminated" in text:
            raise QuerySyntaxError(
                f"cannot parse the search {query!r} ({text}); to search for it literally, "
                f"put it in double quotes: '\"{query.replace(chr(34), chr(34) * 2)}\"'"
            ) from exc
        raise
    return [
        {
            "run_id": trace_id,
            "span_id": span_id,
            "span_name": name,
            "stream": role or SPAN_TEXT_STREAM,
            "line": line,
            "text": text,
            "artifact_id": artifact,
            "path": path,
        }
        for trace_id, span_id, name, role, line, text, artifact, path in rows
    ]
