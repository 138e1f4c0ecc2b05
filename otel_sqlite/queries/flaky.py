"""Flaky steps: across the last N runs of the same name, steps that both passed and failed,
or that needed a retry to pass.

Outcomes as ``queries.outcomes`` reads them: failed and error count as failed; passed,
xfailed and xpassed as passed; a skipped or unfinished step did not run to a verdict and is
left out.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.queries import outcomes
from otel_sqlite.queries.steps import build_steps, load_traces

LAST_RUNS = 20


def flaky_steps(
    db: sqlite3.Connection, last: int = LAST_RUNS, name: str | None = None
) -> list[dict[str, Any]]:
    """Rows ``run_name``, ``step`` (its path), ``runs`` (in how many of the last ``last`` runs
    of that name it ran), ``passed``, ``failed``, ``retried`` (runs where it needed more than
    one attempt), ``last_failed_run`` (run id), most failures first. ``name`` keeps one run
    name."""
    runs = last_runs(db, last, name)
    return tally(list(zip(runs, run_steps(db, runs), strict=True)))


Run = tuple[str, int, str, str]  # run name, start_ns, trace id, root span id


def last_runs(db: sqlite3.Connection, last: int, name: str | None) -> list[Run]:
    """The last ``last`` finished runs of each name, by name, oldest first."""
    return db.execute(
        """
        SELECT name, start_ns, trace_id, span_id FROM (
            SELECT rr.trace_id, rr.start_ns, s.name, s.span_id,
                   row_number() OVER (PARTITION BY s.name ORDER BY rr.start_ns DESC) AS back
            FROM run_roots rr JOIN spans s ON s.id = rr.span
            WHERE s.end_ns IS NOT NULL AND (:name IS NULL OR s.name = :name)
        ) WHERE back <= :last ORDER BY name, back DESC
        """,
        {"name": name, "last": last},
    ).fetchall()


def run_steps(db: sqlite3.Connection, runs: list[Run]) -> list[list[dict]]:
    """The step model of each of ``runs``, in order."""
    traces = load_traces(db, {trace_id: span_id for _, _, trace_id, span_id in runs})
    return [build_steps(traces[trace_id]) for _, _, trace_id, _ in runs]


def tally(runs: list[tuple[Run, list[dict]]]) -> list[dict[str, Any]]:
    """``flaky_steps``' rows from each run with its steps, by name, oldest run first."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for (run_name, _, trace_id, _), steps in runs:
        for step in steps:
            if step["outcome"] in (outcomes.SKIPPED, outcomes.INCOMPLETE):
                continue
            entry = seen.setdefault((run_name, step["path"]), {
                "run_name": run_name, "step": step["path"], "runs": 0, "passed": 0,
                "failed": 0, "retried": 0, "last_failed_run": None,
            })
            entry["runs"] += 1
            if step["outcome"] in outcomes.FAILING:
                entry["failed"] += 1
                entry["last_failed_run"] = trace_id  # runs come oldest to newest
            else:
                entry["passed"] += 1
            entry["retried"] += step["retried"]
    found = [e for e in seen.values() if (e["passed"] and e["failed"]) or e["retried"]]
    found.sort(key=lambda e: (-e["failed"], -e["retried"], e["run_name"], e["step"]))
    return found
