"""Prompts and completions of a model call, read as a conversation from each recorded shape."""

from __future__ import annotations

import json
from pathlib import Path

from ui_support import get_json, running

from otel_sqlite.queries.conversation import MAX_MESSAGE_CHARS
from otel_sqlite.queries.search import search
from otel_sqlite.queries.spans import span_details
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.store import Store

TRACE, SPAN = "3" * 32, "4" * 16


def details(db: Path, events=(), **attributes) -> dict:
    store = Store(db)
    store.write([SpanRecord(TRACE, SPAN, "chat gpt-4o", 1, 2, attributes={
        "gen_ai.request.model": "gpt-4o", **attributes}, events=list(events))])
    store.close()
    return span_details(connect_readonly(db), TRACE, SPAN)


def said(found: dict) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in found["conversation"]]


def test_current_semconv_messages_read_as_a_conversation(db_path):
    found = details(db_path, **{
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": "Hi there"}]}]),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": "Hello"}],
              "finish_reason": "stop"}])})
    assert said(found) == [("system", "Be brief."), ("user", "Hi there"), ("assistant", "Hello")]
    assert found["model_call"]["model"] == "gpt-4o"


def test_openinference_flattened_messages_read_in_order(db_path):
    found = details(db_path, **{
        f"llm.input_messages.{n}.message.{field}": value
        for n, (role, text) in enumerate([("system", "Be brief."), ("user", "Hi")] * 6)
        for field, value in (("role", role), ("content", f"{text} {n}"))
    }, **{"llm.output_messages.0.message.role": "assistant",
          "llm.output_messages.0.message.content": "Hello"})
    assert said(found)[:2] == [("system", "Be brief. 0"), ("user", "Hi 1")]
    assert said(found)[10:] == [("system", "Be brief. 10"), ("user", "Hi 11"),
                                ("assistant", "Hello")]


def test_older_span_events_read_as_a_conversation_and_are_searchable(db_path):
    found = details(db_path, events=[
        EventRecord("gen_ai.user.message", 1, {"content": "Where is the okapi?"}),
        EventRecord("gen_ai.choice", 2, {"index": 0, "message": json.dumps(
            {"role": "assistant", "content": "In the forest."})}),
    ])
    assert said(found) == [("user", "Where is the okapi?"), ("assistant", "In the forest.")]
    (hit,) = search(connect_readonly(db_path), "okapi")
    assert hit["span_id"] == SPAN


def test_a_huge_message_is_cut_and_says_so(db_path):
    found = details(db_path, **{"gen_ai.prompt.0.role": "user",
                                "gen_ai.prompt.0.content": "x" * (MAX_MESSAGE_CHARS + 5)})
    (message,) = found["conversation"]
    assert len(message["content"]) == MAX_MESSAGE_CHARS and message["truncated"]


def test_a_span_without_recorded_content_has_no_conversation(db_path):
    found = details(db_path, **{"gen_ai.usage.input_tokens": 5})
    assert found["conversation"] == [] and found["model_call"]["input_tokens"] == 5


def test_the_ui_span_details_carry_the_conversation_and_the_estimate(db_path):
    details(db_path, **{"gen_ai.usage.input_tokens": 1_000_000, "gen_ai.usage.output_tokens": 0,
                        "gen_ai.input.messages": json.dumps([{"role": "user", "content": "Hi"}])})
    with running(db_path) as server:
        _, span = get_json(server, f"/api/spans/{TRACE}/{SPAN}")
    assert said(span) == [("user", "Hi")]
    assert span["model_call"]["estimated_cost_usd"] == 2.5  # gpt-4o input, built-in table
