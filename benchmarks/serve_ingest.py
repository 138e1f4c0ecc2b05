"""OTLP ingest: the official OTLP exporters (HTTP and gRPC) in other processes sending to ``serve``.

For each protocol, the same workload (8 attributes + 1 event per span, BatchSpanProcessor with
otel-sqlite's queue settings) sent by one process with the official exporter
(a) to a null receiver of that protocol that accepts and discards each request (what one
client can send), and (b) to ``otel-sqlite serve`` with each ``--ack`` (received and stored;
``queued``, the default, answers once a request is decoded and queued for the writer,
``committed`` once it is committed). The ratio b/a is the end-to-end cost of storing, where
b counts until the last span is committed (the sender's own rate, until its shutdown
returned, is printed too); serve's own ingest rate (decode + store, from its summary) is what
it can take. The CPU seconds of client and server say how much of the ratio is the machine:
on a shared 2-core box, a busy server takes CPU from the client it waits on.

Then four client processes at once (two HTTP, two gRPC) into one serve: total stored spans/s,
and what serve refused (only ever 429/503 or UNAVAILABLE with a retry delay, never dropped).
Then ``push`` of the served database into a second ``serve``, and ``export otlp`` / ``import``
of it with the importer's peak memory.

    python benchmarks/serve_ingest.py [--spans 20000] [--repeat 3] [--quick] [--ack queued]
"""

from __future__ import annotations

import argparse
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from otel_sqlite.otlp.ingest import Limits
from otel_sqlite.otlp.push import Sender, push

BIN = Path(sys.executable).parent
CLIENT = r"""
import resource, sys, time
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from otel_sqlite.sdk.provider import batch_processor

target, spans = sys.argv[1], int(sys.argv[2])
if target == "sqlite":
    from otel_sqlite.exporter import SQLiteSpanExporter
    exporter = SQLiteSpanExporter(sys.argv[3])
elif target.startswith("grpc:"):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    exporter = OTLPSpanExporter(endpoint=target[5:], insecure=True)
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    exporter = OTLPSpanExporter(endpoint=target)

class Counting:
    def __init__(self, inner):
        self.inner, self.count = inner, 0
    def export(self, batch):
        result = self.inner.export(batch)
        if result.name == "SUCCESS":
            self.count += len(batch)
        return result
    def shutdown(self):
        self.inner.shutdown()
    def force_flush(self, timeout_millis=30000):
        return True

counting = Counting(exporter)
provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
provider.add_span_processor(batch_processor(counting))
tracer = provider.get_tracer("bench")
started_at = time.time()
started = time.perf_counter()
for i in range(spans):
    with tracer.start_as_current_span("step", attributes={
        "harness.kind": "step", "harness.step.number": i, "a.str": "value", "a.int": i * 7,
        "a.float": 0.5, "a.bool": True, "a.list": ("x", "y"),
        "a.other": "something longer to index",
    }) as span:
        span.add_event("tick", {"i": i})
provider.shutdown()
print(spans / (time.perf_counter() - started), counting.count, started_at)
"""


class _NullHttp(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class NullReceivers:
    """An OTLP/HTTP and an OTLP/gRPC endpoint that answer success and keep nothing."""

    def __init__(self) -> None:
        import grpc

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _NullHttp)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        # As large a message as serve takes: the default 4 MiB refuses big batches.
        self.grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
            ("grpc.max_receive_message_length", Limits().decompressed_bytes)])
        self.grpc.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService",
            {"Export": grpc.unary_unary_rpc_method_handler(lambda request, context: b"")},
        ),))
        self.grpc_port = self.grpc.add_insecure_port("127.0.0.1:0")
        self.grpc.start()

    def target(self, protocol: str) -> str:
        if protocol == "grpc":
            return f"grpc:127.0.0.1:{self.grpc_port}"
        return f"http://127.0.0.1:{self.http.server_address[1]}/v1/traces"

    def stop(self) -> None:
        self.http.shutdown()
        self.grpc.stop(None)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def client(target: str, spans: int, *extra: str) -> tuple[float, int, float, float]:
    """Spans/s one client process sent, how many were accepted, its CPU seconds, and the
    wall-clock time it started creating spans."""
    before = children_cpu()
    out = subprocess.run([sys.executable, "-c", CLIENT, target, str(spans), *extra],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]), children_cpu() - before, float(out[2])


def stored_by(db: Path, spans: int, timeout: float = 60.0) -> float:
    """The wall-clock time by which ``db`` holds ``spans`` spans (polled every 5 ms by the
    newest row id, which costs nothing, unlike a count), or by which ``timeout`` ran out."""
    connection = sqlite3.connect(db)
    deadline = time.monotonic() + timeout
    try:
        while ((connection.execute("SELECT max(id) FROM spans").fetchone()[0] or 0) < spans
               and time.monotonic() < deadline):
            time.sleep(0.005)
    finally:
        connection.close()
    return time.time()


def clients_at_once(targets: list[str], spans: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", CLIENT, target, str(spans)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for target in targets]


class Serve:
    def __init__(self, db: Path, ack: str = "queued") -> None:
        self.process = subprocess.Popen(
            [str(BIN / "otel-sqlite"), "serve", "--port", "0", "--grpc-port", "0",
             "--ack", ack, "--db", str(db)],
            stderr=subprocess.PIPE, text=True,
        )
        said = ""
        while not (line := self.process.stderr.readline()).startswith("Ctrl-C"):
            said += line
        self.http = re.search(r"OTLP/HTTP\s+(\S+)", said)[1]
        self.grpc = re.search(r"OTLP/gRPC\s+http://(\S+)", said)[1]
        self.summary = ""

    def target(self, protocol: str) -> str:
        return f"grpc:{self.grpc}" if protocol == "grpc" else self.http

    def stop(self) -> tuple[float, float]:
        """Stop it; its ingest rate while busy (spans/s, from its summary), CPU seconds."""
        before = children_cpu()
        self.process.terminate()
        self.process.wait(timeout=60)
        self.summary = self.process.stderr.read().strip()
        match = re.search(r"\(([\d,]+) spans/s while busy\)", self.summary)
        return (float(match[1].replace(",", "")) if match else 0.0), children_cpu() - before


def count(db: Path) -> int:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT count(*) FROM spans").fetchone()[0]
    finally:
        connection.close()


PEAK = """
import resource, sys, time
from otel_sqlite.cli.main import cli
started = time.perf_counter()
cli.main(sys.argv[1:], standalone_mode=False)
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def timed_cli(*args: str) -> tuple[float, float]:
    """Seconds one otel-sqlite command takes in a fresh process, and its peak RSS in MiB."""
    out = subprocess.run([sys.executable, "-c", PEAK, *args], check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[-2]), int(out[-1]) / 1024


def idle_cpu(folder: Path) -> float:
    """CPU seconds of a serve that starts and stops with no request: its start-up."""
    _, cpu = Serve(folder / "idle.db").stop()
    return cpu


def one_protocol(protocol: str, null: NullReceivers, folder: Path, spans: int,
                 repeat: int, startup_cpu: float, ack: str) -> Path:
    """Null receiver and serve, alternately, ``repeat`` times (the machine's other load drifts:
    alternating gives both the same weather); medians of each figure."""
    rows = []
    for attempt in range(repeat):
        null_rate, null_sent, null_cpu, _ = client(null.target(protocol), spans)
        served_db = folder / f"served-{protocol}-{ack}-{attempt}.db"
        serve = Serve(served_db, ack)
        sent_rate, serve_sent, client_cpu, started_at = client(serve.target(protocol), spans)
        serve_rate = spans / (stored_by(served_db, serve_sent) - started_at)
        capacity, serve_cpu = serve.stop()
        stored = count(served_db)
        assert null_sent == serve_sent == stored == spans, (null_sent, serve_sent, stored)
        rows.append((serve_rate / null_rate, null_rate, serve_rate, sent_rate, capacity,
                     stored / (serve_cpu - startup_cpu),
                     client_cpu / (client_cpu + serve_cpu), null_cpu, client_cpu, serve_cpu))
    (ratio, null_rate, serve_rate, sent_rate, capacity, per_cpu, shared, null_cpu, client_cpu,
     serve_cpu) = (statistics.median(column) for column in zip(*rows, strict=True))
    print(f"{protocol}, --ack {ack} (medians of {repeat}; every span accepted and stored "
          "each time):")
    print(f"  official exporter -> null receiver  {null_rate:>9,.0f} spans/s  "
          f"(client CPU {null_cpu:.2f} s)")
    print(f"  official exporter -> serve          {serve_rate:>9,.0f} spans/s  stored "
          f"({sent_rate:,.0f} sent; client CPU {client_cpu:.2f} s, serve CPU {serve_cpu:.2f} s)")
    print(f"  serve's own ingest while busy       {capacity:>9,.0f} spans/s  (decode + store, "
          "wall clock)")
    print(f"  serve per CPU-second                {per_cpu:>9,.0f} spans/s  (its process's "
          f"CPU less its start-up's {startup_cpu:.2f} s)")
    print(f"  serve / null receiver = {ratio:.2f} end to end, until stored (each: "
          f"{', '.join(f'{row[0]:.2f}' for row in rows)}); if the two processes had to share "
          f"one core: {shared:.2f}")
    return served_db


def four_clients(folder: Path, spans: int) -> None:
    db = folder / "four.db"
    serve = Serve(db)
    started = time.time()
    processes = clients_at_once(
        [serve.target(p) for p in ("http", "grpc", "http", "grpc")], spans)
    accepted = [int(process.communicate()[0].split()[1]) for process in processes]
    seconds = stored_by(db, sum(accepted)) - started
    capacity, _ = serve.stop()
    stored = count(db)
    print(f"four clients at once (2 HTTP, 2 gRPC, {spans} spans each):")
    print(f"  {stored / seconds:>9,.0f} spans/s stored in total ({stored} stored, accepted "
          f"{accepted}); serve's ingest while busy {capacity:,.0f} spans/s")
    print(f"  serve: {serve.summary.splitlines()[-1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="3,000 spans, once")
    parser.add_argument("--repeat", type=int, default=3,
                        help="null/serve pairs per protocol (medians are printed)")
    parser.add_argument("--ack", action="append", choices=("queued", "committed"),
                        help="serve's --ack to measure (several allowed; default both)")
    args = parser.parse_args()
    spans = 3_000 if args.quick else args.spans
    print(f"{spans} spans, 8 attributes + 1 event each, BatchSpanProcessor with otel-sqlite's "
          "queue settings, one sending process unless said")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        null = NullReceivers()
        repeat = 1 if args.quick else args.repeat
        startup_cpu = idle_cpu(folder)
        served = [one_protocol(protocol, null, folder, spans, repeat, startup_cpu, ack)
                  for ack in args.ack or ["queued", "committed"] for protocol in ("http", "grpc")]
        served_db = served[0]
        null.stop()
        four_clients(folder, spans // 4)

        sqlite_rate, sqlite_sent, _, _ = client("sqlite", spans, str(folder / "direct.db"))
        stored = count(served_db)
        second = Serve(folder / "pushed.db")
        started = time.perf_counter()
        result = push(served_db, Sender(second.http))
        push_seconds = time.perf_counter() - started
        second.stop()
        pushed = count(folder / "pushed.db")

        export_s, _ = timed_cli("export", "otlp", "--db", str(served_db), "-o",
                                str(folder / "spans.jsonl"))
        import_s, import_rss = timed_cli("import", "--db", str(folder / "imported.db"),
                                         str(folder / "spans.jsonl"))
        size_mb = (folder / "spans.jsonl").stat().st_size / 1e6
        # Four copies of the same lines: re-importing is idempotent, so this only tests memory.
        with open(folder / "four.jsonl", "w") as four:
            for _ in range(4):
                four.write((folder / "spans.jsonl").read_text())
        _, four_rss = timed_cli("import", "--db", str(folder / "imported.db"),
                                str(folder / "four.jsonl"))

    print(f"in-process SQLiteSpanExporter          {sqlite_rate:>9,.0f} spans/s  "
          f"(stored {sqlite_sent})")
    print(f"push served db -> second serve         {result.spans / push_seconds:>9,.0f} "
          f"spans/s  ({result.spans} sent in {result.batches} requests, {pushed} stored)")
    print(f"export otlp                            {stored / export_s:>9,.0f} spans/s  "
          f"({size_mb:.1f} MB of JSON lines)")
    print(f"import                                 {stored / import_s:>9,.0f} spans/s  "
          f"(peak RSS {import_rss:.0f} MiB; a file 4x as big: {four_rss:.0f} MiB)")


if __name__ == "__main__":
    main()
