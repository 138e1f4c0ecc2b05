"""Is an ``attributes (key, value)`` index worth its write cost? Measured, not guessed.

Writes the same spans (8 typed attributes each, through ``Store.write``, the real write path)
into two databases, one as shipped (no such index, schema m006) and one with the index added,
then times the lookup every "which spans had process.exit.code = 1" question becomes.

    python benchmarks/attribute_index.py [--spans 1000000] [--batch 4096]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from otel_sqlite.records import ResourceRecord, ScopeRecord, SpanRecord
from otel_sqlite.storage.store import Store

RESOURCE = ResourceRecord({"service.name": "bench"})
SCOPE = ScopeRecord("bench")
T0 = 1_700_000_000_000_000_000
ATTRIBUTE_VALUE_INDEX = "CREATE INDEX attributes_key_value ON attributes (key, value)"


def records(start: int, count: int) -> list[SpanRecord]:
    out = []
    for i in range(start, start + count):
        trace = f"{i // 100:032x}"
        out.append(SpanRecord(
            trace_id=trace, span_id=f"{i + 1:016x}", name=f"step {i % 50}",
            start_ns=T0 + i * 1000, end_ns=T0 + i * 1000 + 500,
            parent_span_id=None if i % 100 == 0 else f"{(i // 100) * 100 + 1:016x}",
            attributes={
                "harness.kind": "command", "process.exit.code": 1 if i % 100 == 7 else 0,
                "process.executable.name": f"tool{i % 20}", "process.pid": 1000 + i % 30000,
                "harness.step.number": i % 100, "task.id": f"gh-{i % 5000}",
                "duration.hint": (i % 1000) / 10, "retry": i % 13 == 0,
            },
            resource=RESOURCE, scope=SCOPE,
        ))
    return out


def build(path: Path, spans: int, batch: int, with_index: bool) -> float:
    store = Store(path)
    if with_index:
        sqlite3.connect(path).execute(ATTRIBUTE_VALUE_INDEX).connection.close()
    elapsed = 0.0
    for start in range(0, spans, batch):
        chunk = records(start, min(batch, spans - start))
        started = time.perf_counter()
        store.write(chunk)
        elapsed += time.perf_counter() - started
    store.close()
    return spans / elapsed


def lookup_ms(path: Path, repeat: int = 7) -> float:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = db.execute(
            "SELECT count(*) FROM attributes WHERE key = ? AND value = ?",
            ("process.exit.code", 1),
        ).fetchone()
        times.append((time.perf_counter() - started) * 1000)
    assert rows[0] > 0
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=4096)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for with_index in (True, False):
            path = Path(tmp) / f"index-{with_index}.db"
            rate = build(path, args.spans, args.batch, with_index)
            results[with_index] = (rate, lookup_ms(path), path.stat().st_size / 1e6)
    print(f"{args.spans:,} spans x 8 attributes, written through Store.write in batches of "
          f"{args.batch}")
    for with_index, (rate, ms, mb) in results.items():
        label = "with (key, value) index" if with_index else "without it"
        print(f"  {label:<24} write {rate:>9,.0f} spans/s   lookup key=? AND value=? "
              f"{ms:>9.1f} ms (median)   file {mb:,.0f} MB")
    (w_rate, w_ms, _), (n_rate, n_ms, _) = results[True], results[False]
    print(f"  index costs {100 * (1 - w_rate / n_rate):.0f}% of write throughput and makes the "
          f"lookup {n_ms / w_ms:,.0f}x faster")


if __name__ == "__main__":
    main()
