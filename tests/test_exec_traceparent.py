"""The W3C traceparent header, parsed and written without the SDK."""

from __future__ import annotations

import pytest

from otel_sqlite.capture import traceparent
from otel_sqlite.capture.traceparent import TraceParent

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_a_valid_header_parses_into_ids_and_flags():
    assert traceparent.parse(VALID) == TraceParent(
        "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 1
    )


def test_the_header_round_trips():
    assert traceparent.parse(VALID).header == VALID


@pytest.mark.parametrize(
    "header",
    [
        "",
        None,
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    ],
)
def test_invalid_headers_are_ignored(header):
    assert traceparent.parse(header) is None


def test_a_later_version_may_append_fields():
    header = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-future"
    assert traceparent.parse(header).flags == 0


def test_new_ids_have_the_right_width_and_differ():
    assert len(traceparent.new_trace_id()) == 32
    assert len(traceparent.new_span_id()) == 16
    assert traceparent.new_span_id() != traceparent.new_span_id()


def test_tracestate_is_read_only_with_a_valid_parent():
    env = {"TRACEPARENT": "junk", "TRACESTATE": "a=b"}
    assert traceparent.from_environment(env) == (None, "")


def test_the_child_environment_drops_a_stale_tracestate():
    parent = traceparent.parse(VALID)
    env = traceparent.child_environment(parent, "", {"TRACESTATE": "old=1", "HOME": "/h"})
    assert env == {"TRACEPARENT": VALID, "HOME": "/h"}
