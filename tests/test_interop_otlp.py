"""OTLP encode/decode: span records survive protobuf and OTLP/JSON unchanged."""

from __future__ import annotations

import json

import pytest

from otel_sqlite.errors import OtlpError
from otel_sqlite.otlp import codec
from otel_sqlite.records import EventRecord, LinkRecord, ResourceRecord, ScopeRecord, SpanRecord

TRACE = "0af7651916cd43dd8448eb211c80319c"
RESOURCE = ResourceRecord(
    {"service.name": "suite", "host.name": "ci-7", "pids": [1, 2]}, "https://schema/1", 2
)
SCOPE = ScopeRecord("otel_sqlite.harness", "0.1.0", "https://schema/s", {"lib.flag": True})


def rich_record(**overrides) -> SpanRecord:
    fields = dict(
        trace_id=TRACE,
        span_id="b7ad6b7169203331",
        parent_span_id="00f067aa0ba902b7",
        name="step: log in",
        start_ns=1_700_000_000_123_456_789,
        end_ns=1_700_000_001_987_654_321,
        kind="client",
        status_code="ERROR",
        status_message="assertion failed",
        attributes={
            "text": "héllo",
            "flag": False,
            "count": 2**62,
            "ratio": 0.25,
            "blob": b"\x00\xffbytes",
            "names": ["a", "b"],
            "numbers": [1, -2],
            "doubles": [0.5, 1.5],
            "bools": [True, False],
            "empty": [],
            "nested": {"k": "v", "n": 3, "inner": {"deep": [1, "x"]}},
            "nothing": None,
        },
        events=[
            EventRecord("artifact", 1_700_000_000_500_000_000,
                        {"harness.artifact.path": "out.log", "harness.artifact.size": 12}, 1),
            EventRecord("exception", 1_700_000_000_600_000_000, {"exception.message": "boom"}),
        ],
        links=[LinkRecord("1" * 32, "2" * 16, "vendor=x", {"why": "retry of"}, 1, 3)],
        resource=RESOURCE,
        scope=SCOPE,
        trace_state="rojo=00f067aa0ba902b7",
        trace_flags=1,
        dropped_attributes_count=4,
        dropped_events_count=5,
        dropped_links_count=6,
    )
    fields.update(overrides)
    return SpanRecord(**fields)


def as_plain(record: SpanRecord) -> SpanRecord:
    """Events and links as lists, as decoding returns them."""
    record.events = list(record.events)
    record.links = list(record.links)
    return record


def test_every_field_survives_a_protobuf_round_trip():
    record = rich_record()
    wire = codec.records_to_request([record]).SerializeToString()
    assert codec.request_to_records(codec.parse_protobuf(wire)) == [as_plain(rich_record())]


def test_every_field_survives_an_otlp_json_round_trip():
    text = codec.request_to_json(codec.records_to_request([rich_record()]))
    assert codec.request_to_records(codec.parse_json(text)) == [as_plain(rich_record())]


def test_json_writes_ids_as_hex_enums_as_integers_and_int_values_as_strings():
    document = json.loads(codec.request_to_json(codec.records_to_request([rich_record()])))
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == TRACE
    assert span["spanId"] == "b7ad6b7169203331"
    assert span["parentSpanId"] == "00f067aa0ba902b7"
    assert span["links"][0]["traceId"] == "1" * 32
    assert span["kind"] == 3
    assert span["status"]["code"] == 2
    count = next(a for a in span["attributes"] if a["key"] == "count")
    assert count["value"] == {"intValue": str(2**62)}


def test_json_reader_accepts_enum_names_numbers_for_times_and_snake_case_keys():
    document = {
        "resource_spans": [{"scope_spans": [{"spans": [{
            "trace_id": TRACE, "span_id": "b7ad6b7169203331", "name": "s",
            "kind": "SPAN_KIND_SERVER", "start_time_unix_nano": 10, "endTimeUnixNano": "20",
            "status": {"code": "STATUS_CODE_OK"},
        }]}]}]
    }
    (record,) = codec.request_to_records(codec.request_from_dict(document))
    assert (record.trace_id, record.kind, record.start_ns, record.end_ns, record.status_code) == (
        TRACE, "server", 10, 20, "OK")


def test_spans_are_grouped_by_resource_then_scope():
    other_resource = ResourceRecord({"service.name": "worker"})
    other_scope = ScopeRecord("pytest")
    records = [
        rich_record(span_id=f"{1:016x}"),
        rich_record(span_id=f"{2:016x}", scope=other_scope),
        rich_record(span_id=f"{3:016x}", resource=other_resource),
        rich_record(span_id=f"{4:016x}"),
    ]
    request = codec.records_to_request(records)
    shape = [[len(s.spans) for s in r.scope_spans] for r in request.resource_spans]
    assert shape == [[2, 1], [1]]


def test_an_in_flight_span_travels_with_end_time_zero_and_comes_back_open():
    request = codec.records_to_request([rich_record(end_ns=None)])
    assert request.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano == 0
    assert codec.request_to_records(request)[0].end_ns is None


def test_a_span_with_a_bad_id_is_rejected_and_the_others_kept():
    request = codec.records_to_request([rich_record(), rich_record(span_id=f"{9:016x}")])
    request.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x01\x02"
    rejected: list[str] = []
    records = codec.request_to_records(request, rejected)
    assert [r.span_id for r in records] == [f"{9:016x}"]
    assert len(rejected) == 1 and "span_id" in rejected[0]


def test_an_all_zero_parent_span_id_means_a_root_span():
    request = codec.records_to_request([SpanRecord("ab" * 16, "cd" * 8, "root", 10, 20)])
    request.resource_spans[0].scope_spans[0].spans[0].parent_span_id = b"\x00" * 8
    [record] = codec.request_to_records(request)
    assert record.parent_span_id is None


def test_the_sampled_flag_is_implied_when_a_sender_leaves_trace_flags_empty():
    request = codec.records_to_request([rich_record()])
    request.resource_spans[0].scope_spans[0].spans[0].flags = 0x100  # as the Python exporter
    assert codec.request_to_records(request)[0].trace_flags == 1


@pytest.mark.parametrize(
    "text",
    ['{"resourceSpans": [', '[1, 2]', '{"resourceSpans": [{"scopeSpans": [{"spans": '
     '[{"traceId": "zz", "spanId": "b7ad6b7169203331"}]}]}]}',
     '{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}'],
    ids=["truncated", "not-an-object", "non-hex-id", "bad-time"],
)
def test_malformed_json_raises_otlp_error(text):
    with pytest.raises(OtlpError):
        codec.parse_json(text)


def test_malformed_protobuf_raises_otlp_error():
    with pytest.raises(OtlpError):
        codec.parse_protobuf(b"\x0a\xff\xff\xff\xff\x0f garbage")


def test_partial_success_response_counts_rejected_spans():
    answer = codec.response(["bad id"] * 7)
    assert answer.partial_success.rejected_spans == 7
    assert "and 2 more" in answer.partial_success.error_message
