"""How long entering ``with step(...)`` takes while another thread floods the exporter.

A thread of the application creates SPANS spans as fast as it can (the throughput workload
of exporter_throughput.py, through ``configure()``'s provider, as plain spans rather than
steps, so that they are not written in flight themselves), while the main thread enters
``with h.step(...)`` again and again, a few milliseconds apart. Each entry writes the step's
in-flight row; printed are the time from calling ``step()`` to the first line of its body
(p50, p99, max) and, for every tenth step (``--visible-every``), how long after that the
row could be read from the database by another connection (the reader polls every
millisecond from inside the step's body).

    python benchmarks/step_latency.py [--spans 200000] [--pause-ms 5] [--visible-every 10]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from exporter_throughput import create_spans  # the same workload, from the script beside
from opentelemetry.trace import Span

import otel_sqlite as h


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def readable_after(reader: sqlite3.Connection, span: Span, since: float) -> float:
    """Seconds from ``since`` until ``span``'s row can be read."""
    ids = span.get_span_context()
    key = (f"{ids.trace_id:032x}", f"{ids.span_id:016x}")
    while not reader.execute("SELECT 1 FROM spans WHERE trace_id = ? AND span_id = ?",
                             key).fetchone():
        time.sleep(0.001)
    return time.perf_counter() - since


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--pause-ms", type=float, default=5.0)
    parser.add_argument("--visible-every", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "flood.db"
        provider = h.configure(db=db, service_name="step-latency")
        with h.run("warm-up"):
            pass
        flood = threading.Thread(target=create_spans, args=(provider, args.spans, "work"))
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        entering: list[float] = []
        visible: list[float] = []
        started = time.perf_counter()
        flood.start()
        number = 0
        while flood.is_alive():
            number += 1
            before = time.perf_counter()
            with h.step("probe", number=number) as span:
                inside = time.perf_counter()
                entering.append(inside - before)
                if number % args.visible_every == 0:
                    visible.append(readable_after(reader, span, inside))
            time.sleep(args.pause_ms / 1000)
        flooded = time.perf_counter() - started
        provider.shutdown()
        reader.close()
    ms = 1000
    print(f"{len(entering)} step entries during a flood of {args.spans:,} spans "
          f"({args.spans / flooded:,.0f} spans/s created)")
    print(f"  entering with step(): p50 {statistics.median(entering) * ms:.2f} ms   "
          f"p99 {percentile(entering, 0.99) * ms:.2f} ms   max {max(entering) * ms:.2f} ms")
    print(f"  in-flight row readable after: p50 {statistics.median(visible) * ms:.1f} ms   "
          f"p99 {percentile(visible, 0.99) * ms:.1f} ms   max {max(visible) * ms:.1f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
