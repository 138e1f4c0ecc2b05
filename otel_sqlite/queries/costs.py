"""What model calls cost: calls, tokens, recorded and estimated dollars, grouped.

Grouped by model, provider, run, enclosing step or UTC day, over the calls that count (see
``storage/model_calls``: a harness api_call or any GenAI-instrumented span, each call once).
Recorded ``harness.cost.usd`` and the price table's estimate stay apart (``model_calls``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from otel_sqlite.conventions import KIND_STEP
from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries import model_calls
from otel_sqlite.queries.model_calls import PART_COLUMNS, PART_GROUPING, sum_parts
from otel_sqlite.queries.prices import PriceTable

UNKNOWN = "(unknown)"

# The group key, named for the grouping, as SQL over the counted call ``m``.
GROUPINGS: dict[str, str] = {
    "model": "m.model",  # in the order of the model_calls_by_model index: no sort
    "provider": "m.provider",
    "run": "m.trace_id",
    "step": "",  # see _BY_STEP
    "day": "date(m.start_ns / 1000000000, 'unixepoch')",
}

_COSTS = f"""
SELECT {{key}} AS group_key, {PART_COLUMNS} FROM model_calls AS m
WHERE m.counted {{since}} GROUP BY {{grouping}}
"""

# Calls are summed per parent span first, in the order of the model_calls_by_parent index (no
# sort), each parent named by its nearest step (itself, else the first step above), then
# summed per step name. Joining per-parent sums to names computed apart cost 4x more.
_BY_STEP = f"""
SELECT group_key, model, recorded, sum(calls), total(input_tokens), total(output_tokens),
       total(cached_input_tokens), total(cost)
FROM (
    SELECT coalesce((
               SELECT CASE WHEN up.harness_kind = '{KIND_STEP}' THEN up.name ELSE (
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
               ) END
               FROM spans up WHERE up.trace_id = m.trace_id AND up.span_id = m.parent_span_id
           ), '(no step)') AS group_key,
           {PART_COLUMNS}
    FROM model_calls AS m
    WHERE m.counted {{since}}
    GROUP BY m.trace_id, m.parent_span_id, {PART_GROUPING}
)
GROUP BY group_key, model, recorded
"""

_RUN_NAMES = (
    "SELECT rr.trace_id, s.name FROM run_roots rr JOIN spans s ON s.id = rr.span "
    "WHERE rr.trace_id IN (SELECT value FROM json_each(?))"
)


def costs(
    db: sqlite3.Connection, by: str = "model", since_ns: int | None = None,
    prices: PriceTable | None = None,
) -> list[dict[str, Any]]:
    """Cost rows, dearest first (recorded plus estimated): ``{by}`` (the key, e.g. ``model``),
    then the figures of ``model_calls.Totals``; grouped ``by`` run they also carry the run's
    ``name``. ``since_ns`` keeps calls that started at or after it."""
    if by not in GROUPINGS:
        raise NotFoundError(f"cannot group costs by '{by}': choose one of {', '.join(GROUPINGS)}")
    since = "AND m.start_ns >= :since" if since_ns is not None else ""
    if by == "step":
        rows = db.execute(_BY_STEP.format(since=since), {"since": since_ns})
    else:
        key = GROUPINGS[by]
        grouping = PART_GROUPING if key == "m.model" else f"group_key, {PART_GROUPING}"
        rows = db.execute(_COSTS.format(key=key, since=since, grouping=grouping),
                          {"since": since_ns})
    groups = sum_parts(rows, prices)
    names = {}
    if by == "run" and groups:
        names = dict(db.execute(_RUN_NAMES, (json.dumps(list(groups)),)))
    found = []
    for key, totals in groups.items():
        row: dict[str, Any] = {by: UNKNOWN if key is None else key}
        if by == "run":
            row["name"] = names.get(key)
        row.update(totals.as_dict())
        found.append(row)
    found.sort(key=lambda r: (-(r["cost_usd"] + (r["estimated_cost_usd"] or 0.0)), str(r[by])))
    return found


def trace_totals(
    db: sqlite3.Connection, trace_ids: list[str], prices: PriceTable | None = None
) -> dict[str, dict[str, Any]]:
    """``{trace_id: {api_calls, input_tokens, output_tokens, cached_input_tokens, cost_usd,
    estimated_cost_usd, unpriced_calls}}`` over each trace's counted model calls."""
    found = {}
    for trace_id, totals in model_calls.trace_totals(db, trace_ids, prices).items():
        figures = totals.as_dict()
        figures["api_calls"] = figures.pop("calls")
        found[trace_id] = figures
    return found



def call_usage(db: sqlite3.Connection, spans: list[int]) -> dict[int, dict[str, Any]]:
    """``{span row id: {input_tokens, output_tokens, cost_usd, estimated_cost_usd}}`` for the
    counted model calls among ``spans`` (``model_calls.call_figures``), counted exactly as
    ``costs`` counts them (cost unrounded, for summing; recorded only, the estimate apart);
    other spans are left out. The timeline's totals equal ``costs`` through this."""
    return {
        span: {"input_tokens": figures["input_tokens"] or 0,
               "output_tokens": figures["output_tokens"] or 0,
               "cost_usd": figures["cost_usd"] or 0.0,
               "estimated_cost_usd": figures["estimated_cost_usd"]}
        for span, figures in model_calls.call_figures(db, spans).items() if figures["counted"]
    }
