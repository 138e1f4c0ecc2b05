"""Turning what a person types into one run or one span: ``latest``, ``latest~N``, id prefixes.

A run is a trace; its root (``run_roots``, kept by the schema's trigger) is the span that
stands for it. Prefixes are case-insensitive and need at least ``MIN_PREFIX`` hex digits, so a
typo cannot silently pick a random run; an ambiguous prefix lists a few candidates.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from otel_sqlite.errors import AmbiguousError, NotFoundError

MIN_PREFIX = 4
_LATEST = re.compile(r"latest(?:~(\d+))?")
_HEX = re.compile(r"[0-9a-f]+")
_CANDIDATES = 5

_ROOT_COLUMNS = (
    "s.id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_ns, s.end_ns, "
    "s.status_code, s.status_message, s.resource_id"
)
_ROOT_KEYS = (
    "id", "trace_id", "span_id", "parent_span_id", "name", "start_ns", "end_ns",
    "status_code", "status_message", "resource_id",
)
_RUN_HELP = "name a run by latest, latest~N, or at least 4 hex digits of its trace id"


def _hex_prefix(ref: str, what: str, help_text: str) -> str:
    prefix = ref.strip().lower()
    if len(prefix) < MIN_PREFIX or not _HEX.fullmatch(prefix):
        raise NotFoundError(f"'{ref}' is not a {what}: {help_text}")
    return prefix


def _prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds for an index range scan: ids are lower-case hex, and 'g' sorts after 'f'."""
    return prefix, prefix + "g"


def resolve_run(db: sqlite3.Connection, ref: str) -> dict[str, Any]:
    """The root span of the run ``ref`` names, as a dict (``trace_id``, ``span_id``, ...).

    Raises NotFoundError for an unknown run and AmbiguousError for a prefix of several.
    """
    latest = _LATEST.fullmatch(ref.strip().lower())
    if latest:
        back = int(latest.group(1) or 0)
        row = db.execute(
            f"SELECT {_ROOT_COLUMNS} FROM run_roots rr JOIN spans s ON s.id = rr.span "
            "ORDER BY rr.start_ns DESC, rr.span DESC LIMIT 1 OFFSET ?",
            (back,),
        ).fetchone()
        if row is None:
            raise NotFoundError(
                "the database holds no runs yet" if back == 0
                else f"there is no run {ref}: the database holds fewer than {back + 1} runs"
            )
        return dict(zip(_ROOT_KEYS, row, strict=True))
    prefix = _hex_prefix(ref, "run", _RUN_HELP)
    rows = db.execute(
        f"SELECT {_ROOT_COLUMNS} FROM run_roots rr JOIN spans s ON s.id = rr.span "
        "WHERE rr.trace_id >= ? AND rr.trace_id < ? ORDER BY rr.start_ns DESC LIMIT ?",
        (*_prefix_range(prefix), _CANDIDATES + 1),
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no run has a trace id starting with '{prefix}'")
    if len(rows) > 1:
        names = ", ".join(f"{r[1][:12]} ({r[4]})" for r in rows[:_CANDIDATES])
        raise AmbiguousError(
            f"'{prefix}' matches several runs: {names}{' ...' if len(rows) > _CANDIDATES else ''}"
            "; give more digits"
        )
    return dict(zip(_ROOT_KEYS, rows[0], strict=True))


def resolve_span(db: sqlite3.Connection, ref: str, trace_id: str | None = None) -> dict[str, Any]:
    """The span whose id starts with ``ref`` (within ``trace_id`` when given)."""
    prefix = _hex_prefix(ref, "span", "give at least 4 hex digits of a span id")
    if trace_id is not None:
        where, args = "s.trace_id = ? AND s.span_id >= ? AND s.span_id < ?", (
            trace_id, *_prefix_range(prefix))
    else:
        where, args = "s.span_id >= ? AND s.span_id < ?", _prefix_range(prefix)
    rows = db.execute(
        f"SELECT {_ROOT_COLUMNS} FROM spans s WHERE {where} LIMIT ?", (*args, _CANDIDATES + 1)
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no span has an id starting with '{prefix}'")
    if len(rows) > 1:
        names = ", ".join(f"{r[2]} ({r[4]})" for r in rows[:_CANDIDATES])
        raise AmbiguousError(f"'{prefix}' matches several spans: {names}; give more digits")
    return dict(zip(_ROOT_KEYS, rows[0], strict=True))
