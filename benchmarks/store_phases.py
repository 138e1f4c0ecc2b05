"""Where one exported span's time goes: translation, the store's Python, each SQL statement.

The exporter-throughput workload (8 attributes and 1 event per span, each span a run of its
own) is created once through the SDK, then translated and written through ``Store.write`` in
batches, on one thread with nothing else running: the cost of each part alone, which is what
a change to the write path has to move. ``exporter_throughput.py`` measures them together,
under the GIL, beside the application.

    python benchmarks/store_phases.py [--spans 40000] [--batch 16384] [--sole-thread]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from exporter_throughput import create_spans  # the same workload, from the script beside
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_sqlite.sdk import span_wire
from otel_sqlite.sdk.provider import BATCH_DEFAULTS
from otel_sqlite.storage.store import Store

BATCH_SIZE_VARIABLE = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"


class TimedConnection:
    """The store's connection, timing every statement by its first words."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.seconds = db, defaultdict(float)

    def _timed(self, call, sql: str, *args):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        try:
            return call(sql, *args)
        finally:
            self.seconds[" ".join(sql.split())[:56]] += time.perf_counter() - started

    def execute(self, sql: str, *args):  # noqa: ANN201
        return self._timed(self.db.execute, sql, *args)

    def executemany(self, sql: str, *args):  # noqa: ANN201
        return self._timed(self.db.executemany, sql, *args)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.db, name)


def sdk_spans(count: int) -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    create_spans(provider, count)
    return list(exporter.get_finished_spans())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=BATCH_DEFAULTS[BATCH_SIZE_VARIABLE][1],
                        help="spans per write (default: the exporter's largest batch)")
    parser.add_argument("--sole-thread", action="store_true",
                        help="write as the writer process does: row by row, not bulk JSON")
    args = parser.parse_args()
    spans = sdk_spans(args.spans)
    per_span = 1e6 / len(spans)
    started = time.perf_counter()
    records = [
        record for i in range(0, len(spans), args.batch)
        for record in span_wire.unpack(span_wire.pack(spans[i:i + args.batch]))
    ]
    translated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "phases.db", sole_thread=args.sole_thread)
        timed = store._db = TimedConnection(store._db)  # the benchmark's one look inside
        started = time.perf_counter()
        for i in range(0, len(records), args.batch):
            store.write(records[i:i + args.batch])
        written = time.perf_counter() - started
        store.close()
    sql = sum(timed.seconds.values())
    print(f"{len(spans)} spans in batches of {args.batch}; microseconds per span, one thread")
    print(f"  translation (SDK span -> record) {translated * per_span:6.1f}")
    print(f"  Store.write                      {written * per_span:6.1f}")
    print(f"    its Python                     {(written - sql) * per_span:6.1f}")
    print(f"    its SQL                        {sql * per_span:6.1f}")
    for statement, seconds in sorted(timed.seconds.items(), key=lambda item: -item[1]):
        if seconds * per_span >= 0.05:
            print(f"      {seconds * per_span:6.1f}  {statement}")


if __name__ == "__main__":
    main()
