"""Runs: listing newest first, naming a run, and one run's summary."""

from __future__ import annotations

import pytest

from otel_sqlite.errors import AmbiguousError, NotFoundError
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.runs import count_runs, list_runs, run_summary


def test_runs_are_listed_newest_first_with_counts_and_cost(example):
    found = list_runs(example)
    assert [r["name"] for r in found] == ["GET /orders", "agent-session", "nightly", "nightly"]
    assert {"run_id", "name", "status", "start", "duration_ms", "steps", "failed_steps",
            "cost_usd"} <= found[0].keys()
    assert found[0]["start"].endswith("Z") and "T" in found[0]["start"]
    assert found[1]["cost_usd"] == pytest.approx(0.0235)
    assert (found[3]["steps"], found[3]["failed_steps"]) == (4, 1)


def test_runs_filter_by_name_status_text_and_page(example):
    assert len(list_runs(example, name="nightly")) == 2
    assert [r["name"] for r in list_runs(example, status="ok")] == ["GET /orders",
                                                                    "agent-session"]
    assert [r["name"] for r in list_runs(example, text="gh-450")] == ["agent-session"]
    assert [r["name"] for r in list_runs(example, limit=1, offset=1)] == ["agent-session"]
    assert count_runs(example, status="error") == 2


def test_an_unknown_status_is_refused(example):
    with pytest.raises(NotFoundError, match="not a run status"):
        list_runs(example, status="green")


def test_latest_and_latest_tilde_n_count_back_from_the_newest(example):
    assert resolve_run(example, "latest")["name"] == "GET /orders"
    assert resolve_run(example, "latest~2")["name"] == "nightly"
    with pytest.raises(NotFoundError, match="fewer than 11 runs"):
        resolve_run(example, "latest~10")


def test_a_trace_id_prefix_of_four_digits_names_a_run(example):
    run = list_runs(example)[1]
    assert resolve_run(example, run["run_id"][:4].upper())["trace_id"] == run["run_id"]


def test_short_unknown_and_ambiguous_prefixes_are_clear_errors(example):
    with pytest.raises(NotFoundError, match="at least 4 hex digits"):
        resolve_run(example, "abc")
    unknown = next(p for p in ("0000", "ffff", "1234") if not any(
        r["run_id"].startswith(p) for r in list_runs(example)))
    with pytest.raises(NotFoundError, match=f"no run has a trace id starting with '{unknown}'"):
        resolve_run(example, unknown)


def test_a_prefix_shared_by_two_runs_is_ambiguous(tmp_path):
    from otel_sqlite.records import SpanRecord
    from otel_sqlite.storage.schema import connect_readonly
    from otel_sqlite.storage.store import Store

    store = Store(tmp_path / "t.db")
    store.write([SpanRecord("abcd" + "0" * 28, "1" * 16, "one", 1, 2),
                 SpanRecord("abcd" + "1" * 28, "2" * 16, "two", 3, 4)])
    store.close()
    with pytest.raises(AmbiguousError, match="matches several runs"):
        resolve_run(connect_readonly(tmp_path / "t.db"), "abcd")


def test_summary_names_the_failed_step_with_its_error_and_stderr(example):
    summary = run_summary(example, "latest~3")
    assert summary["status"] == "error" and summary["exit_code"] == 1
    assert summary["steps"] == 4
    (failure,) = summary["failed_steps"]
    assert failure["name"] == "test" and failure["exit_code"] == 3
    assert failure["message"] == "exit code 3"
    assert failure["stderr_tail"] == ["assertion failed: 2 != 3"]
    assert summary["retried_steps"] == ["flaky"]
    assert summary["slowest"][0]["duration_ms"] >= summary["slowest"][-1]["duration_ms"]
    assert summary["attributes"]["suite"] == "smoke"


def test_summary_of_an_agent_run_sums_tokens_and_cost(example):
    summary = run_summary(example, "latest~1")
    assert (summary["api_calls"], summary["input_tokens"], summary["output_tokens"]) == (
        3, 4000, 1000)
    assert summary["cost_usd"] == pytest.approx(0.0235)
    assert summary["status"] == "ok" and summary["exit_code"] == 0


def test_a_plain_apps_trace_is_a_run_whose_steps_are_the_roots_children(example):
    summary = run_summary(example, "latest")
    assert summary["name"] == "GET /orders" and summary["service_name"] == "orders-api"
    assert summary["steps"] == 2 and summary["failed_steps"] == []


def _root_after(tmp_path, *batches):
    from otel_sqlite.records import SpanRecord
    from otel_sqlite.storage.schema import connect_readonly
    from otel_sqlite.storage.store import Store

    store = Store(tmp_path / "roots.db")
    for batch in batches:
        store.write([SpanRecord("e" * 32, span, name, start, start + 10, parent_span_id=parent)
                     for span, name, start, parent in batch])
    store.close()
    return resolve_run(connect_readonly(tmp_path / "roots.db"), "latest")["name"]


ROOT = ("1" * 16, "root", 100, None)
CHILD = ("2" * 16, "child", 110, "1" * 16)


def test_a_root_exported_after_its_child_becomes_the_run(tmp_path):
    assert _root_after(tmp_path, [CHILD], [ROOT]) == "root"


def test_a_parent_and_child_in_one_batch_make_the_parent_the_run(tmp_path):
    assert _root_after(tmp_path, [CHILD, ROOT]) == "root"


def test_a_span_whose_parent_lives_elsewhere_is_the_run(tmp_path):
    outside = ("3" * 16, "ci job step", 100, "f" * 16)  # TRACEPARENT from a CI system
    below = ("4" * 16, "test", 105, "3" * 16)
    assert _root_after(tmp_path, [outside], [below]) == "ci job step"


def test_an_orphan_parent_displaces_its_child_even_with_a_skewed_clock(tmp_path):
    child = ("2" * 16, "child", 90, "5" * 16)
    parent = ("5" * 16, "parent", 100, "f" * 16)  # started "later" on another host's clock
    assert _root_after(tmp_path, [child], [parent]) == "parent"
