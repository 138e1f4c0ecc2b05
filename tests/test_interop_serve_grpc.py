"""``serve`` over OTLP/gRPC: the official gRPC exporter stores every field, and hostile
messages get the OTLP spec's status codes while the server keeps serving."""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
from dataclasses import replace

import grpc
import pytest
from grpc_wire import call, frame
from interop_support import OTEL_SQLITE, comparable, env, provider, record_rich_spans, served
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_interop_serve import HUGE, one_span_request, stored

from otel_sqlite.sdk.exporter import span_to_record

OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED = "0", "3", "8"


@pytest.fixture
def server(tmp_path):
    with served(tmp_path / "served.db", "--max-decompressed-bytes", "100000") as (_, said):
        yield said["OTLP/gRPC"], tmp_path / "served.db"


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip])
def test_the_official_grpc_exporter_stores_every_field_the_sdk_saw(tmp_path, compression):
    with served(tmp_path / "served.db") as (_, said):
        memory = InMemorySpanExporter()
        tracer_provider = provider(OTLPSpanExporter(endpoint=said["OTLP/gRPC"], insecure=True,
                                                    compression=compression))
        tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
        record_rich_spans(tracer_provider)
        tracer_provider.shutdown()
        received = {(r.trace_id, r.span_id): r for r in stored(tmp_path / "served.db")}
    seen = [comparable(span_to_record(span)) for span in memory.get_finished_spans()]
    assert len(received) == len(seen) == 4
    for expected in seen:
        expected = replace(expected, trace_flags=expected.trace_flags & 1)  # as over HTTP
        assert received[expected.trace_id, expected.span_id] == expected


def test_spans_with_bad_ids_get_partial_success_over_grpc(server):
    endpoint, db = server
    request = one_span_request()
    bad = request.resource_spans[0].scope_spans[0].spans.add()
    bad.CopyFrom(request.resource_spans[0].scope_spans[0].spans[0])
    bad.trace_id = b"\x01" * 3
    with grpc.insecure_channel(endpoint.removeprefix("http://")) as channel:
        response = TraceServiceStub(channel).Export(request, timeout=10)
    assert isinstance(response, ExportTraceServiceResponse)
    assert response.partial_success.rejected_spans == 1
    assert "trace_id" in response.partial_success.error_message
    assert len(stored(db)) == 1


@pytest.mark.parametrize(
    ("message", "headers", "status"),
    [
        (frame(b"\x0a\xff\xff\xff\xff\x0f garbage"), {}, INVALID_ARGUMENT),
        (frame(one_span_request().SerializeToString()[:-3]), {}, INVALID_ARGUMENT),
        (frame(b"{}"), {"content-type": "application/grpc+json"}, INVALID_ARGUMENT),
        (frame(gzip.compress(b"\x00" * 10_000_000), True), {"grpc-encoding": "gzip"},
         RESOURCE_EXHAUSTED),
        (frame(HUGE.SerializeToString()), {}, RESOURCE_EXHAUSTED),
        # grpcio inflates messages itself and answers INTERNAL (13), which no sender retries.
        (frame(gzip.compress(one_span_request().SerializeToString())[:-8], True),
         {"grpc-encoding": "gzip"}, "13"),
    ],
    ids=["garbage", "truncated-protobuf", "json-content-type", "zip-bomb", "huge-attribute",
         "truncated-gzip"],
)
def test_hostile_grpc_messages_get_their_status_and_the_server_stays_up(
    server, message, headers, status
):
    endpoint, db = server
    assert call(endpoint, message, headers)["grpc-status"] == status
    assert stored(db) == []
    assert call(endpoint, frame(one_span_request().SerializeToString()))["grpc-status"] == OK
    assert len(stored(db)) == 1


def test_http1_on_the_grpc_port_is_refused_and_the_server_stays_up(server):
    endpoint, db = server
    host, port = endpoint.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        try:
            answer = connection.recv(1000)
        except OSError:
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 200")
    assert call(endpoint, frame(one_span_request().SerializeToString()))["grpc-status"] == OK
    assert len(stored(db)) == 1


def imported_modules(*argv: str, db) -> set[str]:  # noqa: ANN001
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True,
                          text=True, timeout=60, env=env(OTEL_SQLITE_DB=str(db)))
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}


EXPORTING = """
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from otel_sqlite.exporter import SQLiteSpanExporter
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(SQLiteSpanExporter()))
provider.get_tracer("t").start_span("s").end()
provider.shutdown()
"""


def test_grpc_is_imported_by_serve_only_not_by_exec_the_exporter_or_readers(tmp_path):
    db = tmp_path / "t.db"
    runs = [
        imported_modules(OTEL_SQLITE, "exec", "--quiet", "--", "true", db=db),
        imported_modules("-c", EXPORTING, db=db),
        imported_modules(OTEL_SQLITE, "runs", db=db),
        imported_modules(OTEL_SQLITE, "serve", "--help", db=db),
    ]
    assert "otel_sqlite.storage.store" in runs[0] and "otel_sqlite.sdk.exporter" in runs[1]
    for modules in runs:
        assert not {name for name in modules if name.split(".")[0] in ("grpc", "h2")}
