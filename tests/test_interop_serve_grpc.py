"""``serve`` over OTLP/gRPC: hostile messages get the OTLP spec's status codes while the
server keeps serving; gRPC and HTTP clients at once; grpc imported by ``serve`` only.
(The official gRPC exporter storing every field: test_interop_serve.py.)"""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
import threading

import grpc
import pytest
from grpc_wire import call, frame
from interop_support import OTEL_SQLITE, env, provider, served
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from test_interop_serve import HUGE, one_span_request, stored

OK, INVALID_ARGUMENT, RESOURCE_EXHAUSTED = "0", "3", "8"


@pytest.fixture
def server(tmp_path):
    with served(tmp_path / "served.db", "--max-decompressed-bytes", "100000") as (_, said):
        yield said["OTLP/gRPC"], tmp_path / "served.db"


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


def test_grpc_and_http_clients_at_once_all_land(tmp_path):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    with served(tmp_path / "served.db") as (_, said):
        providers = [
            provider(OTLPSpanExporter(endpoint=said["OTLP/gRPC"], insecure=True)),
            provider(HttpExporter(endpoint=said["OTLP/HTTP"])),
            provider(OTLPSpanExporter(endpoint=said["OTLP/gRPC"], insecure=True,
                                      compression=grpc.Compression.Gzip)),
            provider(HttpExporter(endpoint=said["OTLP/HTTP"])),
        ]

        def send(number: int) -> None:
            tracer = providers[number].get_tracer("concurrent")
            for n in range(25):
                tracer.start_span(f"client {number} span {n}").end()
            providers[number].shutdown()

        senders = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=60)
    names = sorted(r.name for r in stored(tmp_path / "served.db"))
    assert names == sorted(f"client {c} span {n}" for c in range(4) for n in range(25))
