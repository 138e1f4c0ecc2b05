"""Runs: the list (newest first, filtered, paged) and one run's summary.

A run is a trace; its root span (no parent in the database) names it and decides its status:
``error`` if the root is ERROR, else ``ok`` if it ended, else ``incomplete``. ``run_id`` is the
trace id.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.conventions import PROCESS_EXIT_CODE
from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries import common, costs, outcomes
from otel_sqlite.queries.failures import trace_failures
from otel_sqlite.queries.prices import PriceTable
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.steps import build_steps, load_traces, run_cases

SLOWEST = 5
STATUSES = (common.STATUS_OK, common.STATUS_ERROR, common.STATUS_INCOMPLETE)

_LIST = f"""
SELECT s.id, s.trace_id, s.span_id, s.name, s.start_ns, s.end_ns, s.status_code,
       s.status_message, r.service_name
FROM run_roots rr JOIN spans s ON s.id = rr.span
LEFT JOIN resources r ON r.id = s.resource_id
WHERE (:name IS NULL OR s.name = :name)
  AND (:status IS NULL OR {common.STATUS_SQL} = :status)
  AND (:since IS NULL OR rr.start_ns >= :since)
  AND (:until IS NULL OR rr.start_ns < :until)
  AND (:text IS NULL OR s.name LIKE :text ESCAPE '\\'
       OR EXISTS (SELECT 1 FROM attributes a WHERE a.span = s.id AND a.type = 'string'
                  AND a.value LIKE :text ESCAPE '\\'))
"""


def _filters(
    name: str | None, status: str | None, since_ns: int | None, until_ns: int | None,
    text: str | None,
) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise NotFoundError(
            f"'{status}' is not a run status: choose one of {', '.join(STATUSES)}"
        )
    like = None
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return {"name": name, "status": status, "since": since_ns, "until": until_ns, "text": like}


def list_runs(
    db: sqlite3.Connection,
    name: str | None = None,
    status: str | None = None,
    since_ns: int | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
    until_ns: int | None = None,
) -> list[dict[str, Any]]:
    """Runs newest first, each: ``run_id``, ``span_id``, ``name``, ``status``, ``outcome``,
    ``message``, ``start``, ``duration_ms``, ``steps``, ``failed_steps`` (counts: every step,
    the failed or errored cases), ``outcomes`` (``outcomes.tally`` of the cases),
    ``cost_usd`` (recorded), ``estimated_cost_usd`` (from the price table, for calls that
    recorded none), ``service_name``.

    Filters: ``name`` exact; ``status`` ok / error / incomplete; ``since_ns`` / ``until_ns``
    bound the start; ``text`` is a case-insensitive substring of the run's name or of one of
    its root's string attributes. ``limit`` / ``offset`` page through the result.
    """
    rows = db.execute(
        _LIST + "ORDER BY rr.start_ns DESC, rr.rowid DESC LIMIT :limit OFFSET :offset",
        {**_filters(name, status, since_ns, until_ns, text), "limit": limit, "offset": offset},
    ).fetchall()
    roots = {row[1]: row[2] for row in rows}
    traces = load_traces(db, roots)
    totals = costs.trace_totals(db, list(roots))
    found = []
    for _, trace_id, span_id, run_name, start, end, code, message, service in rows:
        steps = build_steps(traces[trace_id])
        counts = outcomes.tally(run_cases(traces[trace_id], steps))
        found.append({
            "run_id": trace_id,
            "span_id": span_id,
            "name": run_name,
            "status": common.status(code, end),
            "outcome": outcomes.outcome(traces[trace_id].root),
            "message": message,
            "start": common.iso(start),
            "duration_ms": common.duration_ms(start, end),
            "steps": len(steps),
            "failed_steps": outcomes.failing(counts),
            "outcomes": counts,
            "cost_usd": totals[trace_id]["cost_usd"],
            "estimated_cost_usd": totals[trace_id]["estimated_cost_usd"],
            "service_name": service,
        })
    return found


def count_runs(
    db: sqlite3.Connection,
    name: str | None = None,
    status: str | None = None,
    since_ns: int | None = None,
    text: str | None = None,
    until_ns: int | None = None,
) -> int:
    """How many runs ``list_runs`` would page through with the same filters."""
    (count,) = db.execute(
        f"SELECT count(*) FROM ({_LIST})", _filters(name, status, since_ns, until_ns, text)
    ).fetchone()
    return count


def run_summary(
    db: sqlite3.Connection, run: str, prices: PriceTable | None = None
) -> dict[str, Any]:
    """One run at a glance: ``run_id``, ``span_id``, ``name``, ``status``, ``outcome``,
    ``message``, ``exit_code``, ``start``, ``end``, ``duration_ms``, ``steps`` (count),
    ``outcomes`` (``outcomes.tally`` of the run's cases), ``failed_steps`` (the failures:
    ``name``, ``path``, ``kind``, ``outcome``, ``message``, ``exit_code``, ``stderr_tail``,
    ``artifacts``), ``skipped_steps`` (skipped and xfailed cases: ``path``, ``outcome``,
    ``reason``), ``retried_steps`` (paths), ``slowest`` (top leaf steps: ``name``, ``path``,
    ``duration_ms``, ``status``, ``outcome``), ``api_calls`` (model calls,
    each counted once), ``input_tokens``, ``output_tokens``, ``cached_input_tokens``,
    ``cost_usd`` (recorded), ``estimated_cost_usd`` and ``unpriced_calls`` (see
    ``model_calls.Totals``; ``prices`` defaults to the built-in table and
    ``$OTEL_SQLITE_PRICES``), ``service_name``, ``attributes`` (the root's, decoded).

    ``exit_code`` is the root's ``process.exit.code`` when it has one (a run made by
    ``exec``), else 1 for an error, 0 for ok and null while incomplete.
    """
    root = resolve_run(db, run)
    trace_id = root["trace_id"]
    trace = load_traces(db, {trace_id: root["span_id"]})[trace_id]
    steps = build_steps(trace)
    attributes = common.attributes_of(db, root["id"])
    state = common.status(root["status_code"], root["end_ns"])
    cases = run_cases(trace, steps)
    exit_code = attributes.get(PROCESS_EXIT_CODE)
    if exit_code is None and state != common.STATUS_INCOMPLETE:
        exit_code = 1 if state == common.STATUS_ERROR else 0
    leaves = [s for s in steps if s["child_steps"] == 0 and s["duration_ms"] is not None]
    leaves.sort(key=lambda s: s["duration_ms"], reverse=True)
    service = db.execute(
        "SELECT service_name FROM resources WHERE id = ?", (root["resource_id"],)
    ).fetchone()
    return {
        "run_id": trace_id,
        "span_id": root["span_id"],
        "name": root["name"],
        "status": state,
        "outcome": outcomes.outcome(trace.root),
        "message": root["status_message"],
        "exit_code": exit_code,
        "start": common.iso(root["start_ns"]),
        "end": common.iso(root["end_ns"]),
        "duration_ms": common.duration_ms(root["start_ns"], root["end_ns"]),
        "steps": len(steps),
        "outcomes": outcomes.tally(cases),
        "failed_steps": [
            {key: failure[key] for key in
             ("name", "path", "kind", "span_id", "outcome", "message", "exit_code",
              "stderr_tail", "artifacts")}
            for failure in trace_failures(db, trace, steps)
        ],
        "skipped_steps": [
            {"path": case["path"], "outcome": case["outcome"], "reason": case["reason"]}
            for case in cases if case["outcome"] in outcomes.NOT_RUN
        ],
        "retried_steps": [s["path"] for s in steps if s["retried"]],
        "slowest": [
            {"name": s["name"], "path": s["path"], "duration_ms": s["duration_ms"],
             "status": s["status"], "outcome": s["outcome"]}
            for s in leaves[:SLOWEST]
        ],
        **costs.trace_totals(db, [trace_id], prices)[trace_id],
        "service_name": service[0] if service else None,
        "attributes": attributes,
    }
