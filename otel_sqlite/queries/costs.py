"""What paid calls cost: sums of ``harness.cost.usd`` and ``gen_ai.usage.*`` over api_call spans.

Grouped by model, provider, run, enclosing step or UTC day. A call that recorded no cost or no
tokens adds 0 to the sums but still counts in ``calls``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.conventions import (
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    HARNESS_COST_USD,
    KIND_API_CALL,
    KIND_STEP,
)
from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries import common

# The group key column, named for the grouping, and the SQL that computes it per call ``s``.
GROUPINGS: dict[str, str] = {
    "model": "coalesce(m.value, '(unknown)')",
    "provider": "coalesce(p.value, '(unknown)')",
    "run": "s.trace_id",
    "step": "coalesce(st.name, '(no step)')",
    "day": "date(s.start_ns / 1000000000, 'unixepoch')",
}

# The nearest enclosing step of each call, walked up the parent chain inside SQL.
_ENCLOSING_STEP = f"""
WITH RECURSIVE up (call, trace_id, parent, depth) AS (
    SELECT s.id, s.trace_id, s.parent_span_id, 0 FROM spans s
    WHERE s.harness_kind = '{KIND_API_CALL}' {{since}}
    UNION ALL
    SELECT up.call, up.trace_id, p.parent_span_id, up.depth + 1
    FROM up JOIN spans p ON p.trace_id = up.trace_id AND p.span_id = up.parent
    WHERE p.harness_kind IS NOT '{KIND_STEP}' AND up.depth < 1000
),
enclosing (call, name) AS (
    SELECT up.call, p.name FROM up
    JOIN spans p ON p.trace_id = up.trace_id AND p.span_id = up.parent
    WHERE p.harness_kind = '{KIND_STEP}'
)
"""

_COSTS = f"""
{{with_steps}}
SELECT {{key}} AS group_key, count(*) AS calls,
       CAST(total(it.value) AS INTEGER), CAST(total(ot.value) AS INTEGER), total(c.value)
       {{run_name}}
FROM spans s
LEFT JOIN attributes m ON m.span = s.id AND m.key = '{GEN_AI_REQUEST_MODEL}'
LEFT JOIN attributes p ON p.span = s.id AND p.key = '{GEN_AI_PROVIDER_NAME}'
LEFT JOIN attributes it ON it.span = s.id AND it.key = '{GEN_AI_USAGE_INPUT_TOKENS}'
LEFT JOIN attributes ot ON ot.span = s.id AND ot.key = '{GEN_AI_USAGE_OUTPUT_TOKENS}'
LEFT JOIN attributes c ON c.span = s.id AND c.key = '{HARNESS_COST_USD}'
{{join_steps}}
WHERE s.harness_kind = '{KIND_API_CALL}' {{since}}
GROUP BY group_key ORDER BY total(c.value) DESC, group_key
"""


def costs(
    db: sqlite3.Connection, by: str = "model", since_ns: int | None = None
) -> list[dict[str, Any]]:
    """Cost rows, dearest first: ``{by}`` (the key, e.g. ``model``), ``calls``,
    ``input_tokens``, ``output_tokens``, ``cost_usd``; grouped ``by`` run they also carry the
    run's ``name``. ``since_ns`` keeps calls that started at or after it."""
    if by not in GROUPINGS:
        raise NotFoundError(f"cannot group costs by '{by}': choose one of {', '.join(GROUPINGS)}")
    since = "AND s.start_ns >= :since" if since_ns is not None else ""
    sql = _COSTS.format(
        key=GROUPINGS[by],
        since=since,
        with_steps=_ENCLOSING_STEP.format(since=since) if by == "step" else "",
        join_steps="LEFT JOIN enclosing st ON st.call = s.id" if by == "step" else "",
        run_name=(
            ", (SELECT r.name FROM run_roots rr JOIN spans r ON r.id = rr.span "
            "WHERE rr.trace_id = s.trace_id)" if by == "run" else ""
        ),
    )
    rows = []
    for key, calls, input_tokens, output_tokens, cost, *name in db.execute(
        sql, {"since": since_ns}
    ):
        row: dict[str, Any] = {by: key}
        if by == "run":
            row["name"] = name[0]
        row.update(calls=calls, input_tokens=input_tokens, output_tokens=output_tokens,
                   cost_usd=round(cost, 6))
        rows.append(row)
    return rows


def trace_totals(db: sqlite3.Connection, trace_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{trace_id: {api_calls, input_tokens, output_tokens, cost_usd}}``; zeros when none."""
    found = {
        trace_id: {"api_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        for trace_id in trace_ids
    }
    if not trace_ids:
        return found
    for trace_id, calls, input_tokens, output_tokens, cost in db.execute(
        f"""
        SELECT s.trace_id, count(*), CAST(total(it.value) AS INTEGER),
               CAST(total(ot.value) AS INTEGER), total(c.value)
        FROM spans s
        LEFT JOIN attributes it ON it.span = s.id AND it.key = '{GEN_AI_USAGE_INPUT_TOKENS}'
        LEFT JOIN attributes ot ON ot.span = s.id AND ot.key = '{GEN_AI_USAGE_OUTPUT_TOKENS}'
        LEFT JOIN attributes c ON c.span = s.id AND c.key = '{HARNESS_COST_USD}'
        WHERE s.trace_id IN ({common.placeholders(trace_ids)})
          AND s.harness_kind = '{KIND_API_CALL}'
        GROUP BY s.trace_id
        """,
        trace_ids,
    ):
        found[trace_id] = {"api_calls": calls, "input_tokens": input_tokens,
                           "output_tokens": output_tokens, "cost_usd": round(cost, 6)}
    return found
