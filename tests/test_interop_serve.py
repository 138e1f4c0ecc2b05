"""``serve``: an OTLP/HTTP receiver that any SDK can write into, per the OTLP/HTTP spec."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import subprocess
import urllib.error
import urllib.request
import zlib
from dataclasses import replace

import pytest
from google.rpc import status_pb2
from interop_support import (
    OTEL_SQLITE,
    comparable,
    env,
    provider,
    record_rich_spans,
    served,
    serving,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_sqlite.otlp import codec
from otel_sqlite.queries.records import iter_records
from otel_sqlite.records import SpanRecord
from otel_sqlite.sdk.exporter import span_to_record
from otel_sqlite.storage.schema import connect_readonly

TRACE = "0af7651916cd43dd8448eb211c80319c"


def stored(db) -> list[SpanRecord]:  # noqa: ANN001
    connection = connect_readonly(db)
    try:
        return [record for rows in iter_records(connection) for _, record in rows]
    finally:
        connection.close()


def post(url: str, body: bytes, content_type: str = codec.MEDIA_PROTOBUF,
         method: str = "POST", **headers: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(
        url, data=body if method == "POST" else None, method=method,
        headers={"Content-Type": content_type, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), answer.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["Content-Type"]


def one_span_request(name: str = "posted", span_id: str = "b7ad6b7169203331"):
    return codec.records_to_request([SpanRecord(TRACE, span_id, name, 10, 20)])


HUGE = one_span_request()
HUGE.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="huge").value.string_value = (
    "x" * 200_000
)


@pytest.fixture
def server(tmp_path):
    with serving(tmp_path / "served.db", "--max-body-bytes", "20000",
                 "--max-decompressed-bytes", "100000") as (process, url):
        yield url, tmp_path / "served.db"


def official_exporter(protocol: str, said: dict[str, str], gzip_on: bool):  # noqa: ANN201
    """The official Python OTLP exporter of ``protocol``, pointed at ``serve``."""
    if protocol == "grpc":
        from grpc import Compression as GrpcCompression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=said["OTLP/gRPC"], insecure=True, compression=(
            GrpcCompression.Gzip if gzip_on else GrpcCompression.NoCompression))
    return OTLPSpanExporter(endpoint=said["OTLP/HTTP"], compression=(
        Compression.Gzip if gzip_on else Compression.NoCompression))


@pytest.mark.parametrize("gzip_on", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_the_official_exporters_store_every_field_the_sdk_saw(tmp_path, protocol, gzip_on):
    with served(tmp_path / "served.db") as (_, said):
        memory = InMemorySpanExporter()
        tracer_provider = provider(official_exporter(protocol, said, gzip_on))
        tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
        record_rich_spans(tracer_provider)
        tracer_provider.shutdown()
        received = {(r.trace_id, r.span_id): r for r in stored(tmp_path / "served.db")}
    seen = [comparable(span_to_record(span)) for span in memory.get_finished_spans()]
    assert len(received) == len(seen) == 4
    for expected in seen:
        # The Python exporters send no W3C trace flags (Span.flags bits 0-7 are 0), so only
        # the sampled bit can be known: every exported span was sampled.
        expected = replace(expected, trace_flags=expected.trace_flags & 1)
        assert received[expected.trace_id, expected.span_id] == expected


def test_json_bodies_are_stored_and_answered_in_json(server):
    url, db = server
    body = codec.request_to_json(one_span_request())
    status, answer, content_type = post(url, body.encode(), codec.MEDIA_JSON)
    assert (status, content_type) == (200, codec.MEDIA_JSON)
    assert json.loads(answer) == {}
    assert [(r.trace_id, r.name) for r in stored(db)] == [(TRACE, "posted")]


def test_gzip_protobuf_is_answered_with_an_export_response(server):
    url, db = server
    body = gzip.compress(one_span_request().SerializeToString())
    status, answer, content_type = post(url, body, **{"Content-Encoding": "gzip"})
    assert (status, content_type) == (200, codec.MEDIA_PROTOBUF)
    assert ExportTraceServiceResponse.FromString(answer) == ExportTraceServiceResponse()
    assert len(stored(db)) == 1


def test_spans_with_bad_ids_get_partial_success_and_the_rest_are_stored(server):
    url, db = server
    request = one_span_request()
    bad = request.resource_spans[0].scope_spans[0].spans.add()
    bad.CopyFrom(request.resource_spans[0].scope_spans[0].spans[0])
    bad.span_id = b"\x00" * 8
    status, answer, _ = post(url, request.SerializeToString())
    response = ExportTraceServiceResponse.FromString(answer)
    assert status == 200
    assert response.partial_success.rejected_spans == 1
    assert "span_id" in response.partial_success.error_message
    assert len(stored(db)) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "status"),
    [
        (b"\x0a\xff\xff\xff\xff\x0f garbage", codec.MEDIA_PROTOBUF, {}, 400),
        (b'{"resourceSpans": [', codec.MEDIA_JSON, {}, 400),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}',
         codec.MEDIA_JSON, {}, 400),
        (b"not gzip at all", codec.MEDIA_PROTOBUF, {"Content-Encoding": "gzip"}, 400),
        (gzip.compress(one_span_request().SerializeToString())[:-8], codec.MEDIA_PROTOBUF,
         {"Content-Encoding": "gzip"}, 400),
        (gzip.compress(one_span_request().SerializeToString()) + b"junk", codec.MEDIA_PROTOBUF,
         {"Content-Encoding": "gzip"}, 400),
        (HUGE.SerializeToString(), codec.MEDIA_PROTOBUF, {}, 413),
        (b"{}", "text/plain", {}, 415),
        (b"{}", codec.MEDIA_JSON, {"Content-Encoding": "br"}, 415),
        (b"\x00" * 30000, codec.MEDIA_PROTOBUF, {}, 413),
        (gzip.compress(b"\x00" * 10_000_000), codec.MEDIA_PROTOBUF,
         {"Content-Encoding": "gzip"}, 413),
    ],
    ids=["bad-protobuf", "bad-json", "bad-id", "bad-gzip", "truncated-gzip", "gzip-then-junk",
         "huge-attribute", "text-plain", "brotli", "over-body-limit", "zip-bomb"],
)
def test_bad_requests_get_their_status_and_the_server_stays_up(
    server, body, content_type, headers, status
):
    url, db = server
    code, answer, answer_type = post(url, body, content_type, **headers)
    assert code == status
    if answer_type == codec.MEDIA_PROTOBUF:
        assert status_pb2.Status.FromString(answer).message
    assert stored(db) == []
    assert post(url, one_span_request().SerializeToString())[0] == 200
    assert len(stored(db)) == 1


def test_other_methods_get_405_and_other_paths_404(server):
    url, _ = server
    assert post(url, b"", method="GET")[0] == 405
    assert post(url.replace("/v1/traces", "/v1/metrics"), b"")[0] == 404
    assert post(url.replace("/v1/traces", "/"), b"", method="GET")[0] == 404


def test_sigterm_stops_the_server_cleanly_with_a_summary(tmp_path):
    with serving(tmp_path / "served.db") as (process, url):
        post(url, one_span_request().SerializeToString())
        process.terminate()
        process.wait(timeout=20)
        summary = process.stderr.read()
    assert "stopped: 1 spans stored from 1 requests" in summary


@pytest.mark.parametrize(("protocol", "option"), [("OTLP/HTTP", "--port"),
                                                ("OTLP/gRPC", "--grpc-port")])
def test_a_busy_port_is_one_clean_error(tmp_path, protocol, option):
    with served(tmp_path / "served.db") as (_, said):
        ports = {"--port": "0", "--grpc-port": "0",
                 option: said[protocol].rsplit(":", 1)[1].split("/")[0]}
        result = subprocess.run([OTEL_SQLITE, "serve", *(x for kv in ports.items() for x in kv),
                                 "--db", str(tmp_path / "other.db")], capture_output=True,
                                text=True, env=env(), timeout=20)
    assert result.returncode == 1
    assert result.stderr == (f"Error: cannot listen on 127.0.0.1:{ports[option]} ({protocol}): "
                             "Address already in use\n")


def test_json_takes_the_otlp_mapping_enum_names_and_int64_as_numbers(server):
    url, db = server
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "node-app"}}]},
        "scopeSpans": [{"scope": {"name": "s"}, "spans": [{
            "traceId": TRACE, "spanId": "b7ad6b7169203331", "parentSpanId": "00f067aa0ba902b7",
            "name": "GET /", "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": 1000,
            "endTimeUnixNano": "2000", "status": {"code": "STATUS_CODE_ERROR", "message": "no"},
            "attributes": [{"key": "n", "value": {"intValue": 7}},
                           {"key": "big", "value": {"intValue": "9007199254740993"}}],
        }]}],
    }]}
    status, _, _ = post(url, json.dumps(body).encode(), codec.MEDIA_JSON)
    assert status == 200
    [record] = stored(db)
    assert (record.parent_span_id, record.kind, record.start_ns, record.end_ns) == (
        "00f067aa0ba902b7", "server", 1000, 2000)
    assert (record.status_code, record.status_message) == ("ERROR", "no")
    assert record.attributes == {"n": 7, "big": 9007199254740993}
    assert record.resource.attributes == {"service.name": "node-app"}


def chunks(body: bytes, size: int = 100):
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_chunked_bodies_and_keep_alive_on_one_connection(server):
    url, db = server
    address = url.removeprefix("http://").split("/")[0]
    connection = http.client.HTTPConnection(address, timeout=10)
    for n in range(3):
        body = one_span_request(f"chunked {n}", f"{n + 1:016x}").SerializeToString()
        connection.request("POST", "/v1/traces", chunks(body), encode_chunked=True,
                           headers={"Content-Type": codec.MEDIA_PROTOBUF})
        answer = connection.getresponse()
        assert (answer.status, answer.read()) == (200, b"")
        assert answer.getheader("Connection") != "close"
    connection.close()
    assert sorted(r.name for r in stored(db)) == ["chunked 0", "chunked 1", "chunked 2"]


def test_every_member_of_a_multi_member_gzip_body_is_stored(server):
    url, db = server
    body = b"".join(gzip.compress(one_span_request(f"member {n}", f"{n + 1:016x}")
                                  .SerializeToString()) for n in range(3))
    assert post(url, body, **{"Content-Encoding": "gzip"})[0] == 200
    assert sorted(r.name for r in stored(db)) == ["member 0", "member 1", "member 2"]


def test_deflate_bodies_are_stored(server):
    url, db = server
    body = zlib.compress(one_span_request().SerializeToString())
    assert post(url, body, **{"Content-Encoding": "deflate"})[0] == 200
    assert len(stored(db)) == 1


def test_an_endless_chunked_body_gets_413_once_over_the_limit(server):
    url, db = server
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: "
                           b"application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"1000\r\n" + b"\x00" * 0x1000 + b"\r\n"
        answer = b""
        for _ in range(1000):  # 4 MB, far past the 20 kB limit; the answer comes before
            try:
                connection.sendall(chunk)
            except OSError:
                break
            connection.setblocking(False)
            try:
                answer += connection.recv(1000)
            except BlockingIOError:
                pass
            connection.setblocking(True)
            if answer:
                break
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert stored(db) == []
    assert post(url, one_span_request().SerializeToString())[0] == 200


def test_cors_headers_only_for_the_origins_given(tmp_path):
    origin = "http://localhost:3000"
    with serving(tmp_path / "served.db", "--cors-origin", origin) as (_, url):
        preflight = preflight_answer(url, origin)
        assert preflight.status == 204
        assert preflight.getheader("Access-Control-Allow-Origin") == origin
        assert "POST" in preflight.getheader("Access-Control-Allow-Methods")
        assert preflight.getheader("Access-Control-Allow-Headers") == "content-type"
        refused = preflight_answer(url, "http://evil.example")
        assert refused.getheader("Access-Control-Allow-Origin") is None
        request = urllib.request.Request(
            url, data=one_span_request().SerializeToString(),
            headers={"Content-Type": codec.MEDIA_PROTOBUF, "Origin": origin})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["Access-Control-Allow-Origin"] == origin


def test_without_cors_origin_a_preflight_gets_no_cors_headers(server):
    url, _ = server
    answer = preflight_answer(url, "http://localhost:3000")
    assert answer.status == 204
    assert answer.getheader("Allow") == "POST, OPTIONS"
    assert answer.getheader("Access-Control-Allow-Origin") is None


def preflight_answer(url: str, origin: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(url.removeprefix("http://").split("/")[0],
                                            timeout=10)
    connection.request("OPTIONS", "/v1/traces", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer
