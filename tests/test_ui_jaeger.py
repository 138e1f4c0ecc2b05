"""Jaeger's query API, served by the UI over a real socket on 127.0.0.1: what Grafana's Jaeger
data source and Jaeger's UI read (``/api/...`` in Jaeger's JSON model, ``/api/v3/...`` as
OTLP/JSON)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from interop_support import IN_FLIGHT, rich_database
from ui_support import get_json, request, running

from otel_sqlite.otlp.codec import request_from_dict, request_to_records
from otel_sqlite.queries.records import trace_records
from otel_sqlite.records import EventRecord, LinkRecord, ResourceRecord, ScopeRecord, SpanRecord
from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.store import Store
from otel_sqlite.ui.jaeger_model import IN_FLIGHT_WARNING, WARNINGS_ATTRIBUTE
from otel_sqlite.ui.server import UIServer

MS = 1_000_000
NOW = time.time_ns() - 60_000 * MS  # a minute ago, so every span ended in the past
CHECKOUT = ResourceRecord({"service.name": "checkout", "host.name": "ci-7", "cores": 8})
PAYMENTS = ResourceRecord({"service.name": "payments"})
NIGHTLY = ResourceRecord({"service.name": "nightly"})
SCOPE = ScopeRecord("shop.instrumentation", "1.2.0")
ORDER, HEALTH, RUN, OLD = "a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16


def _spans() -> list[SpanRecord]:
    """An order (checkout calls payments, which fails), a health check linked to it, a
    nightly run still in flight, and an order three days old."""
    return [
        SpanRecord(ORDER, "a" * 16, "POST /checkout", NOW, NOW + 1500 * MS, kind="server",
                   status_code="OK", resource=CHECKOUT, scope=SCOPE, trace_state="shop=1",
                   attributes={"http.request.method": "POST", "http.response.status_code": 502}),
        SpanRecord(ORDER, "b" * 16, "charge", NOW + 10 * MS, NOW + 210 * MS, "a" * 16,
                   kind="client", status_code="ERROR", status_message="card declined",
                   resource=CHECKOUT, scope=SCOPE,
                   attributes={"retry": True, "amount": 12.5, "big": 2**60, "tags": ["a", "b"]},
                   events=[EventRecord("retry", NOW + 50 * MS, {"attempt": 2})]),
        SpanRecord(ORDER, "c" * 16, "charge card", NOW + 20 * MS, NOW + 200 * MS, "b" * 16,
                   kind="server", status_code="ERROR", resource=PAYMENTS),
        SpanRecord(HEALTH, "d" * 16, "GET /health", NOW + 2000 * MS, NOW + 2005 * MS,
                   kind="server", resource=CHECKOUT,
                   links=[LinkRecord(ORDER, "a" * 16, attributes={"why": "after"})]),
        SpanRecord(RUN, "e" * 16, "nightly", NOW - 10_000 * MS, None, resource=NIGHTLY),
        SpanRecord(OLD, "f" * 16, "POST /checkout", NOW - 3 * 86_400_000 * MS,
                   NOW - 3 * 86_400_000 * MS + 40 * MS, kind="server", resource=CHECKOUT),
    ]


@pytest.fixture(scope="module")
def jaeger_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("jaeger") / "shop.db"
    store = Store(db)
    store.write(_spans())
    store.close()
    return db


@pytest.fixture(scope="module")
def server(jaeger_db: Path) -> Iterator[UIServer]:
    with running(jaeger_db) as serving:
        yield serving


def _get(server: UIServer, path: str, **query: object) -> tuple[int, dict]:
    return get_json(server, path + ("?" + urlencode(query, doseq=True) if query else ""))


def _search(server: UIServer, **query: object) -> list[str]:
    status, body = _get(server, "/api/traces", **query)
    assert status == 200, body
    return [trace["traceID"] for trace in body["data"]]


def _micros(ns: int) -> int:
    return ns // 1000


def _tag(tags: list[dict], key: str) -> dict:
    return next(tag for tag in tags if tag["key"] == key)


def test_services_come_in_jaegers_envelope(server):
    assert _get(server, "/api/services") == (200, {
        "data": ["checkout", "nightly", "payments"], "total": 3, "limit": 0, "offset": 0,
        "errors": None})
    assert _get(server, "/api/v3/services") == (
        200, {"services": ["checkout", "nightly", "payments"]})


def test_operations_of_a_service_with_and_without_their_kinds(server):
    _, names = _get(server, "/api/services/checkout/operations")
    assert names["data"] == ["GET /health", "POST /checkout", "charge"]
    assert names["total"] == 3
    _, servers = _get(server, "/api/operations", service="checkout", spanKind="server")
    assert servers["data"] == [{"name": "GET /health", "spanKind": "server"},
                               {"name": "POST /checkout", "spanKind": "server"}]
    _, v3 = _get(server, "/api/v3/operations", service="payments")
    assert v3 == {"operations": [{"name": "charge card", "spanKind": "server"}]}


def test_a_trace_reads_as_jaegers_own_otlp_translation_writes_it(server):
    status, body = _get(server, f"/api/traces/{ORDER}")
    assert status == 200 and body["errors"] is None
    trace, = body["data"]
    spans = {span["spanID"]: span for span in trace["spans"]}
    root, charge, remote = spans["a" * 16], spans["b" * 16], spans["c" * 16]
    assert (root["operationName"], root["startTime"], root["duration"]) == (
        "POST /checkout", _micros(NOW), 1_500_000)
    assert root["references"] == [] and root["warnings"] is None
    assert root["tags"] == [
        {"key": "otel.scope.name", "type": "string", "value": "shop.instrumentation"},
        {"key": "otel.scope.version", "type": "string", "value": "1.2.0"},
        {"key": "http.request.method", "type": "string", "value": "POST"},
        {"key": "http.response.status_code", "type": "int64", "value": 502},
        {"key": "span.kind", "type": "string", "value": "server"},
        {"key": "otel.status_code", "type": "string", "value": "OK"},
        {"key": "w3c.tracestate", "type": "string", "value": "shop=1"},
    ]
    assert charge["references"] == [
        {"refType": "CHILD_OF", "traceID": ORDER, "spanID": "a" * 16}]
    tags = {tag["key"]: (tag["type"], tag["value"]) for tag in charge["tags"]}
    assert tags["retry"] == ("bool", True) and tags["amount"] == ("float64", 12.5)
    assert tags["big"] == ("int64", str(2**60))  # beyond JavaScript's safe integers
    assert tags["tags"] == ("string", '["a","b"]')
    assert tags["error"] == ("bool", True) and tags["otel.status_code"] == ("string", "ERROR")
    assert tags["otel.status_description"] == ("string", "card declined")
    assert charge["logs"] == [{"timestamp": _micros(NOW + 50 * MS), "fields": [
        {"key": "event", "type": "string", "value": "retry"},
        {"key": "attempt", "type": "int64", "value": 2}]}]
    processes = trace["processes"]
    assert processes[root["processID"]] == {"serviceName": "checkout", "tags": [
        {"key": "host.name", "type": "string", "value": "ci-7"},
        {"key": "cores", "type": "int64", "value": 8}]}
    assert processes[remote["processID"]]["serviceName"] == "payments"
    assert root["processID"] == charge["processID"] != remote["processID"]


def test_a_link_is_a_follows_from_reference(server):
    _, body = _get(server, f"/api/traces/{HEALTH}")
    span, = body["data"][0]["spans"]
    assert span["references"] == [
        {"refType": "FOLLOWS_FROM", "traceID": ORDER, "spanID": "a" * 16}]


def test_a_span_in_flight_has_its_duration_so_far_and_a_warning(server):
    before = time.time_ns()
    _, body = _get(server, f"/api/traces/{RUN}")
    span, = body["data"][0]["spans"]
    assert span["warnings"] == [IN_FLIGHT_WARNING]
    assert span["duration"] >= _micros(before - (NOW - 10_000 * MS))
    _, v3 = _get(server, f"/api/v3/traces/{RUN}")
    otlp_span = v3["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert int(otlp_span["endTimeUnixNano"]) >= before
    warnings = next(a for a in otlp_span["attributes"] if a["key"] == WARNINGS_ATTRIBUTE)
    assert warnings["value"]["arrayValue"]["values"] == [{"stringValue": IN_FLIGHT_WARNING}]


def test_search_needs_a_service_and_finds_its_traces_newest_first(server):
    assert _search(server, service="checkout") == [HEALTH, ORDER]
    assert _search(server, service="payments") == [ORDER]
    assert _search(server, service="nobody") == []
    status, body = _get(server, "/api/traces")
    assert (status, body["errors"]) == (
        400, [{"code": 400, "msg": "parameter 'service' is required"}])
    assert body["data"] is None


def test_search_by_operation_tags_and_duration(server):
    assert _search(server, service="checkout", operation="charge") == [ORDER]
    assert _search(server, service="checkout", tags='{"error": "true"}') == [ORDER]
    assert _search(server, service="checkout", tags='{"http.response.status_code": "502"}',
                   ) == [ORDER]
    assert _search(server, service="checkout", tag=["span.kind:client", "retry:true"]) == [ORDER]
    assert _search(server, service="checkout", tags='{"host.name": "ci-7"}') == [HEALTH, ORDER]
    assert _search(server, service="checkout", tags='{"event": "retry", "attempt": "2"}') == [
        ORDER]
    assert _search(server, service="checkout", tags='{"error": "false"}') == []
    assert _search(server, service="checkout", minDuration="1.2s") == [ORDER]
    assert _search(server, service="checkout", maxDuration="100ms") == [HEALTH]
    assert _search(server, service="checkout", minDuration="100ms", maxDuration="1s") == [
        ORDER]


def test_search_by_time_range_limit_and_lookback(server):
    assert _search(server, service="checkout", limit=1) == [HEALTH]
    assert _search(server, service="checkout", start=_micros(NOW - 4 * 86_400_000 * MS),
                   end=_micros(NOW - 86_400_000 * MS)) == [OLD]
    assert _search(server, service="checkout", start=_micros(NOW - 4 * 86_400_000 * MS)) == [
        HEALTH, ORDER, OLD]
    assert _search(server, service="checkout", lookback="7d") == [HEALTH, ORDER, OLD]
    assert OLD not in _search(server, service="checkout", lookback="2h")
    assert _search(server, service="checkout", traceID=[OLD, "00" * 16]) == [OLD]


def test_dependencies_count_calls_between_services(server):
    status, body = _get(server, "/api/dependencies", endTs=(NOW + 60_000 * MS) // MS,
                        lookback=3_600_000)
    assert status == 200
    assert body["data"] == [{"parent": "checkout", "child": "payments", "callCount": 1}]
    _, before = _get(server, "/api/dependencies", endTs=(NOW - MS) // MS, lookback=60_000)
    assert before["data"] == []


@pytest.mark.parametrize(("query", "message"), [
    ({"service": "checkout", "limit": "lots"}, "unable to parse param 'limit'"),
    ({"service": "checkout", "start": "yesterday"}, "unable to parse param 'start'"),
    ({"service": "checkout", "minDuration": "fast"}, "unable to parse param 'minDuration'"),
    ({"service": "checkout", "minDuration": "2s", "maxDuration": "1s"},
     "'maxDuration' should be greater than 'minDuration'"),
    ({"service": "checkout", "tags": "{error: true"}, "malformed 'tags' parameter"),
    ({"service": "checkout", "tags": '{"error": true}'}, "malformed 'tags' parameter"),
    ({"service": "checkout", "tag": "error"}, "malformed 'tag' parameter"),
    ({"service": "checkout", "lookback": "forever"}, "unable to parse param 'lookback'"),
    ({"service": "checkout", "traceID": "not-an-id"}, "malformed parameter trace ID"),
])
def test_bad_search_parameters_are_400_in_jaegers_error_shape(server, query, message):
    status, body = _get(server, "/api/traces", **query)
    assert status == 400
    assert body["data"] is None and body["total"] == 0
    error, = body["errors"]
    assert error["code"] == 400 and message in error["msg"]


@pytest.mark.parametrize(("path", "status", "message"), [
    (f"/api/traces/{'9' * 32}", 404, "trace not found"),
    ("/api/traces/xyz", 400, "malformed parameter trace ID"),
    ("/api/operations?spanKind=server", 400, "parameter 'service' is required"),
    ("/api/operations?service=checkout&spanKind=sideways", 400, "unsupported span kind"),
    ("/api/dependencies?endTs=soon", 400, "unable to parse param 'endTs'"),
])
def test_other_bad_requests_answer_in_the_same_shape(server, path, status, message):
    got, body = get_json(server, path)
    assert got == status
    assert message in body["errors"][0]["msg"] and body["errors"][0]["code"] == status


def _v3_window(**query: object) -> dict[str, object]:
    return {"query.start_time_min": "2000-01-01T00:00:00Z",
            "query.start_time_max": "2100-01-01T00:00:00.000000001Z", **query}


def test_v3_search_finds_traces_as_otlp_json(server):
    status, body = _get(server, "/api/v3/traces", **_v3_window(**{
        "query.service_name": "checkout", "query.attributes": '{"error": "true"}'}))
    assert status == 200
    records = request_to_records(request_from_dict(body["result"]))
    assert {record.trace_id for record in records} == {ORDER}
    status, body = _get(server, "/api/v3/traces", **_v3_window(**{
        "query.serviceName": "checkout", "query.durationMax": "50ms", "query.searchDepth": 5}))
    assert {r.trace_id for r in request_to_records(request_from_dict(body["result"]))} == {
        HEALTH, OLD}


def test_v3_trace_parses_back_with_opentelemetry_proto_to_the_stored_spans(server, jaeger_db):
    status, body = _get(server, f"/api/v3/traces/{ORDER}")
    assert status == 200
    parsed = sorted(request_to_records(request_from_dict(body["result"])),
                    key=lambda record: record.span_id)
    stored = trace_records(connect_readonly(jaeger_db), [ORDER])[ORDER]
    assert parsed == sorted(stored, key=lambda record: record.span_id)
    assert [(r.name, r.parent_span_id, r.kind, r.status_code) for r in parsed] == [
        ("POST /checkout", None, "server", "OK"), ("charge", "a" * 16, "client", "ERROR"),
        ("charge card", "b" * 16, "server", "ERROR")]
    assert parsed[1].attributes["big"] == 2**60 and parsed[1].events[0].attributes == {
        "attempt": 2}


def test_v3_trace_summaries_count_spans_errors_and_services(server):
    status, body = _get(server, "/api/v3/trace-summaries", **_v3_window(**{
        "query.serviceName": "checkout", "query.searchDepth": 2}))
    assert status == 200
    assert body["summaries"] == [
        {"traceId": HEALTH, "rootServiceName": "checkout", "rootOperationName": "GET /health",
         "minStartTimeUnixNano": str(NOW + 2000 * MS),
         "maxEndTimeUnixNano": str(NOW + 2005 * MS), "spanCount": 1,
         "services": [{"name": "checkout", "spanCount": 1}]},
        {"traceId": ORDER, "rootServiceName": "checkout", "rootOperationName": "POST /checkout",
         "minStartTimeUnixNano": str(NOW), "maxEndTimeUnixNano": str(NOW + 1500 * MS),
         "spanCount": 3, "errorSpanCount": 2,
         "services": [{"name": "checkout", "spanCount": 2, "errorSpanCount": 1},
                      {"name": "payments", "spanCount": 1, "errorSpanCount": 1}]},
    ]


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/api/v3/traces?query.service_name=checkout", 400, "are required"),
    ("/api/v3/trace-summaries?query.service_name=checkout", 400, "are required"),
    ("/api/v3/traces?" + urlencode(_v3_window(**{"query.start_time_min": "monday"})), 400,
     "malformed parameter query.start_time_min"),
    ("/api/v3/traces?" + urlencode(_v3_window(**{"query.attributes": "[1]"})), 400,
     "malformed 'query.attributes' parameter"),
    ("/api/v3/traces?" + urlencode(_v3_window(**{"query.service_name": "nobody"})), 404,
     "No traces found"),
    (f"/api/v3/traces/{'9' * 32}", 404, "No traces found"),
    ("/api/v3/traces/xyz", 400, "malformed parameter trace ID"),
])
def test_v3_errors_come_in_the_grpc_gateway_shape(server, path, status, message):
    got, body = get_json(server, path)
    assert got == status
    assert body["error"]["httpCode"] == status and message in body["error"]["message"]


def test_v3_trace_ids_may_be_base64_and_times_rfc3339(server):
    encoded = quote(base64.b64encode(bytes.fromhex(ORDER)).decode(), safe="")
    query = urlencode({"start_time": "2000-01-01T00:00:00+01:00"})
    status, body = get_json(server, f"/api/v3/traces/{encoded}?{query}")
    assert status == 200
    assert body["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == ORDER


def test_a_ten_thousand_span_trace_comes_back_whole(tmp_path):
    db, trace = tmp_path / "big.db", "0b" * 16
    root = SpanRecord(trace, f"{1:016x}", "suite", NOW, NOW + 10_000 * MS, resource=CHECKOUT)
    spans = [root] + [
        SpanRecord(trace, f"{n:016x}", f"step {n}", NOW + n * MS, NOW + (n + 1) * MS,
                   f"{1 + (n - 2) // 100 * 100:016x}" if n > 101 else root.span_id,
                   resource=CHECKOUT, attributes={"n": n})
        for n in range(2, 10_001)
    ]
    store = Store(db)
    store.write(spans)
    store.close()
    with running(db) as server:
        status, body = get_json(server, f"/api/traces/{trace}")
        assert status == 200
        got = body["data"][0]["spans"]
        assert len(got) == 10_000 and len(body["data"][0]["processes"]) == 1
        parents = {s["spanID"]: s["references"][0]["spanID"] for s in got if s["references"]}
        assert parents == {s.span_id: s.parent_span_id for s in spans[1:]}
        _, v3 = get_json(server, f"/api/v3/traces/{trace}")
        assert len(request_to_records(request_from_dict(v3["result"]))) == 10_000


def test_the_uis_own_routes_answer_beside_jaegers(server):
    status, body = get_json(server, "/api/runs")
    assert status == 200 and {run["name"] for run in body["runs"]} >= {"nightly", "GET /health"}
    status, body = get_json(server, "/api/nothing-here")
    assert status == 404 and "no API route" in body["error"]


def test_jaegers_answers_are_json(server):
    status, headers, body = request(server.url + "api/services")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["data"]


def test_operations_written_while_serving_appear(tmp_path):
    db = tmp_path / "live.db"
    store = Store(db)
    store.write([SpanRecord("1" * 32, "1" * 16, "build", NOW, NOW + MS, resource=CHECKOUT)])
    with running(db) as server:
        assert _get(server, "/api/services/checkout/operations")[1]["data"] == ["build"]
        store.write([SpanRecord("2" * 32, "2" * 16, "deploy", NOW, NOW + MS, kind="client",
                                resource=CHECKOUT)])
        assert _get(server, "/api/services/checkout/operations")[1]["data"] == [
            "build", "deploy"]
        assert _get(server, "/api/operations", service="checkout", spanKind="client")[1][
            "data"] == [{"name": "deploy", "spanKind": "client"}]
    store.close()


def test_a_summary_counts_spans_whose_parent_was_never_stored(tmp_path):
    db = tmp_path / "orphans.db"
    store = Store(db)
    store.write([
        SpanRecord("3" * 32, "3" * 16, "suite", NOW, NOW + 10 * MS, resource=CHECKOUT),
        SpanRecord("3" * 32, "4" * 16, "lost step", NOW + MS, NOW + 2 * MS, "5" * 16,
                   resource=CHECKOUT),
    ])
    store.close()
    with running(db) as server:
        _, body = _get(server, "/api/v3/trace-summaries", **_v3_window())
    summary, = body["summaries"]
    assert (summary["spanCount"], summary["orphanSpanCount"], summary["rootOperationName"]) == (
        2, 1, "suite")


def test_a_span_whose_parent_is_not_stored_says_so_as_jaeger_does(tmp_path):
    db = tmp_path / "orphan.db"
    store = Store(db)
    store.write([SpanRecord("6" * 32, "6" * 16, "exec make", NOW, NOW + MS, "7" * 16,
                            resource=CHECKOUT)])
    store.close()
    with running(db) as server:
        _, body = _get(server, f"/api/traces/{'6' * 32}")
    span, = body["data"][0]["spans"]
    assert span["references"][0]["spanID"] == "7" * 16
    assert span["warnings"] == [
        f"invalid parent span IDs={'7' * 16}; skipping clock skew adjustment"]


def test_jaegers_routes_keep_the_uis_loopback_guard(server):
    status, _, body = request(server.url + "api/services",
                              headers={"Host": "host.docker.internal:8787"})
    assert status == 403 and b"Host" in body


def test_spans_the_sdk_exported_come_back_through_the_ui_command(tmp_path):
    """End to end: the OTel SDK writes through our exporter, ``otel-sqlite ui`` serves the file,
    and both APIs give back every stored trace (the killed command with a warning)."""
    db = rich_database(tmp_path / "rich.db")
    reader = connect_readonly(db)
    traces = [trace for trace, in reader.execute("SELECT DISTINCT trace_id FROM spans")]
    stored = trace_records(reader, traces)
    reader.close()
    command = shutil.which("otel-sqlite", path=str(Path(sys.executable).parent))
    process = subprocess.Popen([command, "ui", "--db", str(db), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split(" at ")[1].split()[0].rstrip("/")

        def fetch(path: str) -> dict:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                return json.load(response)

        assert fetch("/api/services")["data"] == ["OTLPResourceNoServiceName", "interop-test"]
        for trace in traces:
            jaeger, = fetch(f"/api/traces/{trace}")["data"]
            assert sorted(s["spanID"] for s in jaeger["spans"]) == sorted(
                r.span_id for r in stored[trace])
            parsed = request_to_records(request_from_dict(fetch(f"/api/v3/traces/{trace}")[
                "result"]))
            if trace == IN_FLIGHT.trace_id:
                assert jaeger["spans"][0]["warnings"] == [IN_FLIGHT_WARNING]
                continue
            assert sorted(parsed, key=lambda r: r.span_id) == sorted(
                stored[trace], key=lambda r: r.span_id)
    finally:
        process.terminate()
        process.wait(10)
