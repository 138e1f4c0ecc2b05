"""Which spans are model calls, and which of them count: kept by the store in ``model_calls``.

A model call is a span marked ``harness.kind=api_call``, or any span carrying GenAI usage or a
GenAI operation under the names the instrumentations people use emit: the current semantic
conventions, their older names, and OpenInference's (``FIELDS`` lists them, first found wins).
Reading those attributes per call at query time cost seconds on a million spans (there is no
``(key, value)`` index), so the store copies them into one narrow row per call as it writes.

One call often leaves several spans; each call counts once (``counted``), by these rules:

1. A harness ``api_call`` that records tokens or a cost is the call: model calls beneath it
   (the instrumented SDK call it wraps) are part of it.
2. Otherwise a model call enclosing other model calls (an agent span summing its children, a
   wrapper recording nothing) is not counted: the calls beneath it are.
3. Spans of one answer (same ``gen_ai.response.id``, overlapping in time: the Anthropic SDK's
   own span beside OpenLLMetry's) count once: the one recording most figures, then the first
   stored.

Nesting is found through stored ancestors, so a call whose parent arrives later is judged
again when it does (every new model call re-judges the calls above, below and beside it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from otel_sqlite import conventions as c

# Each column of model_calls, and the attributes it is read from, first found wins. Model: the
# response's where there is one (OpenInference records only that), else the request's.
FIELDS: dict[str, tuple[str, ...]] = {
    "model": (c.GEN_AI_RESPONSE_MODEL, c.LLM_MODEL_NAME, c.GEN_AI_REQUEST_MODEL),
    "provider": (c.GEN_AI_PROVIDER_NAME, c.GEN_AI_SYSTEM, c.LLM_PROVIDER, c.LLM_SYSTEM),
    "operation": (c.GEN_AI_OPERATION_NAME, c.LLM_REQUEST_TYPE),
    "input_tokens": (c.GEN_AI_USAGE_INPUT_TOKENS, c.GEN_AI_USAGE_PROMPT_TOKENS,
                     c.LLM_TOKEN_COUNT_PROMPT),
    "output_tokens": (c.GEN_AI_USAGE_OUTPUT_TOKENS, c.GEN_AI_USAGE_COMPLETION_TOKENS,
                      c.LLM_TOKEN_COUNT_COMPLETION),
    "cached_input_tokens": (c.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                            c.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD,
                            c.LLM_TOKEN_COUNT_CACHE_READ),
    "cost_usd": (c.HARNESS_COST_USD,),
    "response_id": (c.GEN_AI_RESPONSE_ID,),
}
_INTEGER_FIELDS = ("input_tokens", "output_tokens", "cached_input_tokens")
# Any of these makes a span a model call (with harness.kind=api_call and OpenInference's LLM
# span kind); a recorded cost or a response id alone does not.
MARKERS = frozenset(
    key for field, keys in FIELDS.items() if field not in ("cost_usd", "response_id")
    for key in keys
) | {c.LLM_USAGE_TOTAL_TOKENS}
_PREFILTER = MARKERS | {c.OPENINFERENCE_SPAN_KIND}

# Nesting is looked for this many levels up and down; deeper chains are not followed.
MAX_DEPTH = 64


def maybe_model_call(attributes: Mapping[str, object]) -> bool:
    """Whether a span with ``attributes`` may be a model call (the store's cheap pre-filter;
    ``record`` decides in SQL)."""
    return attributes.get(c.HARNESS_KIND) == c.KIND_API_CALL or not _PREFILTER.isdisjoint(
        attributes
    )


def _picked() -> str:
    keys = sorted({key for keys in FIELDS.values() for key in keys} | _PREFILTER)
    columns = [
        f"max(CASE WHEN a.key = '{key}' THEN a.value END) AS \"{key}\"" for key in keys
    ]
    marked = " OR ".join(f"\"{key}\" IS NOT NULL" for key in sorted(MARKERS))
    return (
        f"SELECT a.span, {', '.join(columns)}, ({marked} OR \"{c.OPENINFERENCE_SPAN_KIND}\" = "
        f"'{c.OPENINFERENCE_KIND_LLM}') AS marked FROM attributes AS a "
        f"WHERE a.span IN (SELECT value FROM json_each(:ids)) "
        f"AND +a.key IN ({', '.join(repr(k) for k in keys)}) GROUP BY a.span"
    )


def _value(field: str) -> str:
    found = "coalesce(" + ", ".join(f'p."{key}"' for key in FIELDS[field]) + ", NULL)"
    if field in _INTEGER_FIELDS:
        return f"CAST({found} AS INTEGER)"
    if field == "cost_usd":
        return f"CAST({found} AS REAL)"
    if field == "provider":
        return f"lower({found})"
    return found


_COLUMNS = tuple(FIELDS)
_INSERT = f"""
WITH p AS ({_picked()})
INSERT OR REPLACE INTO model_calls (span, trace_id, parent_span_id, start_ns, end_ns, declared,
                                    {', '.join(_COLUMNS)})
SELECT s.id, s.trace_id, s.parent_span_id, s.start_ns, s.end_ns,
       s.harness_kind IS '{c.KIND_API_CALL}' AND coalesce({_value('input_tokens')},
           {_value('output_tokens')}, {_value('cost_usd')}) IS NOT NULL,
       {', '.join(_value(field) for field in _COLUMNS)}
FROM spans AS s LEFT JOIN p ON p.span = s.id
WHERE s.id IN (SELECT value FROM json_each(:ids))
  AND (s.harness_kind IS '{c.KIND_API_CALL}' OR p.marked)
"""
_INSERTED = (
    "SELECT span, response_id IS NOT NULL FROM model_calls "
    "WHERE span IN (SELECT value FROM json_each(:ids))"
)

# Ancestors (depth > 0) of the spans ``:ids``, and their descendants.
_UP = f"""
up (origin, id, trace_id, parent, depth) AS (
    SELECT s.id, s.id, s.trace_id, s.parent_span_id, 0 FROM spans AS s
    WHERE s.id IN (SELECT value FROM json_each(:ids))
    UNION ALL
    SELECT up.origin, p.id, p.trace_id, p.parent_span_id, up.depth + 1
    FROM up JOIN spans AS p ON p.trace_id = up.trace_id AND p.span_id = up.parent
    WHERE up.depth < {MAX_DEPTH}
)"""
_DOWN = f"""
down (origin, id, trace_id, span_id, depth) AS (
    SELECT s.id, s.id, s.trace_id, s.span_id, 0 FROM spans AS s
    WHERE s.id IN (SELECT value FROM json_each(:ids))
    UNION ALL
    SELECT down.origin, k.id, k.trace_id, k.span_id, down.depth + 1
    FROM down JOIN spans AS k ON k.trace_id = down.trace_id AND k.parent_span_id = down.span_id
    WHERE down.depth < {MAX_DEPTH}
)"""
# The model calls above and below the calls ``:ids``.
_NEIGHBOURS = f"""
WITH RECURSIVE {_UP}, {_DOWN}
SELECT id FROM up WHERE depth > 0 AND id IN (SELECT span FROM model_calls)
UNION SELECT id FROM down WHERE depth > 0 AND id IN (SELECT span FROM model_calls)
"""
# Rules 1 and 2 for each call of ``:ids``, from its ancestors and descendants.
_NESTED = f"""
WITH RECURSIVE {_UP}, {_DOWN},
declared_above (origin) AS (
    SELECT up.origin FROM up JOIN model_calls AS m ON m.span = up.id
    WHERE up.depth > 0 AND m.declared
),
calls_below (origin) AS (
    SELECT down.origin FROM down JOIN model_calls AS m ON m.span = down.id WHERE down.depth > 0
)
UPDATE model_calls SET nested = (
    span IN (SELECT origin FROM declared_above)
    OR (NOT declared AND span IN (SELECT origin FROM calls_below))
)
WHERE span IN (SELECT value FROM json_each(:ids))
"""
# Rule 3 over every call sharing a response id with one of ``:ids``.
_FIGURES = (
    "((m.input_tokens IS NOT NULL) + (m.output_tokens IS NOT NULL) + (m.cost_usd IS NOT NULL))"
)
_COUNTED = f"""
UPDATE model_calls AS m SET counted = NOT m.nested AND NOT EXISTS (
    SELECT 1 FROM model_calls AS o
    WHERE o.response_id = m.response_id AND o.span != m.span AND NOT o.nested
      AND o.start_ns <= coalesce(m.end_ns, m.start_ns)
      AND m.start_ns <= coalesce(o.end_ns, o.start_ns)
      AND ({_FIGURES.replace('m.', 'o.')}, -o.span) > ({_FIGURES}, -m.span)
)
WHERE m.span IN (SELECT value FROM json_each(:ids))
   OR m.response_id IN (SELECT response_id FROM model_calls
                        WHERE span IN (SELECT value FROM json_each(:ids)))
"""


def record(db: sqlite3.Connection, ids: str) -> None:
    """Copy the model calls among the just-written spans ``ids`` (a JSON array of row ids) into
    ``model_calls`` and judge again which calls count, theirs and their neighbours'.

    A new row counts and is not nested; only calls with model calls above or below them, or
    sharing a response id, need judging (a harness api_call under its step does not)."""
    db.execute(_INSERT, {"ids": ids})
    inserted = db.execute(_INSERTED, {"ids": ids}).fetchall()
    if not inserted:
        return
    calls = [span for span, _ in inserted]
    neighbours = [row[0] for row in db.execute(_NEIGHBOURS, {"ids": _json(calls)})]
    judged = _json(calls + neighbours)
    if neighbours:
        db.execute(_NESTED, {"ids": judged})
    if neighbours or any(answered for _, answered in inserted):
        db.execute(_COUNTED, {"ids": judged})


def _json(ids: list[int]) -> str:
    return "[" + ",".join(map(str, ids)) + "]"


def record_all(db: sqlite3.Connection) -> None:
    """Fill ``model_calls`` from every stored span (the migration that creates it)."""
    ids = db.execute(
        "SELECT json_group_array(id) FROM spans AS s WHERE s.harness_kind = ? OR EXISTS ("
        f"SELECT 1 FROM attributes WHERE span = s.id AND key IN "
        f"({', '.join('?' for _ in _PREFILTER)}))",
        (c.KIND_API_CALL, *sorted(_PREFILTER)),
    ).fetchone()[0]
    record(db, ids)
