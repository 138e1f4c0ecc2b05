"""What changed between two runs, step by step: the question after "it was green yesterday".

Steps are matched by ``path`` (their names from the top step down); a step fails when its
outcome is failed or error (``queries.outcomes``). A duration change is reported when it is
both at least ``threshold_pct`` percent and ``min_delta_ms`` ms, so that jitter on tiny steps
does not drown the real slow-downs.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from otel_sqlite.queries import common, outcomes
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.steps import build_steps, load_traces

THRESHOLD_PCT = 20.0
MIN_DELTA_MS = 50.0


def _brief(step: dict[str, Any]) -> dict[str, Any]:
    return {key: step[key] for key in ("path", "name", "status", "outcome", "duration_ms",
                                       "message")}


def diff_runs(
    db: sqlite3.Connection, run_a: str, run_b: str,
    threshold_pct: float = THRESHOLD_PCT, min_delta_ms: float = MIN_DELTA_MS,
) -> dict[str, Any]:
    """Run B against run A: ``run_a`` / ``run_b`` (``run_id``, ``name``, ``status``,
    ``outcome``),
    ``newly_failing`` (failed in B, not in A), ``fixed`` (failed in A, not in B), ``added``,
    ``removed`` (steps only in B / only in A), ``changed`` (``path``, ``a_ms``, ``b_ms``,
    ``delta_ms``, ``delta_pct``, slowest change first)."""
    roots = [resolve_run(db, run_a), resolve_run(db, run_b)]
    traces = load_traces(db, {root["trace_id"]: root["span_id"] for root in roots})
    a, b = ({s["path"]: s for s in build_steps(traces[root["trace_id"]])} for root in roots)

    def failed(steps: dict[str, Any], path: str) -> bool:
        return path in steps and steps[path]["outcome"] in outcomes.FAILING

    changed = []
    for path in a.keys() & b.keys():
        a_ms, b_ms = a[path]["duration_ms"], b[path]["duration_ms"]
        if a_ms is None or b_ms is None:
            continue
        delta = b_ms - a_ms
        pct = delta / a_ms * 100 if a_ms else float("inf") if delta else 0.0
        if abs(delta) >= min_delta_ms and abs(pct) >= threshold_pct:
            changed.append({"path": path, "a_ms": a_ms, "b_ms": b_ms,
                            "delta_ms": round(delta, 3),
                            "delta_pct": None if pct == float("inf") else round(pct, 1)})
    changed.sort(key=lambda c: -abs(c["delta_ms"]))
    return {
        **{
            label: {"run_id": root["trace_id"], "name": root["name"],
                    "status": common.status(root["status_code"], root["end_ns"]),
                    "outcome": outcomes.outcome(traces[root["trace_id"]].root)}
            for label, root in zip(("run_a", "run_b"), roots, strict=True)
        },
        "newly_failing": [_brief(b[p]) for p in b if failed(b, p) and p in a and not failed(a, p)],
        "fixed": [_brief(b[p]) for p in b if failed(a, p) and not failed(b, p)],
        "added": [_brief(b[p]) for p in b if p not in a],
        "removed": [_brief(a[p]) for p in a if p not in b],
        "changed": changed,
    }
