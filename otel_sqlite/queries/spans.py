"""Spans as stored: a run's whole tree, one span's full details, an artifact's content.

These back ``show`` and the web UI. The tree is walked without recursion, so a trace nested
1000 deep renders like any other; spans whose parent is missing from the database are shown
as extra top-level trees after the root's.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries import common, outcomes
from otel_sqlite.queries.conversation import conversation
from otel_sqlite.queries.model_calls import call_figures
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.steps import load_traces

# Without a length, artifact_content returns this many bytes (or this many lines): a page.
PAGE_BYTES = 64 * 1024
PAGE_LINES = 500


def span_tree(
    db: sqlite3.Connection, run: str, max_depth: int | None = None
) -> dict[str, Any]:
    """The spans of ``run`` in tree order: ``{"run": {...}, "spans": [...]}``.

    ``run`` carries ``run_id``, ``span_id``, ``name``, ``status``, ``outcome``, ``start``,
    ``duration_ms``.
    Each span: ``span_id``, ``parent_span_id``, ``name``, ``kind``, ``harness_kind``,
    ``depth`` (root 0), ``start``, ``offset_ms`` (from the run's start), ``duration_ms`` (null
    while in flight), ``status``, ``outcome`` and ``reason`` (``queries.outcomes``),
    ``message``, ``number`` / ``attempt`` (``harness.step.*``, so
    a waterfall can show retries as attempts), ``children`` (count). ``max_depth`` leaves out
    spans deeper than it (their parents' ``children`` still count them).
    """
    root = resolve_run(db, run)
    trace = load_traces(db, {root["trace_id"]: root["span_id"]})[root["trace_id"]]
    origin = root["start_ns"]
    ordered: list[dict[str, Any]] = []
    tops = [trace.root] + [
        s for s in trace.spans
        if s is not trace.root and s["parent_span_id"] not in trace.by_id
    ]
    stack = [(top, 0) for top in reversed(tops)]
    while stack:
        span, depth = stack.pop()
        children = trace.children.get(span["span_id"], [])
        ordered.append({
            "span_id": span["span_id"],
            "parent_span_id": span["parent_span_id"],
            "name": span["name"],
            "kind": span["kind"],
            "harness_kind": span["harness_kind"],
            "depth": depth,
            "start": common.iso(span["start_ns"]),
            "offset_ms": round((span["start_ns"] - origin) / 1e6, 3),
            "duration_ms": common.duration_ms(span["start_ns"], span["end_ns"]),
            "status": common.status(span["status_code"], span["end_ns"]),
            "outcome": outcomes.outcome(span),
            "reason": span["reason"],
            "message": span["status_message"],
            "number": span["number"],
            "attempt": span["attempt"],
            "children": len(children),
        })
        if max_depth is None or depth < max_depth:
            stack.extend((child, depth + 1) for child in reversed(children))
    return {
        "run": {
            "run_id": root["trace_id"],
            "span_id": root["span_id"],
            "name": root["name"],
            "status": common.status(root["status_code"], root["end_ns"]),
            "outcome": outcomes.outcome(trace.root),
            "start": common.iso(root["start_ns"]),
            "duration_ms": common.duration_ms(root["start_ns"], root["end_ns"]),
        },
        "spans": ordered,
    }


def span_details(db: sqlite3.Connection, trace_id: str, span_id: str) -> dict[str, Any]:
    """Everything stored about one span: ids, ``name``, ``kind``, ``harness_kind``,
    ``start`` / ``end`` (ISO) and ``start_ns`` / ``end_ns``, ``duration_ms``, ``status``,
    ``status_code``, ``outcome``, ``message``, ``attributes`` (typed, decoded), ``events``
    (``name``,
    ``time``, ``attributes``), ``links`` (``trace_id``, ``span_id``, ``attributes``),
    ``resource`` (``service_name``, ``attributes``, ``schema_url``), ``scope`` (``name``,
    ``version``) and ``artifacts`` (``artifact_id``, ``role``, ``path``, ``absolute_path``,
    ``size``, ``sha256``, ``media_type``, ``indexed_lines``, ``index_truncated``); for a
    model call also ``model_call`` (its model, tokens and cost) and ``conversation`` (its
    prompts and completions, where the instrumentation recorded them)."""
    row = db.execute(
        """
        SELECT s.id, s.parent_span_id, s.name, s.kind, s.harness_kind, s.start_ns, s.end_ns,
               s.status_code, s.status_message, s.trace_state, s.trace_flags,
               s.dropped_attributes_count, s.dropped_events_count, s.dropped_links_count,
               r.service_name, r.attributes, r.schema_url, sc.name, sc.version
        FROM spans s LEFT JOIN resources r ON r.id = s.resource_id
        LEFT JOIN scopes sc ON sc.id = s.scope_id
        WHERE s.trace_id = ? AND s.span_id = ?
        """,
        (trace_id.lower(), span_id.lower()),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no span {span_id} in trace {trace_id}")
    (span, parent, name, kind, harness_kind, start, end, code, message, trace_state, flags,
     dropped_attributes, dropped_events, dropped_links, service, resource_attributes,
     schema_url, scope_name, scope_version) = row
    attributes = common.attributes_of(db, span)
    found = {
        "trace_id": trace_id.lower(),
        "span_id": span_id.lower(),
        "parent_span_id": parent,
        "name": name,
        "kind": kind,
        "harness_kind": harness_kind,
        "start": common.iso(start),
        "end": common.iso(end),
        "start_ns": start,
        "end_ns": end,
        "duration_ms": common.duration_ms(start, end),
        "status": common.status(code, end),
        "status_code": code,
        "outcome": outcomes.outcome_of_attributes(end, code, attributes),
        "message": message,
        "trace_state": trace_state,
        "trace_flags": flags,
        "dropped": {"attributes": dropped_attributes, "events": dropped_events,
                    "links": dropped_links},
        "attributes": attributes,
        "events": [
            {"name": event_name, "time": common.iso(time_ns), "time_ns": time_ns,
             "attributes": json.loads(attributes)}
            for event_name, time_ns, attributes in db.execute(
                "SELECT name, time_ns, attributes FROM events WHERE span = ? ORDER BY time_ns, id",
                (span,),
            )
        ],
        "links": [
            {"trace_id": link_trace, "span_id": link_span, "trace_state": state,
             "attributes": json.loads(attributes)}
            for link_trace, link_span, state, attributes in db.execute(
                "SELECT trace_id, span_id, trace_state, attributes FROM links WHERE span = ? "
                "ORDER BY id",
                (span,),
            )
        ],
        "resource": {
            "service_name": service,
            "attributes": json.loads(resource_attributes) if resource_attributes else {},
            "schema_url": schema_url or "",
        },
        "scope": {"name": scope_name or "", "version": scope_version or ""},
        "artifacts": common.artifact_rows(db, [span])[span],
    }
    found.update(_model_call_details(db, span, found))
    return found


def _model_call_details(db: sqlite3.Connection, span: int, found: dict[str, Any]) -> dict:
    """``model_call`` (``model_calls.call_figures``, or None) and ``conversation``."""
    return {
        "model_call": call_figures(db, [span]).get(span),
        "conversation": conversation(found["attributes"], found["events"]),
    }


def _artifact(db: sqlite3.Connection, artifact_id: int) -> dict[str, Any]:
    row = db.execute("SELECT span FROM artifacts WHERE id = ?", (artifact_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no artifact {artifact_id}")
    return next(a for a in common.artifact_rows(db, [row[0]])[row[0]]
                if a["artifact_id"] == artifact_id)


def artifact_content(
    db: sqlite3.Connection,
    artifact_id: int,
    offset: int = 0,
    length: int | None = None,
    first_line: int | None = None,
    line_count: int | None = None,
) -> dict[str, Any]:
    """A page of an artifact's file, by byte range (``offset``, ``length``) or, when
    ``first_line`` is given, by line range (1-based, ``line_count`` lines).

    Returns ``artifact_id``, ``role``, ``path``, ``size`` and either ``offset``, ``length``,
    ``text``, ``next_offset`` (null at the end) or ``first_line``, ``lines`` (each ``line``,
    ``text``), ``next_line`` (null at the end). Text is decoded as UTF-8 with replacement,
    so binary files come back readable but lossy. Raises NotFoundError when the artifact or
    its file is gone.
    """
    artifact = _artifact(db, artifact_id)
    page = {key: artifact[key] for key in ("artifact_id", "role", "path", "size")}
    try:
        with open(artifact["absolute_path"], "rb") as f:
            if first_line is not None:
                return page | _lines(f, max(1, first_line), line_count or PAGE_LINES)
            start = max(0, offset)
            f.seek(start)
            data = f.read(length if length is not None else PAGE_BYTES)
            more = bool(f.read(1))
    except OSError as exc:
        raise NotFoundError(
            f"the file of artifact {artifact_id} ({artifact['path']}) cannot be read: "
            f"{exc.strerror or exc}"
        ) from exc
    return page | {
        "offset": start,
        "length": len(data),
        "text": data.decode("utf-8", "replace"),
        "next_offset": start + len(data) if more else None,
    }


def _lines(f: Any, first_line: int, count: int) -> dict[str, Any]:
    lines = []
    for number, raw in enumerate(f, start=1):
        if number < first_line:
            continue
        if len(lines) == count:
            return {"first_line": first_line, "lines": lines, "next_line": number}
        lines.append({"line": number, "text": raw.decode("utf-8", "replace").rstrip("\r\n")})
    return {"first_line": first_line, "lines": lines, "next_line": None}
