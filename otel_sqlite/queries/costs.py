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
from otel_sqlite.storage import values

# The group key column, named for the grouping, and the SQL that computes it per call ``s``,
# with the join it needs (only the attributes a grouping reads are looked up: 400k calls).
GROUPINGS: dict[str, tuple[str, str]] = {
    "model": ("coalesce(g.value, '(unknown)')",
              f"LEFT JOIN attributes g ON g.span = s.id AND g.key = '{GEN_AI_REQUEST_MODEL}'"),
    "provider": ("coalesce(g.value, '(unknown)')",
                 f"LEFT JOIN attributes g ON g.span = s.id AND g.key = '{GEN_AI_PROVIDER_NAME}'"),
    "run": ("s.trace_id", ""),
    "step": ("", ""),  # see _BY_STEP
    "day": ("date(s.start_ns / 1000000000, 'unixepoch')", ""),
}

_SUMS = (
    "count(*), CAST(total(it.value) AS INTEGER), CAST(total(ot.value) AS INTEGER), "
    "total(c.value)"
)
_USAGE = f"""
LEFT JOIN attributes it ON it.span = s.id AND it.key = '{GEN_AI_USAGE_INPUT_TOKENS}'
LEFT JOIN attributes ot ON ot.span = s.id AND ot.key = '{GEN_AI_USAGE_OUTPUT_TOKENS}'
LEFT JOIN attributes c ON c.span = s.id AND c.key = '{HARNESS_COST_USD}'
"""
_CALLS = f"FROM spans s {_USAGE} {{join}} WHERE s.harness_kind = '{KIND_API_CALL}' {{since}}"

_COSTS = f"SELECT {{key}} AS group_key, {_SUMS} {_CALLS} GROUP BY group_key"

# Calls are summed per parent span first, in the order of the spans_trace_api_calls index (no
# sort), then each parent is named by its nearest step: itself, else the first step above.
_BY_STEP = f"""
WITH per_parent (trace_id, parent, calls, input_tokens, output_tokens, cost) AS (
    SELECT s.trace_id, s.parent_span_id, {_SUMS} {_CALLS}
    GROUP BY s.trace_id, s.parent_span_id
)
SELECT coalesce(CASE WHEN up.harness_kind = '{KIND_STEP}' THEN up.name ELSE (
           WITH RECURSIVE chain (trace_id, span_id, depth) AS (
               SELECT up.trace_id, up.parent_span_id, 0
               UNION ALL
               SELECT q.trace_id, q.parent_span_id, chain.depth + 1
               FROM chain JOIN spans q
                   ON q.trace_id = chain.trace_id AND q.span_id = chain.span_id
               WHERE q.harness_kind IS NOT '{KIND_STEP}' AND chain.depth < 1000
           )
           SELECT q.name FROM chain
           JOIN spans q ON q.trace_id = chain.trace_id AND q.span_id = chain.span_id
           WHERE q.harness_kind = '{KIND_STEP}' LIMIT 1
       ) END, '(no step)') AS group_key,
       sum(calls), sum(input_tokens), sum(output_tokens), total(cost)
FROM per_parent pp
LEFT JOIN spans up ON up.trace_id = pp.trace_id AND up.span_id = pp.parent
GROUP BY group_key
"""

# Run names are looked up once per run, after grouping.
_BY_RUN = f"""
SELECT grouped.*, r.name FROM ({_COSTS.format(key="s.trace_id", join="", since="{since}")}) grouped
LEFT JOIN run_roots rr ON rr.trace_id = grouped.group_key LEFT JOIN spans r ON r.id = rr.span
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
    template = {"step": _BY_STEP, "run": _BY_RUN}.get(by, _COSTS)
    rows = []
    for key, calls, input_tokens, output_tokens, cost, *name in db.execute(
        template.format(key=GROUPINGS[by][0], join=GROUPINGS[by][1], since=since),
        {"since": since_ns},
    ):
        row: dict[str, Any] = {by: key}
        if by == "run":
            row["name"] = name[0]
        row.update(calls=calls, input_tokens=input_tokens, output_tokens=output_tokens,
                   cost_usd=round(cost, 6))
        rows.append(row)
    rows.sort(key=lambda r: (-r["cost_usd"], str(r[by])))
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
        f"SELECT s.trace_id, {_SUMS} {_CALLS.format(join='', since='')} "
        f"AND s.trace_id IN ({common.placeholders(trace_ids)}) GROUP BY s.trace_id",
        trace_ids,
    ):
        found[trace_id] = {"api_calls": calls, "input_tokens": input_tokens,
                           "output_tokens": output_tokens, "cost_usd": round(cost, 6)}
    return found


def call_usage(db: sqlite3.Connection, spans: list[int]) -> dict[int, dict[str, Any]]:
    """``{span row id: {input_tokens, output_tokens, cost_usd}}`` for the model calls among
    ``spans``, counted exactly as ``costs`` counts them (cost unrounded, for summing); spans
    that are not calls are left out. The timeline's totals equal ``costs`` through this."""
    found: dict[int, dict[str, Any]] = {}
    if not spans:
        return found
    for span, _, input_tokens, output_tokens, cost in db.execute(
        f"SELECT s.id, {_SUMS} {_CALLS.format(join='', since='')} "
        "AND s.id IN (SELECT value FROM json_each(?)) GROUP BY s.id",
        (values.to_json(spans),),
    ):
        found[span] = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                       "cost_usd": cost}
    return found
