"""``push``: stored spans to an OTLP/HTTP endpoint, ids unchanged, retried, resumable."""

from __future__ import annotations

import gzip
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from interop_support import IN_FLIGHT, OTEL_SQLITE, env, rich_database, serving, snapshot
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_sqlite.errors import PushError
from otel_sqlite.otlp import codec
from otel_sqlite.otlp.push import Sender, default_endpoint


def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([OTEL_SQLITE, *args], capture_output=True, text=True,
                          env=env(**extra_env), timeout=60)


def without_in_flight(facts: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {table: [row for row in rows if row[1] != IN_FLIGHT.span_id]
            for table, rows in facts.items()}


class Scripted:
    """A tiny OTLP endpoint that answers each request with the next scripted status."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[str, Message, ExportTraceServiceRequest | None]] = []

    def span_ids(self) -> list[str]:
        return [record.span_id for path, headers, request in self.requests if request
                for record in codec.request_to_records(request)]


@contextmanager
def scripted(statuses: list[int]) -> Iterator[tuple[Scripted, str]]:
    script = Scripted(statuses)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = script.statuses.pop(0) if script.statuses else 200
            accepted = None
            if status == 200:
                accepted = codec.parse_protobuf(gzip.decompress(body))
            script.requests.append((self.path, self.headers, accepted))
            self.send_response(status)
            if status == 503:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", codec.MEDIA_PROTOBUF)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    finally:
        server.shutdown()
        server.server_close()


def test_push_to_serve_reproduces_the_database_with_ids_unchanged(tmp_path):
    source = rich_database(tmp_path / "a.db")
    with serving(tmp_path / "b.db") as (_, url):
        result = run("push", "--db", str(source), "--endpoint", url, "--batch-size", "2")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"pushed 4 spans in 2 requests to {url}")
        assert "1 unfinished not sent" in result.stdout
    assert snapshot(tmp_path / "b.db") == without_in_flight(snapshot(source))


def test_a_second_push_sends_nothing_and_a_push_from_start_changes_nothing(tmp_path):
    source = rich_database(tmp_path / "a.db")
    with serving(tmp_path / "b.db") as (_, url):
        run("push", "--db", str(source), "--endpoint", url)
        once = snapshot(tmp_path / "b.db")
        again = run("push", "--db", str(source), "--endpoint", url)
        assert again.stdout.startswith("pushed 0 spans in 0 requests")
        assert "4 pushed before" in again.stdout
        assert snapshot(tmp_path / "b.db") == once
        run("push", "--db", str(source), "--endpoint", url, "--from-start")
        assert snapshot(tmp_path / "b.db") == once


def test_503_twice_is_retried_then_succeeds(tmp_path):
    source = rich_database(tmp_path / "a.db")
    with scripted([503, 503]) as (script, url):
        result = run("push", "--db", str(source), "--endpoint", url)
    assert result.returncode == 0, result.stderr
    assert "pushed 4 spans in 1 requests" in result.stdout and "2 retries" in result.stdout
    assert len(script.requests) == 3
    assert sorted(script.span_ids()) == sorted(row[1] for row in
                                               without_in_flight(snapshot(source))["spans"])


def test_an_interrupted_push_resumes_after_the_last_accepted_batch(tmp_path):
    source = rich_database(tmp_path / "a.db")
    with scripted([200, 400]) as (script, url):
        failed = run("push", "--db", str(source), "--endpoint", url, "--batch-size", "2")
        assert failed.returncode == 1
        assert failed.stderr.startswith(f"Error: {url} answered 400")
        assert len(script.span_ids()) == 2
        resumed = run("push", "--db", str(source), "--endpoint", url, "--batch-size", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "pushed 2 spans" in resumed.stdout and "2 pushed before" in resumed.stdout
    assert len(set(script.span_ids())) == len(script.span_ids()) == 4


def test_endpoint_and_headers_come_from_the_standard_environment(tmp_path):
    source = rich_database(tmp_path / "a.db")
    with scripted([]) as (script, url):
        base = url.removesuffix("/v1/traces")
        result = run("push", "--db", str(source), "--header", "x-tenant=blue",
                     OTEL_EXPORTER_OTLP_ENDPOINT=base + "/",
                     OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer%20t0k")
    assert result.returncode == 0, result.stderr
    path, headers, _ = script.requests[0]
    assert path == "/v1/traces"
    assert headers["authorization"] == "Bearer t0k" and headers["x-tenant"] == "blue"
    assert headers["Content-Encoding"] == "gzip"


def test_the_signal_specific_endpoint_is_used_as_given():
    assert default_endpoint({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:1/x",
                             "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:2"}) == "http://h:1/x"
    assert default_endpoint({}) == "http://localhost:4318/v1/traces"


def test_an_unreachable_endpoint_is_retried_with_backoff_then_reported():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delays: list[float] = []
    sender = Sender(f"http://127.0.0.1:{port}/v1/traces", sleep=delays.append)
    with pytest.raises(PushError, match="cannot reach .* after 6 attempts"):
        sender.send(ExportTraceServiceRequest())
    assert len(delays) == 5
    assert all(later > earlier for earlier, later in zip(delays, delays[1:], strict=False))


def test_a_bad_endpoint_is_one_clean_error(tmp_path):
    source = rich_database(tmp_path / "a.db")
    result = run("push", "--db", str(source), "--endpoint", "ftp://x")
    assert result.returncode == 1
    assert result.stderr == "Error: endpoint 'ftp://x' is not an http:// or https:// URL\n"
