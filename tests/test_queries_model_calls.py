"""What a model call is, and how each call counts once, whichever spans recorded it.

Spans go through the store as any writer hands them over; the answers come from ``costs`` and
the run summary, the functions behind the CLI and the UI.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from otel_sqlite.queries.costs import costs
from otel_sqlite.queries.model_calls import call_figures
from otel_sqlite.queries.runs import run_summary
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage import schema
from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.store import Store

TRACE = "7" * 32
ROOT = "0" * 16


def span(number: int, parent: str | None = ROOT, start: int = 10, end: int = 20,
         name: str = "chat gpt-4o", events=(), **attributes) -> SpanRecord:
    return SpanRecord(TRACE, f"{number:016x}", name, start, end, parent_span_id=parent,
                      attributes=attributes, events=list(events))


def genai(number: int, input_tokens: int = 1200, output_tokens: int = 300, **more) -> SpanRecord:
    """A call as the current GenAI conventions record it (the issue's own example)."""
    return span(number, **{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                           "gen_ai.provider.name": "openai",
                           "gen_ai.usage.input_tokens": input_tokens,
                           "gen_ai.usage.output_tokens": output_tokens, **more})


def stored(tmp_path: Path, *batches: list[SpanRecord]) -> sqlite3.Connection:
    store = Store(tmp_path / "t.db")
    store.write([SpanRecord(TRACE, ROOT, "session", 0, 100, attributes={"harness.kind": "run"})])
    for batch in batches:
        store.write(batch)
    store.close()
    return connect_readonly(tmp_path / "t.db")


def by_model(db: sqlite3.Connection) -> list[tuple]:
    return [(r["model"], r["calls"], r["input_tokens"], r["output_tokens"]) for r in costs(db)]


def test_a_span_with_genai_usage_counts_in_costs_and_the_run_summary(tmp_path):
    db = stored(tmp_path, [genai(1)])
    assert by_model(db) == [("gpt-4o", 1, 1200, 300)]
    summary = run_summary(db, "latest")
    assert (summary["api_calls"], summary["input_tokens"], summary["output_tokens"]) == (
        1, 1200, 300)


def test_older_genai_names_count_with_the_provider_from_gen_ai_system(tmp_path):
    db = stored(tmp_path, [span(1, **{"gen_ai.system": "OpenAI",
                                      "gen_ai.request.model": "gpt-4o",
                                      "gen_ai.usage.prompt_tokens": 70,
                                      "gen_ai.usage.completion_tokens": 8})])
    assert by_model(db) == [("gpt-4o", 1, 70, 8)]
    assert [r["provider"] for r in costs(db, by="provider")] == ["openai"]


def test_openinference_spans_count_under_their_response_model(tmp_path):
    db = stored(tmp_path, [span(1, name="ChatCompletion", **{
        "openinference.span.kind": "LLM", "llm.system": "openai",
        "llm.model_name": "gpt-4o-2024-08-06", "llm.token_count.prompt": 50,
        "llm.token_count.completion": 5})])
    assert by_model(db) == [("gpt-4o-2024-08-06", 1, 50, 5)]


def test_the_response_model_wins_over_the_request_model(tmp_path):
    db = stored(tmp_path, [genai(1, **{"gen_ai.response.model": "gpt-4o-2024-08-06"})])
    assert by_model(db) == [("gpt-4o-2024-08-06", 1, 1200, 300)]


def test_a_span_with_neither_usage_nor_operation_is_no_model_call(tmp_path):
    db = stored(tmp_path, [span(1, name="GET /", **{"http.request.method": "GET"})])
    assert costs(db) == []


def test_a_harness_api_call_around_an_instrumented_call_counts_once(tmp_path):
    wrapper = span(1, name="api_call", start=5, end=25, **{
        "harness.kind": "api_call", "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300,
        "harness.cost.usd": 0.006})
    inner = genai(2, **{"gen_ai.response.id": "chatcmpl-1"})
    inner.parent_span_id = wrapper.span_id
    db = stored(tmp_path, [inner], [wrapper])  # the inner call ends, and is exported, first
    (row,) = costs(db)
    assert (row["calls"], row["input_tokens"], row["cost_usd"]) == (1, 1200, 0.006)
    assert row["estimated_cost_usd"] is None  # the recorded cost wins: nothing to estimate


def test_a_harness_api_call_recording_nothing_leaves_the_count_to_the_call_it_wraps(tmp_path):
    wrapper = span(1, name="api_call", start=5, end=25, **{"harness.kind": "api_call"})
    inner = genai(2)
    inner.parent_span_id = wrapper.span_id
    db = stored(tmp_path, [wrapper, inner])
    assert by_model(db) == [("gpt-4o", 1, 1200, 300)]


def test_an_agent_span_summing_its_childrens_usage_is_not_counted_again(tmp_path):
    agent = span(1, name="invoke_agent planner", start=5, end=90, **{
        "gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 2400,
        "gen_ai.usage.output_tokens": 600})
    tool = span(2, parent=agent.span_id, name="execute_tool search", start=6, end=40)
    first, second = genai(3), genai(4)
    first.parent_span_id, second.parent_span_id = agent.span_id, tool.span_id
    db = stored(tmp_path, [first], [second, tool], [agent])
    assert by_model(db) == [("gpt-4o", 2, 2400, 600)]


def test_a_streamed_response_counts_once_whatever_its_chunk_events(tmp_path):
    chunks = [EventRecord("gen_ai.content.completion.chunk", 11 + n) for n in range(5)]
    db = stored(tmp_path, [genai(1, events=chunks, **{"gen_ai.is_streaming": True})])
    assert by_model(db) == [("gpt-4o", 1, 1200, 300)]


def test_sibling_spans_of_one_answer_count_once(tmp_path):
    # The Anthropic SDK traces itself; OpenLLMetry's span sits beside it, same response id.
    sdk = genai(1, name="anthropic.messages.create", **{"gen_ai.response.id": "msg_1"})
    llmetry = genai(2, name="anthropic.chat", start=11, end=19, **{
        "gen_ai.response.id": "msg_1"})
    db = stored(tmp_path, [llmetry, sdk])
    assert by_model(db) == [("gpt-4o", 1, 1200, 300)]
    figures = call_figures(db, [1, 2, 3])
    assert sorted(f["counted"] for f in figures.values()) == [False, True]


def test_calls_reusing_a_response_id_at_other_times_are_separate_calls(tmp_path):
    # A local test server answering every request with the same id.
    db = stored(tmp_path, [genai(1, start=10, end=20, **{"gen_ai.response.id": "fixed"}),
                           genai(2, start=30, end=40, **{"gen_ai.response.id": "fixed"})])
    assert by_model(db) == [("gpt-4o", 2, 2400, 600)]


def test_a_model_call_is_not_a_step(tmp_path):
    db = stored(tmp_path, [genai(1), span(2, name="load data", start=1, end=5)])
    summary = run_summary(db, "latest")
    assert summary["steps"] == 1 and summary["api_calls"] == 1


def test_a_database_from_before_model_calls_counts_its_genai_spans_once_migrated(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    before = next(n for n, step in enumerate(schema.MIGRATIONS)
                  if step.__name__.endswith("_model_calls"))
    for number, step in enumerate(schema.MIGRATIONS[:before], start=1):
        step(old, schema.fts5_available())
        old.execute(f"PRAGMA user_version = {number}")
    old.execute("INSERT INTO spans (id, trace_id, span_id, name, start_ns, end_ns) "
                "VALUES (1, ?, ?, 'chat', 1, 2)", (TRACE, "1" * 16))
    old.executemany("INSERT INTO attributes (span, key, value, type) VALUES (1, ?, ?, ?)", [
        ("gen_ai.request.model", "gpt-4o", "string"), ("gen_ai.usage.input_tokens", 9, "int")])
    old.close()
    schema.connect(path).close()
    assert by_model(connect_readonly(path)) == [("gpt-4o", 1, 9, 0)]


@pytest.mark.parametrize("key", ["gen_ai.usage.cache_read.input_tokens",
                                 "gen_ai.usage.cache_read_input_tokens",
                                 "llm.token_count.prompt_details.cache_read"])
def test_cached_input_tokens_are_read_under_each_name(tmp_path, key):
    db = stored(tmp_path, [genai(1, **{key: 200})])
    assert costs(db)[0]["cached_input_tokens"] == 200
