"""``serve`` under abuse: killed mid-ingest it keeps every request it answered 200; bodies
that lie about their length or are not UTF-8 get an error and the server keeps answering."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from reliability_support import SOAK, cli_path, integrity, read_sql

from otel_sqlite.otlp import codec
from otel_sqlite.records import SpanRecord

KILLS = 30 if SOAK else 3
SPANS_PER_REQUEST = 50


def _serve(db: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [cli_path(), "serve", "--port", "0", "--no-grpc", "--db", str(db)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    line = process.stderr.readline() + process.stderr.readline()
    match = re.search(r"OTLP/HTTP\s+(http://\S+)", line)
    assert match, line
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


def test_serve_killed_mid_ingest_keeps_every_request_it_answered(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    chance = random.Random(11)
    answered: list[int] = []
    for kill in range(KILLS):
        server, url = _serve(db)
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
        stored = {
            trace for (trace,) in read_sql(
                db, "SELECT trace_id FROM spans GROUP BY trace_id HAVING count(*) = ?",
                (SPANS_PER_REQUEST,),
            )
        }
        assert {f"{batch + 1:032x}" for batch in answered} <= stored
        assert read_sql(
            db, "SELECT count(*) FROM (SELECT trace_id FROM spans GROUP BY trace_id "
            "HAVING count(*) != ?)", (SPANS_PER_REQUEST,),
        ) == [(0,)], "a request was stored in part"
    assert len(answered) > KILLS

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
