"""One thread through every run: the spans and events that carry an attribute, and all below.

``timeline --attr harness.task.id=gh-450`` (``task gh-450``) answers "what happened to this
task": which sessions and workers touched it, its commands, its model calls with their tokens
and cost, its decisions, in time order, whatever run each happened in. A span belongs when it
carries the attribute or sits under a span that does; an event when it belongs to such a span
or carries the attribute itself. Tokens and cost come from ``costs.call_usage``, so the totals
are what ``costs`` counts for the same calls.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from otel_sqlite.conventions import ARTIFACT_EVENT, HARNESS_TASK_ID
from otel_sqlite.queries import common
from otel_sqlite.queries.costs import call_usage
from otel_sqlite.queries.events import EVENT_TYPE_SQL, attribute_matches, event_row

_KIND_OF_EVENT = "event"
# Every entry has every key (None where it does not apply), in this order.
ENTRY_KEYS = (
    "time", "run_id", "run", "kind", "name", "span_id", "span_name", "duration_ms", "status",
    "status_message", "input_tokens", "output_tokens", "cost_usd", "type", "attributes",
    "time_ns",
)

# The spans that carry the attribute, then everything under them. The task id has a partial
# index (schema m007) that SQLite uses only when the key is written in the SQL, not bound.
_SPANS = """
WITH RECURSIVE under (id, trace_id, span_id, depth) AS (
    SELECT s.id, s.trace_id, s.span_id, 0 FROM attributes a JOIN spans s ON s.id = a.span
    WHERE a.key = {key} AND CAST(a.value AS TEXT) = :value
    UNION
    SELECT c.id, c.trace_id, c.span_id, under.depth + 1 FROM under
    JOIN spans c ON c.trace_id = under.trace_id AND c.parent_span_id = under.span_id
    WHERE under.depth < 1000
)
SELECT DISTINCT s.id, s.trace_id, s.span_id, s.name, coalesce(s.harness_kind, 'span'),
       s.start_ns, s.end_ns, s.status_code, s.status_message
FROM under JOIN spans s ON s.id = under.id
"""


def timeline(db: sqlite3.Connection, key: str, value: str) -> dict[str, Any]:
    """``{"entries": [...], "totals": {...}}``. Entries in time order, each with the
    ENTRY_KEYS: ``kind`` is run, step, command, api_call, span or event; tokens and cost are
    set on model calls, ``span_name`` (the span it happened on), ``type`` and ``attributes``
    on events. Totals:
    ``runs``, ``spans``, ``events``, ``errors``, ``api_calls``, ``input_tokens``,
    ``output_tokens``, ``cost_usd``, ``start``, ``end``, ``duration_ms``."""
    literal_key = "'" + HARNESS_TASK_ID + "'" if key == HARNESS_TASK_ID else ":key"
    spans = db.execute(_SPANS.format(key=literal_key), {"key": key, "value": value}).fetchall()
    usage = call_usage(db, [row[0] for row in spans])
    entries: list[dict[str, Any]] = []
    for span, trace_id, span_id, name, kind, start, end, code, message in spans:
        entries.append({
            "time_ns": start, "run_id": trace_id, "kind": kind, "name": name,
            "span_id": span_id, "duration_ms": common.duration_ms(start, end),
            "status": common.status(code, end), "status_message": message or None,
            **_rounded(usage.get(span)),
        })
    entries += _events(db, [row[0] for row in spans], key, value)
    entries.sort(key=lambda entry: (entry["time_ns"], entry["kind"] == _KIND_OF_EVENT))
    names = _run_names(db, sorted({entry["run_id"] for entry in entries}))
    for entry in entries:
        entry["time"] = common.iso(entry["time_ns"])
        entry["run"] = names.get(entry["run_id"])
    return {"entries": [{key: entry.get(key) for key in ENTRY_KEYS} for entry in entries],
            "totals": _totals(entries, spans, usage)}


def _events(
    db: sqlite3.Connection, spans: list[int], key: str, value: str
) -> list[dict[str, Any]]:
    """Events of the timeline's spans, and events elsewhere that carry the attribute."""
    carries, args = attribute_matches(key, value, "t")
    rows = db.execute(
        f"SELECT e.time_ns, s.trace_id, s.span_id, s.name, e.name, {EVENT_TYPE_SQL}, "
        f"e.attributes FROM events e JOIN spans s ON s.id = e.span "
        f"WHERE e.name != '{ARTIFACT_EVENT}' "
        f"AND (e.span IN (SELECT value FROM json_each(:spans)) OR {carries})",
        {**args, "spans": json.dumps(spans)},
    )
    found = []
    for time_ns, trace_id, span_id, span_name, name, kind, attributes in rows:
        row = event_row(time_ns, trace_id, span_id, span_name, name, kind, attributes)
        found.append({"time_ns": time_ns, "run_id": trace_id, "kind": _KIND_OF_EVENT,
                      "name": name, "span_id": span_id, "span_name": span_name,
                      "type": kind, "attributes": row["attributes"]})
    return found


def _rounded(usage: dict[str, Any] | None) -> dict[str, Any]:
    return {} if usage is None else {**usage, "cost_usd": round(usage["cost_usd"], 6)}


def _run_names(db: sqlite3.Connection, trace_ids: list[str]) -> dict[str, str]:
    if not trace_ids:
        return {}
    return dict(db.execute(
        "SELECT rr.trace_id, s.name FROM run_roots rr JOIN spans s ON s.id = rr.span "
        f"WHERE rr.trace_id IN ({common.placeholders(trace_ids)})",
        trace_ids,
    ).fetchall())


def _totals(
    entries: list[dict[str, Any]], spans: list[tuple], usage: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    starts = [row[5] for row in spans] + [e["time_ns"] for e in entries]
    ends = [row[6] for row in spans if row[6] is not None] + [e["time_ns"] for e in entries]
    start, end = (min(starts), max(ends)) if starts else (None, None)
    return {
        "runs": len({entry["run_id"] for entry in entries}),
        "spans": len(spans),
        "events": sum(entry["kind"] == _KIND_OF_EVENT for entry in entries),
        "errors": sum(entry.get("status") == common.STATUS_ERROR for entry in entries),
        "api_calls": len(usage),
        "input_tokens": sum(u["input_tokens"] for u in usage.values()),
        "output_tokens": sum(u["output_tokens"] for u in usage.values()),
        "cost_usd": round(sum(u["cost_usd"] for u in usage.values()), 6),
        "start": common.iso(start),
        "end": common.iso(end),
        "duration_ms": None if start is None else common.duration_ms(start, end),
    }
