"""Many writer processes on one database: throughput and the worst wait for the write lock.

Starts WRITERS processes (the reliability suite's own worker, tests/reliability/workers/
writer.py) that each write SPANS spans through the SQLite exporter onto one fresh file; half
use the default BatchSpanProcessor setup, half export every span in its own transaction
(SimpleSpanProcessor), the worst case for lock contention (``--mode batch|simple``: all of
them one way). Prints spans/s over all writers, the longest wait for the write lock and the
longest single export, per mode and overall.

    python benchmarks/reliability_writers.py [--writers 8] [--spans 2000] [--repeat 3]
    python benchmarks/reliability_writers.py --mode batch
    python benchmarks/reliability_writers.py --quick
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = Path(__file__).resolve().parent.parent / "tests" / "reliability" / "workers" / "writer.py"


def _mode(number: int, mode: str) -> str:
    if mode == "mixed":
        return "simple" if number % 2 else "batch"
    return mode


def one_round(writers: int, spans: int, mode: str, folder: Path) -> dict:
    db = folder / "shared.db"
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(db), str(n), str(spans),
             _mode(n, mode), str(folder / f"writer-{n}.json")],
            stderr=subprocess.PIPE,
        )
        for n in range(writers)
    ]
    for process in processes:
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise SystemExit(stderr.decode())
    elapsed = time.perf_counter() - started
    results = [json.loads((folder / f"writer-{n}.json").read_text()) for n in range(writers)]
    failures = sum(r["results"]["FAILURE"] for r in results)
    by_mode = {
        mode: {
            "lock_wait_s": max(r["max_lock_wait_s"] for r in results if r["mode"] == mode),
            "export_s": max(r["max_export_s"] for r in results if r["mode"] == mode),
            "writes": sum(r["writes"] for r in results if r["mode"] == mode),
        }
        for mode in sorted({r["mode"] for r in results})
    }
    return {"spans_per_s": writers * spans / elapsed, "elapsed_s": elapsed,
            "failures": failures, "by_mode": by_mode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--spans", type=int, default=2000, help="spans per writer")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mode", choices=("mixed", "batch", "simple"), default="mixed",
                        help="mixed (default): half batch, half one transaction per span")
    parser.add_argument("--quick", action="store_true", help="4 writers x 500 spans, once")
    args = parser.parse_args()
    if args.quick:
        args.writers, args.spans, args.repeat = 4, 500, 1
    rounds = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            rounds.append(one_round(args.writers, args.spans, args.mode, Path(folder)))
    print(f"{args.writers} writer processes x {args.spans} spans onto one file, "
          f"{args.repeat} round(s), mode {args.mode}")
    for number, result in enumerate(rounds, 1):
        print(f"  round {number}: {result['spans_per_s']:,.0f} spans/s "
              f"({result['elapsed_s']:.1f} s), export failures: {result['failures']}")
        for mode, figures in result["by_mode"].items():
            print(f"    {mode:6}  worst lock wait {figures['lock_wait_s'] * 1000:6.0f} ms   "
                  f"worst export {figures['export_s'] * 1000:6.0f} ms   "
                  f"transactions {figures['writes']:,}")
    worst = max(f["lock_wait_s"] for r in rounds for f in r["by_mode"].values())
    best = max(r["spans_per_s"] for r in rounds)
    print(f"  best {best:,.0f} spans/s; worst lock wait over all rounds {worst * 1000:.0f} ms "
          f"(busy timeout 30 s)")


if __name__ == "__main__":
    main()
