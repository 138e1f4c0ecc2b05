"""Estimated costs from a price table: apart from recorded costs, marked, unpriced shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_sqlite.cli.main import cli
from otel_sqlite.queries.prices import load
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.store import Store

TRACE = "5" * 32


def call(number: int, model: str, input_tokens: int, output_tokens: int, cached: int = 0,
         cost: float | None = None) -> SpanRecord:
    attributes = {"gen_ai.request.model": model, "gen_ai.usage.input_tokens": input_tokens,
                  "gen_ai.usage.output_tokens": output_tokens,
                  "gen_ai.usage.cache_read.input_tokens": cached}
    if cost is not None:
        attributes["harness.cost.usd"] = cost
    return SpanRecord(TRACE, f"{number:016x}", "chat", 10, 20, parent_span_id="0" * 16,
                      attributes=attributes)


@pytest.fixture
def db(db_path: Path) -> Path:
    store = Store(db_path)
    store.write([
        SpanRecord(TRACE, "0" * 16, "agent", 0, 100, attributes={"harness.kind": "run"}),
        call(1, "house-model-v2", 1_000_000, 100_000, cached=400_000),
        call(2, "house-model-v2", 10, 10, cost=0.5),
        call(3, "mystery-model", 5000, 500),
    ])
    store.close()
    return db_path


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text('taken = "2026-11-30"\n[models."house-model"]\n'
                    'input = 2.0\noutput = 10.0\ncached_input = 0.5\n')
    return path


def cli_json(*args: str) -> object:
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_custom_price_file_estimates_calls_that_recorded_no_cost(db, price_file):
    rows = {r["model"]: r for r in cli_json("costs", "--prices", str(price_file))}
    house = rows["house-model-v2"]
    # 600k uncached input at $2, 400k cached at $0.5, 100k output at $10 per million.
    assert house["estimated_cost_usd"] == pytest.approx(1.2 + 0.2 + 1.0)
    assert house["cost_usd"] == 0.5  # recorded, never mixed with the estimate
    assert house["calls"] == 2 and house["unpriced_calls"] == 0


def test_a_model_missing_from_the_table_is_unpriced_not_free(db, price_file):
    rows = {r["model"]: r for r in cli_json("costs", "--prices", str(price_file))}
    mystery = rows["mystery-model"]
    assert mystery["estimated_cost_usd"] is None and mystery["unpriced_calls"] == 1
    table = CliRunner().invoke(cli, ["costs", "--prices", str(price_file)]).output
    assert "1 call unpriced" in table and "~$2.4000 estimated" in table


def test_the_price_file_can_come_from_the_environment_as_json(db, tmp_path, monkeypatch):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"mystery-model": {"input": 1, "output": 2}}}))
    monkeypatch.setenv("OTEL_SQLITE_PRICES", str(path))
    summary = cli_json("summary", "latest")
    assert summary["estimated_cost_usd"] == pytest.approx(0.005 + 0.001)
    assert summary["cost_usd"] == 0.5 and summary["unpriced_calls"] == 1


def test_markdown_marks_the_estimate_apart_from_the_recorded_cost(db, price_file):
    result = CliRunner().invoke(cli, ["export", "markdown", "--prices", str(price_file)])
    assert "**$0.5000 + ~$2.4000 estimated, 1 call unpriced**" in result.output


def test_a_broken_price_file_is_one_clear_line(db, tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text("[models.x]\ninput = 'cheap'\n")
    result = CliRunner().invoke(cli, ["costs", "--prices", str(path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "model 'x' needs numeric input" in result.output


def test_the_built_in_table_prices_dated_releases_through_their_family():
    table = load()
    assert table.lookup("gpt-4o-2024-08-06").model == "gpt-4o"
    assert table.lookup("gpt-4o-mini-2024-07-18").model == "gpt-4o-mini"
    assert table.lookup("claude-sonnet-4-5-20250929").model == "claude-sonnet-4-5"
    assert table.lookup("openrouter/gpt-4o").model == "gpt-4o"
    assert table.lookup("gpt-4o").taken
    assert table.lookup("no-such-model") is None
