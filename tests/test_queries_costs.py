"""Costs: calls, tokens and dollars of api_call spans, grouped."""

from __future__ import annotations

import time

import pytest

from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries.costs import costs
from otel_sqlite.queries.runs import list_runs


def test_costs_are_summed_per_model_dearest_first(example):
    rows = costs(example, by="model")
    assert [(r["model"], r["calls"], r["input_tokens"], r["output_tokens"]) for r in rows] == [
        ("claude-sonnet-4", 2, 2000, 500), ("gpt-4o", 1, 2000, 500)]
    assert rows[0]["cost_usd"] == pytest.approx(0.0135)
    assert rows[1]["cost_usd"] == pytest.approx(0.01)


def test_costs_by_provider_step_run_and_day_name_their_key(example):
    assert [r["provider"] for r in costs(example, by="provider")] == ["anthropic", "openai"]
    assert [(r["step"], r["calls"]) for r in costs(example, by="step")] == [
        ("plan", 2), ("code", 1)]
    (run,) = costs(example, by="run")
    assert run["name"] == "agent-session" and run["cost_usd"] == pytest.approx(0.0235)
    (day,) = costs(example, by="day")
    assert day["day"] == list_runs(example, name="agent-session")[0]["start"][:10]


def test_since_leaves_out_older_calls(example):
    assert costs(example, since_ns=time.time_ns() + 10**12) == []


def test_an_unknown_grouping_is_refused(example):
    with pytest.raises(NotFoundError, match="cannot group costs by 'colour'"):
        costs(example, by="colour")


def test_a_rewritten_call_counts_its_latest_usage_once(tmp_path):
    from otel_sqlite.conventions import GEN_AI_REQUEST_MODEL, HARNESS_COST_USD, HARNESS_KIND
    from otel_sqlite.records import SpanRecord
    from otel_sqlite.storage.schema import connect_readonly
    from otel_sqlite.storage.store import Store

    def call(**attributes):
        return SpanRecord("c" * 32, "1" * 16, "chat", 1, 2,
                          attributes={HARNESS_KIND: "api_call", **attributes})

    store = Store(tmp_path / "t.db")
    store.write([call(**{GEN_AI_REQUEST_MODEL: "m1", HARNESS_COST_USD: 1.0})])
    store.write([call(**{GEN_AI_REQUEST_MODEL: "m2"})])  # re-export: cost gone, model changed
    store.close()
    (row,) = costs(connect_readonly(tmp_path / "t.db"))
    assert (row["model"], row["calls"], row["cost_usd"]) == ("m2", 1, 0.0)
