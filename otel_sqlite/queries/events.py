"""Span events as rows: decisions, triggers, escalations, exceptions, across runs.

An event's type is its ``harness.event.type`` attribute when it has one, else its name: the
harness API's ``event("decision", ...)`` writes the name, and an OTel-instrumented app that
names its events freely can still say which kind each is. ``artifact`` events (how captured
files travel inside OTel) are bookkeeping, left out unless asked for by type.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from otel_sqlite.conventions import ARTIFACT_EVENT, HARNESS_EVENT_TYPE
from otel_sqlite.queries import common
from otel_sqlite.queries.resolve import resolve_run

EVENT_TYPE_SQL = f"coalesce(json_extract(e.attributes, '$.\"{HARNESS_EVENT_TYPE}\"'), e.name)"


def attribute_matches(key: str, value: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """SQL (and its parameters, named with ``prefix``) that is true when span ``s`` or event
    ``e`` carries ``key`` with ``value``. Values compare as text, so ``42`` finds an int 42."""
    names = {name: f"{prefix}_{name}" for name in ("key", "value", "json_key")}
    sql = f"""(
        EXISTS (SELECT 1 FROM attributes a WHERE a.span = s.id AND a.key = :{names['key']}
                AND CAST(a.value AS TEXT) = :{names['value']})
        OR (instr(e.attributes, :{names['json_key']}) > 0
            AND EXISTS (SELECT 1 FROM json_each(e.attributes) j
                        WHERE j.key = :{names['key']}
                        AND CAST(j.value AS TEXT) = :{names['value']}))
    )"""
    return sql, {names["key"]: key, names["value"]: value,
                 names["json_key"]: json.dumps(key, ensure_ascii=False)}


def event_row(
    time_ns: int, trace_id: str, span_id: str, span_name: str, name: str, kind: str,
    attributes: str,
) -> dict[str, Any]:
    return {"time": common.iso(time_ns), "run_id": trace_id, "span_id": span_id,
            "span_name": span_name, "event": name, "type": kind,
            "attributes": json.loads(attributes)}


def list_events(
    db: sqlite3.Connection, event_type: str | None = None, since_ns: int | None = None,
    run: str | None = None, attributes: dict[str, str] | None = None, limit: int = 100,
) -> list[dict[str, Any]]:
    """Events newest first, each: ``time``, ``run_id``, ``span_id``, ``span_name``, ``event``
    (its name), ``type``, ``attributes``. ``attributes`` keeps events that carry each
    ``key: value``, on the event itself or on its span."""
    where = [f"e.name != '{ARTIFACT_EVENT}'" if event_type is None else
             f"{EVENT_TYPE_SQL} = :type"]
    args: dict[str, Any] = {"type": event_type, "limit": limit}
    if since_ns is not None:
        where.append("e.time_ns >= :since")
        args["since"] = since_ns
    if run is not None:
        where.append("s.trace_id = :trace")
        args["trace"] = resolve_run(db, run)["trace_id"]
    for number, (key, value) in enumerate((attributes or {}).items()):
        sql, params = attribute_matches(key, value, f"a{number}")
        where.append(sql)
        args.update(params)
    rows = db.execute(
        f"SELECT e.time_ns, s.trace_id, s.span_id, s.name, e.name, {EVENT_TYPE_SQL}, "
        f"e.attributes FROM events e JOIN spans s ON s.id = e.span "
        f"WHERE {' AND '.join(where)} ORDER BY e.time_ns DESC, e.id DESC LIMIT :limit",
        args,
    )
    return [event_row(*row) for row in rows]
