"""Many processes starting at the same instant on one fresh database: how many first writes fail.

Each trial releases N processes (2 to 8, in turn) at once on a path that does not exist yet;
each opens it and writes one in-flight run span, as a harness's first ``with run(...)`` does
(the reliability suite's worker, tests/reliability/workers/first_write.py). They race to
create the file, switch it to WAL and create the schema. Prints the failed first writes, each
failure's message, and the slowest first write.

    python benchmarks/fresh_starts.py [--trials 200] [--most 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = (Path(__file__).resolve().parent.parent / "tests" / "reliability" / "workers"
          / "first_write.py")


def trial(db: Path, processes: int, how: str = "store") -> list[dict]:
    """Start ``processes`` workers on ``db``, release them together, return their outcomes."""
    go_read, go_write = os.pipe()
    workers = [
        subprocess.Popen([sys.executable, str(WORKER), str(db), str(go_read), str(n), how],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(go_read,))
        for n in range(processes)
    ]
    os.close(go_read)
    os.write(go_write, b"g" * processes)
    os.close(go_write)
    outcomes = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        if worker.returncode != 0 or not out.strip():
            outcomes.append({"ok": False, "error": err.decode().strip().splitlines()[-1:],
                             "seconds": 0.0})
        else:
            outcomes.append(json.loads(out))
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--least", type=int, default=2)
    parser.add_argument("--most", type=int, default=8)
    parser.add_argument("--through", choices=("store", "harness"), default="store",
                        help="store: Store.write, as exec does; harness: configure() and "
                             "with run(), through the SDK exporter")
    args = parser.parse_args()
    sizes = range(args.least, args.most + 1)
    failed, started, slowest, messages = 0, 0, 0.0, {}
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.trials):
            processes = sizes[number % len(sizes)]
            outcomes = trial(Path(folder) / f"fresh-{number}.db", processes, args.through)
            started += processes
            for outcome in outcomes:
                slowest = max(slowest, outcome["seconds"])
                if not outcome["ok"]:
                    failed += 1
                    messages[str(outcome["error"])] = messages.get(str(outcome["error"]), 0) + 1
    print(f"{args.trials} trials ({args.through}) of {args.least}-{args.most} processes "
          f"starting at once on a fresh path: {started} first writes, {failed} failed; "
          f"slowest first write {slowest * 1000:.0f} ms")
    for message, count in sorted(messages.items(), key=lambda item: -item[1]):
        print(f"  {count} x {message}")


if __name__ == "__main__":
    main()
