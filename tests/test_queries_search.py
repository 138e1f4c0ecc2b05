"""Search: FTS5 over output lines and span text, newest first."""

from __future__ import annotations

import sqlite3

import pytest

from otel_sqlite.errors import QuerySyntaxError, SearchUnavailableError
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.search import search
from otel_sqlite.storage.schema import connect_readonly


def test_a_hit_names_the_run_span_stream_and_line(example):
    hits = [h for h in search(example, "assertion") if h["stream"] == "stderr"]
    (hit,) = hits
    assert hit["run_id"] == resolve_run(example, "latest~3")["trace_id"]
    assert hit["span_name"].startswith("sh -c echo 'assertion failed")
    assert (hit["line"], hit["text"]) == (1, "assertion failed: 2 != 3")
    assert hit["path"].endswith("/stderr")


def test_hits_come_newest_first(example):
    stderr_hits = [h for h in search(example, "warning") if h["stream"] == "stderr"]
    runs = [h["run_id"] for h in stderr_hits]
    assert runs == [resolve_run(example, "latest~2")["trace_id"],
                    resolve_run(example, "latest~3")["trace_id"]]


def test_search_within_one_run(example):
    hits = search(example, "warning", run="latest~3")
    assert hits and {h["run_id"] for h in hits} == {resolve_run(example, "latest~3")["trace_id"]}
    assert search(example, "warning", run="latest") == []


def test_span_text_is_searchable_with_stream_span(example):
    hits = search(example, "refactor OR decision")
    assert any(h["stream"] == "span" and h["span_name"] == "chat gpt-4o" for h in hits)


def test_a_malformed_query_is_one_error_that_suggests_quoting(example):
    with pytest.raises(QuerySyntaxError, match='double quotes'):
        search(example, 'disk-full "unclosed')


def test_a_database_without_fts_says_search_is_unavailable(example_db):
    raw = sqlite3.connect(example_db)
    raw.executescript("DROP TRIGGER IF EXISTS text_lines_ai; DROP TRIGGER text_lines_ad; "
                      "DROP TABLE text_fts;")
    raw.close()
    with pytest.raises(SearchUnavailableError, match="FTS5"):
        search(connect_readonly(example_db), "warning")
