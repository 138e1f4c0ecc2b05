"""What the partial index on harness.task.id (schema m007) costs Store.write.

    python benchmarks/task_index.py

CPU time of writing the queries benchmark's runs (101 spans each; the first step of each run
carries a task id), interleaved with and without the index so that a busy neighbour slows both
alike. CPU time, not wall time: the machine is shared.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from queries import run_records

from otel_sqlite.storage import store

RUNS = 300
BATCH = 1010
REPEAT = 7


def main() -> None:
    spans = run_records(RUNS)
    rates: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(REPEAT):
            for bare in (False, True):
                writer = store.Store(Path(tmp) / f"{bare}-{attempt}.db")
                if bare:
                    writer._db.execute("DROP INDEX attributes_task_id")
                started = time.process_time()
                for i in range(0, len(spans), BATCH):
                    writer.write(spans[i:i + BATCH])
                rates[bare].append(len(spans) / (time.process_time() - started))
                writer.close()
    with_index, without = (statistics.median(rates[bare]) for bare in (False, True))
    print(f"with the task index     {with_index:10,.0f} spans per CPU second")
    print(f"without it              {without:10,.0f} spans per CPU second")
    print(f"cost: {1 - with_index / without:.1%} fewer (median of {REPEAT}, {len(spans):,} "
          f"spans, {RUNS} with a task id; spread with "
          f"{min(rates[False]):,.0f}-{max(rates[False]):,.0f}, without "
          f"{min(rates[True]):,.0f}-{max(rates[True]):,.0f})")


if __name__ == "__main__":
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    main()
