"""OTLP ingest: the official OTLP/HTTP exporter in another process sending to ``serve``.

Prints spans/s for the same workload (8 attributes + 1 event per span, BatchSpanProcessor with
otel-sqlite's queue settings) sent by one official ``OTLPSpanExporter`` process
(a) to a null OTLP receiver that reads and discards each body (what one client can send),
(b) to ``otel-sqlite serve`` (received and stored: the client waits for each 200, which
comes after the transaction commits), and (c) into the in-process SQLiteSpanExporter. Then
``push`` of the served database into a second ``serve`` (a second database), and
``export otlp`` / ``import`` of it with the importer's peak memory.

    python benchmarks/serve_ingest.py [--spans 10000] [--quick]
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from otel_sqlite.otlp.push import Sender, push

BIN = Path(sys.executable).parent
CLIENT = r"""
import sys, time
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from otel_sqlite.sdk.provider import batch_processor

target, spans = sys.argv[1], int(sys.argv[2])
if target == "sqlite":
    from otel_sqlite.exporter import SQLiteSpanExporter
    exporter = SQLiteSpanExporter(sys.argv[3])
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
started = time.perf_counter()
for i in range(spans):
    with tracer.start_as_current_span("step", attributes={
        "harness.kind": "step", "harness.step.number": i, "a.str": "value", "a.int": i * 7,
        "a.float": 0.5, "a.bool": True, "a.list": ("x", "y"),
        "a.other": "something longer to index",
    }) as span:
        span.add_event("tick", {"i": i})
provider.shutdown()
print(spans / (time.perf_counter() - started), counting.count)
"""


class _Null(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def client(target: str, spans: int, *extra: str) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", CLIENT, target, str(spans), *extra],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


class Serve:
    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "otel-sqlite"), "serve", "--port", "0", "--db", str(db)],
            stderr=subprocess.PIPE, text=True,
        )
        self.url = re.search(r"(http://\S+)", self.process.stderr.readline())[1]

    def stop(self) -> float:
        """Stop it; return the spans/s it reported while busy decoding and storing."""
        self.process.terminate()
        self.process.wait(timeout=30)
        summary = self.process.stderr.read()
        match = re.search(r"\(([\d,]+) spans/s while busy\)", summary)
        return float(match[1].replace(",", "")) if match else 0.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="3,000 spans")
    args = parser.parse_args()
    spans = 3_000 if args.quick else args.spans
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        null = ThreadingHTTPServer(("127.0.0.1", 0), _Null)
        threading.Thread(target=null.serve_forever, daemon=True).start()
        null_rate, null_sent = client(f"http://127.0.0.1:{null.server_address[1]}/v1/traces",
                                      spans)
        null.shutdown()

        served_db = folder / "served.db"
        serve = Serve(served_db)
        serve_rate, serve_sent = client(serve.url, spans)
        serve_capacity = serve.stop()
        stored = count(served_db)

        sqlite_rate, sqlite_sent = client("sqlite", spans, str(folder / "direct.db"))

        second = Serve(folder / "pushed.db")
        started = time.perf_counter()
        result = push(served_db, Sender(second.url))
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

    print(f"{spans} spans, 8 attributes + 1 event each, one sending process, "
          f"BatchSpanProcessor with otel-sqlite's queue settings")
    print(f"  official OTLP exporter -> null receiver  {null_rate:>9,.0f} spans/s  "
          f"(accepted {null_sent})")
    print(f"  official OTLP exporter -> serve          {serve_rate:>9,.0f} spans/s  "
          f"(accepted {serve_sent}, stored {stored})")
    print(f"  in-process SQLiteSpanExporter            {sqlite_rate:>9,.0f} spans/s  "
          f"(stored {sqlite_sent})")
    print(f"  serve's own ingest rate while busy       {serve_capacity:>9,.0f} spans/s  "
          "(decode + store, from its summary)")
    print(f"  serve / null receiver = {serve_rate / null_rate:.2f} end to end (the exporter waits "
          f"for each answer); serve's ingest rate / client's send rate = "
          f"{serve_capacity / null_rate:.2f}")
    print(f"  push served db -> second serve           {result.spans / push_seconds:>9,.0f} "
          f"spans/s  ({result.spans} sent in {result.batches} requests, {pushed} stored)")
    print(f"  export otlp                              {stored / export_s:>9,.0f} spans/s  "
          f"({size_mb:.1f} MB of JSON lines)")
    print(f"  import                                   {stored / import_s:>9,.0f} spans/s  "
          f"(peak RSS {import_rss:.0f} MiB; a file 4x as big: {four_rss:.0f} MiB)")


if __name__ == "__main__":
    main()
