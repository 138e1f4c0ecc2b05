"""``serve`` under abuse: killed mid-ingest with ``--ack committed`` it keeps every request it
answered 200, and with the default (``queued``) every request it keeps is whole; bodies
that lie about their length or are not UTF-8 get an error and the server keeps answering; a
database that cannot take a batch now, or more than the pending budget, is a retryable answer
with a delay (429/503 with Retry-After, gRPC UNAVAILABLE with RetryInfo), never a drop."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from reliability_support import SOAK, cli_path, integrity, read_sql

from otel_sqlite.otlp import codec, write_queue
from otel_sqlite.otlp.ingest import DEFAULT_LIMITS, Ack, Limits
from otel_sqlite.otlp.receivers import Receivers
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage import store as store_module
from otel_sqlite.storage.store import Store

KILLS = 30 if SOAK else 3
SPANS_PER_REQUEST = 50


def _serve(db: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """``serve`` (HTTP only unless ``args`` say otherwise); the process and what it printed."""
    process = subprocess.Popen(
        [cli_path(), "serve", "--port", "0", *(args or ["--no-grpc"]), "--db", str(db)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    said = ""
    while (line := process.stderr.readline()) and not line.startswith("Ctrl-C"):
        said += line
    match = re.search(r"OTLP/HTTP\s+(http://\S+)", said)
    assert match, said
    process.said = said
    return process, match.group(1)


def _request(batch: int) -> bytes:
    trace = f"{batch + 1:032x}"
    records = [
        SpanRecord(trace, f"{n + 1:016x}", f"posted {batch}-{n}", 10, 20, attributes={"n": n})
        for n in range(SPANS_PER_REQUEST)
    ]
    return codec.records_to_request(records).SerializeToString()


def _post(url: str, body: bytes, content_type: str = codec.MEDIA_PROTOBUF) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _client(url: str, first: int, answered: list[int], stop: threading.Event) -> None:
    """Posts batch after batch until the server dies; ``answered`` gets each batch given 200."""
    batch = first
    while not stop.is_set():
        try:
            if _post(url, _request(batch)) == 200:
                answered.append(batch)
        except OSError:
            return  # the server is gone
        batch += 1


def _killed_mid_ingest(db: Path, *args: str) -> list[int]:
    """``serve`` killed KILLS times while two clients post to it; the batches it answered 200.
    Whatever it stored must be whole requests in a sound file."""
    chance = random.Random(11)
    answered: list[int] = []
    for kill in range(KILLS):
        server, url = _serve(db, "--no-grpc", *args)
        stop = threading.Event()
        clients = [
            threading.Thread(target=_client, args=(url, (kill * 2 + n) * 100_000, answered, stop))
            for n in range(2)
        ]
        for client in clients:
            client.start()
        time.sleep(chance.uniform(0.5, 1.5))
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        stop.set()
        for client in clients:
            client.join(timeout=60)

        assert integrity(db) == "ok"
        assert read_sql(
            db, "SELECT count(*) FROM (SELECT trace_id FROM spans GROUP BY trace_id "
            "HAVING count(*) != ?)", (SPANS_PER_REQUEST,),
        ) == [(0,)], "a request was stored in part"
    assert len(answered) > KILLS
    return answered


def _whole_requests(db: Path) -> set[str]:
    return {trace for (trace,) in read_sql(
        db, "SELECT trace_id FROM spans GROUP BY trace_id HAVING count(*) = ?",
        (SPANS_PER_REQUEST,))}


def test_serve_acking_commits_killed_mid_ingest_keeps_every_request_it_answered(
    tmp_path: Path,
) -> None:
    db = tmp_path / "served.db"
    answered = _killed_mid_ingest(db, "--ack", "committed")
    assert {f"{batch + 1:032x}" for batch in answered} <= _whole_requests(db)


def test_serve_killed_mid_ingest_leaves_whole_requests_and_serves_again(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    answered = _killed_mid_ingest(db)
    # Acknowledged once queued: the last moments' requests may be gone, not the rest.
    assert len(_whole_requests(db)) >= len(answered) // 2

    server, url = _serve(db)
    try:
        assert _post(url, _request(999_999)) == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    last = f"{1_000_000:032x}"
    assert read_sql(db, "SELECT count(*) FROM spans WHERE trace_id = ?", (last,)) == [
        (SPANS_PER_REQUEST,)
    ]


def _grpc_client(endpoint: str, first: int, answered: list[int]) -> None:
    """``_client`` over gRPC, until the server is gone."""
    with grpc.insecure_channel(endpoint) as channel:
        export = TraceServiceStub(channel).Export
        batch = first
        while True:
            try:
                export(ExportTraceServiceRequest.FromString(_request(batch)), timeout=30)
            except grpc.RpcError:
                return
            answered.append(batch)
            batch += 1


def test_sigterm_under_load_on_both_protocols_keeps_every_acknowledged_request(
    tmp_path: Path,
) -> None:
    db = tmp_path / "served.db"
    server, url = _serve(db, "--grpc-port", "0")
    endpoint = re.search(r"OTLP/gRPC\s+http://(\S+)", server.said)[1]
    answered: list[int] = []
    clients = [threading.Thread(target=_client, args=(url, 0, answered, threading.Event())),
               threading.Thread(target=_grpc_client, args=(endpoint, 100_000, answered))]
    for client in clients:
        client.start()
    # Until each protocol has had a few requests answered.
    _wait_for(lambda: min(sum(b // 100_000 == p for b in answered) for p in (0, 1)) >= 3)
    server.send_signal(signal.SIGTERM)
    _, summary = server.communicate(timeout=60)
    for client in clients:
        client.join(timeout=60)
    assert server.returncode == 0, summary
    stored = {trace for (trace,) in read_sql(
        db, "SELECT trace_id FROM spans GROUP BY trace_id HAVING count(*) = ?",
        (SPANS_PER_REQUEST,))}
    assert {f"{batch + 1:032x}" for batch in answered} <= stored
    assert f"stopped: {len(stored) * SPANS_PER_REQUEST} spans stored" in summary
    assert "LOST" not in summary


def _raw(url: str, head: bytes, body: bytes, close: bool = True) -> bytes:
    """Send a hand-made request on a raw socket; returns whatever the server answers."""
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + body)
        if close:
            connection.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
        return answer


def _head(length: int) -> bytes:
    return (
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: {codec.MEDIA_PROTOBUF}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_bodies_that_lie_about_their_length_do_not_stop_the_server(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    server, url = _serve(db)
    try:
        body = _request(1)
        short = _raw(url, _head(len(body) + 1000), body)  # promises more than it sends
        assert not short.startswith(b"HTTP/1.1 200"), short[:200]
        long = _raw(url, _head(10), body)  # sends more than it promised
        assert long.startswith(b"HTTP/1.1 400"), long[:200]
        assert _post(url, _request(2)) == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0
    assert read_sql(db, "SELECT DISTINCT trace_id FROM spans") == [(f"{3:032x}",)]


def test_bodies_with_invalid_utf8_are_refused_whole_and_the_server_stays_up(
    tmp_path: Path,
) -> None:
    db = tmp_path / "served.db"
    server, url = _serve(db)
    try:
        protobuf = _request(1).replace(b"posted 1-0", b"posted \xff\xfe0")
        assert _post(url, protobuf) == 400
        record = SpanRecord(f"{5:032x}", f"{5:016x}", "MARK", 10, 20)
        json_body = codec.request_to_json(codec.records_to_request([record])).encode()
        assert _post(url, json_body.replace(b"MARK", b"M\xc3(RK"), codec.MEDIA_JSON) == 400
        assert _post(url, _request(2)) == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert read_sql(db, "SELECT DISTINCT trace_id FROM spans") == [(f"{3:032x}",)]


@contextmanager
def receivers_in_process(db: Path, limits: Limits = DEFAULT_LIMITS,
                         ack: Ack = Ack.QUEUED) -> Iterator[Receivers]:
    """Both receivers in this process, on free loopback ports, serving from a thread."""
    receivers = Receivers(Store(db), "127.0.0.1", 0, 0, limits, ack=ack)
    thread = threading.Thread(target=receivers.serve_forever)
    thread.start()
    try:
        yield receivers
    finally:
        receivers.http.shutdown()
        thread.join()
        receivers.stop()


@contextmanager
def locked(db: Path) -> Iterator[sqlite3.Connection]:
    """Another writer holding the database's write lock until the block ends."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def _wait_for(condition, timeout: float = 20) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _answer(url: str, body: bytes) -> tuple[int, str | None]:
    request = urllib.request.Request(url, data=body,
                                     headers={"Content-Type": codec.MEDIA_PROTOBUF})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers["Retry-After"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Retry-After"]


@pytest.fixture
def impatient_writer(monkeypatch) -> None:  # noqa: ANN001
    """serve's writer gives up on a lock after 0.2 s and tries again every 0.05 s."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(write_queue, "RETRY_S", 0.05)


@pytest.mark.usefixtures("impatient_writer")
def test_a_database_locked_too_long_is_503_or_unavailable_with_a_retry_delay(
    tmp_path: Path,
) -> None:
    db = tmp_path / "served.db"
    with receivers_in_process(db, ack=Ack.COMMITTED) as receivers:
        with locked(db):
            assert _answer(receivers.http.url, _request(1)) == (503, "1")
            with grpc.insecure_channel(receivers.grpc.endpoint.removeprefix("http://")) as chan:
                with pytest.raises(grpc.RpcError) as refused:
                    TraceServiceStub(chan).Export(
                        ExportTraceServiceRequest.FromString(_request(2)), timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            retry = dict(refused.value.trailing_metadata())["google.rpc.retryinfo-bin"]
            assert RetryInfo.FromString(retry).retry_delay.seconds == 1
        assert _answer(receivers.http.url, _request(3))[0] == 200
    assert read_sql(db, "SELECT DISTINCT trace_id FROM spans") == [(f"{4:032x}",)]


@pytest.mark.usefixtures("impatient_writer")
def test_the_official_exporter_retries_after_503_and_every_span_lands(tmp_path: Path) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    db = tmp_path / "served.db"
    with receivers_in_process(db, ack=Ack.COMMITTED) as receivers:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
            endpoint=receivers.http.url)))
        with locked(db):
            sender = threading.Thread(
                target=lambda: provider.get_tracer("t").start_span("retried").end())
            sender.start()
            _wait_for(lambda: receivers.ingest.stats.failed_requests)
        sender.join(timeout=30)
        provider.shutdown()
    assert read_sql(db, "SELECT name FROM spans") == [("retried",)]


def test_more_than_the_pending_budget_is_429_while_the_first_request_waits(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 20_000)
    db = tmp_path / "served.db"
    with receivers_in_process(db, Limits(pending_bytes=1)) as receivers:
        first: list[tuple[int, str | None]] = []
        with locked(db):
            waiting = threading.Thread(
                target=lambda: first.append(_answer(receivers.http.url, _request(1))))
            waiting.start()
            _wait_for(lambda: receivers.ingest._pending)
            assert _answer(receivers.http.url, _request(2)) == (429, "1")
        waiting.join(timeout=30)
    assert first == [(200, None)]
    assert read_sql(db, "SELECT DISTINCT trace_id FROM spans") == [(f"{2:032x}",)]


@pytest.mark.usefixtures("impatient_writer")
def test_requests_acknowledged_while_the_database_is_locked_land_once_it_is_free(
    tmp_path: Path,
) -> None:
    db = tmp_path / "served.db"
    with receivers_in_process(db) as receivers:
        with locked(db):
            assert _answer(receivers.http.url, _request(1)) == (200, None)
            # Once the writer has met the lock, new requests are refused, not queued.
            _wait_for(lambda: _answer(receivers.http.url, _request(2)) == (503, "1"))
        _wait_for(lambda: _answer(receivers.http.url, _request(3))[0] == 200)
    assert {(f"{2:032x}",), (f"{4:032x}",)} <= set(read_sql(
        db, "SELECT DISTINCT trace_id FROM spans"))
    assert receivers.ingest.stats.lost == 0


@pytest.mark.usefixtures("impatient_writer")
def test_what_the_database_still_refuses_at_stop_is_reported_lost(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    Store(db).close()
    with locked(db), receivers_in_process(db) as receivers:
        assert _answer(receivers.http.url, _request(1)) == (200, None)
    assert receivers.ingest.stats.lost == SPANS_PER_REQUEST
    assert f"{SPANS_PER_REQUEST} acknowledged spans LOST" in receivers.ingest.stats.summary()
    assert read_sql(db, "SELECT count(*) FROM spans") == [(0,)]
