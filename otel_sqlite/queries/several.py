"""Answers over several database files (``--db`` repeated): runs, search, costs, timings
and flaky.

Each file answers with the same function as when it is alone (or its SQL half: the samples
of ``timings``, the last runs of ``flaky``), and the answers are combined here. The other
way, every file on one connection through TEMP views that UNION ALL their tables
(``storage.several``, which ``sql`` uses), runs every query unchanged, but SQLite materialises
a whole view whenever a query joins it (it cannot push a join's constraint into a UNION ALL).
Measured on two 1M-span files (``benchmarks/merge.py``, one run), seconds through the views
against combined here: runs 12.3 / 0.29, costs 106 / 0.17, timings 9.2 / 2.1, flaky
10.5 / 0.95; search through the views cannot use FTS at all (one file alone: runs 0.16,
costs 0.06, timings 0.95, flaky 0.56).
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Sequence
from typing import Any

from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries import costs as cost_queries
from otel_sqlite.queries import flaky as flaky_queries
from otel_sqlite.queries import runs as run_queries
from otel_sqlite.queries import search as search_queries
from otel_sqlite.queries import timings as timing_queries


def list_runs(dbs: Sequence[sqlite3.Connection], limit: int = 50, **filters: Any) -> list[dict]:
    """``runs.list_runs`` over every file: the newest ``limit`` runs of them all."""
    found = [row for db in dbs for row in run_queries.list_runs(db, limit=limit, **filters)]
    found.sort(key=lambda row: row["start"] or "", reverse=True)
    return found[:limit]


def search(
    dbs: Sequence[sqlite3.Connection], query: str, run: str | None = None, limit: int = 50
) -> list[dict]:
    """``search.search`` over every file. Hits stay newest first within a file; files come
    newest first by their newest run. ``run`` is looked for in every file."""
    answers: list[tuple[int, list[dict]]] = []
    missing: list[NotFoundError] = []
    for db in dbs:
        try:
            hits = search_queries.search(db, query, run=run, limit=limit)
        except NotFoundError as exc:
            missing.append(exc)
            continue
        newest = db.execute("SELECT coalesce(max(start_ns), 0) FROM run_roots").fetchone()[0]
        answers.append((newest, hits))
    if missing and len(missing) == len(dbs):
        raise missing[0]
    answers.sort(key=lambda answer: answer[0], reverse=True)
    return [hit for _, hits in answers for hit in hits][:limit]


def costs(dbs: Sequence[sqlite3.Connection], by: str = "model", **options: Any) -> list[dict]:
    """``costs.costs`` over every file: rows of the same group (and run name) added up, every
    number summed (an estimate stays None only where no file estimated), dearest first."""
    groups: dict[tuple, dict[str, Any]] = {}
    for db in dbs:
        for row in cost_queries.costs(db, by=by, **options):
            key = (row[by], row.get("name"))
            total = groups.setdefault(key, dict.fromkeys(row))
            for field, value in row.items():
                total[field] = _added(total[field], value)
    rows = [{field: round(value, 6) if isinstance(value, float) else value
             for field, value in row.items()} for row in groups.values()]
    rows.sort(key=lambda row: (-((row.get("cost_usd") or 0) + (row.get("estimated_cost_usd")
                                                                  or 0)), str(row[by])))
    return rows


def _added(total: Any, value: Any) -> Any:
    numbers = (int, float)
    if isinstance(value, numbers) and not isinstance(value, bool):
        return (total or 0) + value if isinstance(total, numbers) or total is None else total
    return total if total is not None else value


def timings(dbs: Sequence[sqlite3.Connection], name: str | None = None,
            last: int | None = None) -> list[dict]:
    """``timings.timings`` over every file: their samples merged in order, then summarised."""
    merged = heapq.merge(*(timing_queries.samples(db, name) for db in dbs),
                         key=lambda sample: (sample[0], -sample[1]))
    return timing_queries.summarise(merged, last)


def flaky_steps(dbs: Sequence[sqlite3.Connection], last: int = flaky_queries.LAST_RUNS,
                name: str | None = None) -> list[dict]:
    """``flaky.flaky_steps`` over every file: the last ``last`` runs of each name among all
    the files, each run's steps built in its own file."""
    candidates = [(run, db) for db in dbs for run in flaky_queries.last_runs(db, last, name)]
    candidates.sort(key=lambda pair: (pair[0][0], -pair[0][1]))
    kept: list[tuple] = []
    per_name: dict[str, int] = {}
    for run, db in candidates:
        if per_name.get(run[0], 0) < last:
            per_name[run[0]] = per_name.get(run[0], 0) + 1
            kept.append((run, db))
    kept.sort(key=lambda pair: (pair[0][0], pair[0][1]))
    steps = {}
    for db in dbs:
        runs = [run for run, owner in kept if owner is db]
        steps.update(zip(runs, flaky_queries.run_steps(db, runs), strict=True))
    return flaky_queries.tally([(run, steps[run]) for run, _ in kept])
