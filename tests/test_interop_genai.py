"""Model calls recorded by the GenAI instrumentations people use count everywhere.

Each official client (``openai``, ``anthropic``) under each instrumentation calls a fake
server on 127.0.0.1 in its own process (instrumentors patch clients for the whole process),
inside a harness run, with content capture turned on the way each package documents. Three
calls: a plain one, a streamed one, and one wrapped in a harness api_call recording the same
usage, which counts once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from genai_fakes import CACHED_TOKENS, INPUT_TOKENS, OUTPUT_TOKENS, fake_model_server

from otel_sqlite.cli.main import cli

APP = Path(__file__).with_name("genai_app.py")
# How each package is told to record prompts and completions (it is theirs to decide).
CONTENT_CAPTURE = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",  # openai-v2
    "TRACELOOP_TRACE_CONTENT": "true",  # OpenLLMetry
}
CASES = {
    "openai-v2": ("gpt-4o", "openai"),
    "openllmetry-openai": ("gpt-4o", "openai"),
    "openinference-openai": ("gpt-4o", "openai"),
    "openllmetry-anthropic": ("claude-sonnet-4-5", "anthropic"),
}


def as_json(db: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--db", str(db), "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module", params=list(CASES))
def recorded(request, tmp_path_factory) -> tuple[str, Path]:
    instrumentation = request.param
    db = tmp_path_factory.mktemp(instrumentation) / "genai.db"
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("OTEL_", "TRACEPARENT"))}
    with fake_model_server() as url:
        done = subprocess.run(
            [sys.executable, str(APP), instrumentation, url, str(db)],
            env={**environment, **CONTENT_CAPTURE}, capture_output=True, text=True, timeout=120,
        )
    assert done.returncode == 0, done.stderr
    return instrumentation, db


def test_costs_by_model_show_the_servers_token_counts(recorded):
    instrumentation, db = recorded
    model, _ = CASES[instrumentation]
    (row,) = as_json(db, "costs", "--by", "model")
    assert (row["model"], row["calls"], row["input_tokens"], row["output_tokens"]) == (
        model, 3, 3 * INPUT_TOKENS, 3 * OUTPUT_TOKENS)


def test_costs_by_provider_name_the_provider_as_the_conventions_do(recorded):
    instrumentation, db = recorded
    (row,) = as_json(db, "costs", "--by", "provider")
    assert (row["provider"], row["calls"]) == (CASES[instrumentation][1], 3)


def test_calls_without_a_recorded_cost_are_estimated_from_the_price_table(recorded):
    instrumentation, db = recorded
    (row,) = as_json(db, "costs")
    assert row["cost_usd"] == 0 and row["unpriced_calls"] == 0
    assert row["estimated_cost_usd"] > 0


def test_the_run_summary_totals_the_calls_once(recorded):
    instrumentation, db = recorded
    summary = as_json(db, "summary", "latest")
    assert summary["name"] == f"genai-{instrumentation}"
    assert (summary["api_calls"], summary["input_tokens"], summary["output_tokens"]) == (
        3, 3 * INPUT_TOKENS, 3 * OUTPUT_TOKENS)
    assert summary["steps"] == 0  # model calls are not steps


def test_prompts_are_found_by_search(recorded):
    _, db = recorded
    hits = as_json(db, "search", "zebra")
    assert hits and all("zebra" in hit["text"].lower() for hit in hits)


def test_cached_input_tokens_are_read_where_the_package_records_them(recorded):
    instrumentation, db = recorded
    (row,) = as_json(db, "costs")
    if instrumentation in ("openllmetry-openai", "openinference-openai"):
        assert row["cached_input_tokens"] == 2 * CACHED_TOKENS  # the harness call has none
