"""How long each step takes across runs: count, p50, p95, max and the trend.

A step here is found by its name (``timings --name``), over every run. Samples are the
finished steps of the step model (``harness.kind = step``, the last attempt of a retried
one, skipped ones left out) and, for traces without any, the root's direct children.
``trend_pct`` compares the median of the newer half of the samples with the older half: +30
means the step got 30 % slower.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from statistics import median
from typing import Any

from otel_sqlite.conventions import (
    HARNESS_STEP_ATTEMPT,
    HARNESS_TEST_OUTCOME,
    KIND_STEP,
    OUTCOME_SKIPPED,
)

# One sample per step as the step model sees it: never a run's root (a run is not its own
# step), never a skipped step (it did not run), and of a retried step only its last attempt.
_SAMPLES = f"""
SELECT s.name, s.start_ns, s.end_ns - s.start_ns FROM spans s
WHERE s.harness_kind = '{KIND_STEP}' AND s.end_ns IS NOT NULL
  AND (:name IS NULL OR s.name = :name)
  AND NOT EXISTS (SELECT 1 FROM run_roots rr WHERE rr.span = s.id)
  AND NOT EXISTS (SELECT 1 FROM attributes a WHERE a.span = s.id
                  AND a.key = '{HARNESS_TEST_OUTCOME}' AND a.value = '{OUTCOME_SKIPPED}')
  AND NOT EXISTS (
      SELECT 1 FROM attributes mine
      JOIN spans x ON x.trace_id = s.trace_id AND x.parent_span_id IS s.parent_span_id
                  AND x.name = s.name AND x.harness_kind = '{KIND_STEP}'
      JOIN attributes later ON later.span = x.id AND later.key = '{HARNESS_STEP_ATTEMPT}'
      WHERE mine.span = s.id AND mine.key = '{HARNESS_STEP_ATTEMPT}'
        AND later.value > mine.value)
UNION ALL
SELECT c.name, c.start_ns, c.end_ns - c.start_ns
FROM run_roots rr JOIN spans r ON r.id = rr.span
JOIN spans c ON c.trace_id = r.trace_id AND c.parent_span_id = r.span_id
WHERE c.end_ns IS NOT NULL AND (:name IS NULL OR c.name = :name)
  AND NOT EXISTS (SELECT 1 FROM spans x WHERE x.trace_id = rr.trace_id
                  AND x.harness_kind = '{KIND_STEP}' AND x.id != rr.span)
ORDER BY 1, 2 DESC
"""


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def _trend(newest_first: list[float]) -> float | None:
    if len(newest_first) < 2:
        return None
    half = len(newest_first) // 2
    newer, older = median(newest_first[:half]), median(newest_first[-half:])
    return None if older == 0 else round((newer - older) / older * 100, 1)


def timings(
    db: sqlite3.Connection, name: str | None = None, last: int | None = None
) -> list[dict[str, Any]]:
    """Per step name: ``step``, ``count``, ``p50_ms``, ``p95_ms``, ``max_ms``, ``mean_ms``,
    ``last_ms`` (the newest sample), ``trend_pct``; slowest p95 first. ``last`` keeps each
    name's newest ``last`` samples."""
    return summarise(samples(db, name), last)


def samples(db: sqlite3.Connection, name: str | None = None) -> Iterator[tuple[str, int, int]]:
    """``(step name, start_ns, duration_ns)`` of every sample, by name, newest first."""
    return db.execute(_SAMPLES, {"name": name})


def summarise(
    ordered_samples: Iterable[tuple[str, int, int]], last: int | None = None
) -> list[dict[str, Any]]:
    """``timings``' rows from samples in ``samples``' order."""
    found: dict[str, list[float]] = {}
    for step, _, duration in ordered_samples:
        kept = found.setdefault(step, [])
        if last is None or len(kept) < last:
            kept.append(duration / 1e6)
    rows = []
    for step, newest_first in found.items():
        ordered = sorted(newest_first)
        rows.append({
            "step": step,
            "count": len(ordered),
            "p50_ms": round(_percentile(ordered, 0.5), 3),
            "p95_ms": round(_percentile(ordered, 0.95), 3),
            "max_ms": round(ordered[-1], 3),
            "mean_ms": round(sum(ordered) / len(ordered), 3),
            "last_ms": round(newest_first[0], 3),
            "trend_pct": _trend(newest_first),
        })
    rows.sort(key=lambda r: (-r["p95_ms"], r["step"]))
    return rows
