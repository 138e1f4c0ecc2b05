"""One run's span tree, one span's details, an artifact's content by bytes or lines."""

from __future__ import annotations

import pytest

from otel_sqlite.errors import NotFoundError
from otel_sqlite.queries.logs import captured_output
from otel_sqlite.queries.spans import artifact_content, span_details, span_tree


def test_the_tree_lists_spans_depth_first_with_offsets(example):
    tree = span_tree(example, "latest")
    assert tree["run"]["name"] == "GET /orders"
    assert [(s["depth"], s["name"]) for s in tree["spans"]] == [
        (0, "GET /orders"), (1, "SELECT orders"), (1, "render")]
    assert tree["spans"][0]["offset_ms"] == 0 and tree["spans"][2]["offset_ms"] > 0
    assert tree["spans"][0]["children"] == 2


def test_span_details_decode_attributes_and_carry_events_resource_and_artifacts(example):
    tree = span_tree(example, "latest~3")
    command = next(s for s in tree["spans"] if "assertion" in s["name"])
    found = span_details(example, tree["run"]["run_id"], command["span_id"])
    assert found["attributes"]["process.exit.code"] == 3
    assert found["attributes"]["process.command_args"][0] == "/bin/sh"
    assert found["harness_kind"] == "command" and found["status"] == "error"
    assert [e["name"] for e in found["events"]] == ["artifact", "artifact"]
    assert found["resource"]["service_name"] == "ci"
    assert {a["role"] for a in found["artifacts"]} == {"stdout", "stderr"}


def test_an_unknown_span_is_not_found(example):
    with pytest.raises(NotFoundError, match="no span"):
        span_details(example, "0" * 32, "0" * 16)


def test_artifact_content_pages_by_bytes_and_by_lines(example):
    (stderr,) = captured_output(example, "latest~3", stream="stderr")[:1]
    page = artifact_content(example, stderr["artifact_id"], offset=0, length=7)
    assert (page["text"], page["next_offset"]) == ("warning", 7)
    rest = artifact_content(example, stderr["artifact_id"], offset=7)
    assert rest["text"] == ": disk almost full\n" and rest["next_offset"] is None
    lines = artifact_content(example, stderr["artifact_id"], first_line=1, line_count=5)
    assert lines["lines"] == [{"line": 1, "text": "warning: disk almost full"}]
    assert lines["next_line"] is None


def test_captured_output_of_a_span_prefix_is_its_own_files(example):
    first = captured_output(example, "latest~3")[0]
    own = captured_output(example, first["span_id"][:8])
    assert {a["span_id"] for a in own} == {first["span_id"]}
