"""Across runs: diff of two runs, flaky steps, timings per step name."""

from __future__ import annotations

from otel_sqlite.queries.diff import diff_runs
from otel_sqlite.queries.flaky import flaky_steps
from otel_sqlite.queries.timings import timings


def test_diff_names_newly_failing_fixed_added_and_slower_steps(example):
    found = diff_runs(example, "latest~3", "latest~2")
    assert [s["path"] for s in found["newly_failing"]] == ["compile"]
    assert [s["path"] for s in found["fixed"]] == ["test"]
    assert [s["path"] for s in found["added"]] == ["lint"]
    assert found["removed"] == []
    assert [c["path"] for c in found["changed"]] == ["setup"]
    assert found["changed"][0]["delta_ms"] > 50


def test_diff_the_other_way_round_swaps_fixed_and_failing(example):
    found = diff_runs(example, "latest~2", "latest~3")
    assert [s["path"] for s in found["newly_failing"]] == ["test"]
    assert [s["path"] for s in found["fixed"]] == ["compile"]
    assert [s["path"] for s in found["removed"]] == ["lint"]


def test_flaky_finds_steps_that_passed_and_failed_or_were_retried(example):
    rows = {r["step"]: r for r in flaky_steps(example, last=5)}
    assert set(rows) == {"compile", "test", "flaky"}
    assert (rows["compile"]["passed"], rows["compile"]["failed"]) == (1, 1)
    assert rows["flaky"]["retried"] == 1 and rows["flaky"]["failed"] == 0


def test_timings_per_step_name_across_runs(example):
    (setup,) = timings(example, name="setup")
    assert setup["count"] == 2
    assert setup["p50_ms"] <= setup["p95_ms"] <= setup["max_ms"]
    assert setup["trend_pct"] > 0  # the second night's setup was slower


def test_timings_last_keeps_the_newest_samples(example):
    (setup,) = timings(example, name="setup", last=1)
    assert setup["count"] == 1 and setup["last_ms"] == setup["max_ms"]


def test_timings_of_a_plain_app_use_the_roots_children(example):
    assert [r["step"] for r in timings(example, name="SELECT orders")] == ["SELECT orders"]
