"""What wrapping a command in ``otel-sqlite exec`` costs: start-up, and capture of big output.

    python benchmarks/exec_overhead.py            # 60 start-up runs, 100 MB of output
    python benchmarks/exec_overhead.py --quick    # 15 runs, 20 MB

1. Start-up: the median wall time of ``otel-sqlite exec --quiet -- true`` minus that of a bare
   ``true``, runs interleaved in one session against one database (as a suite would run
   them). Bar: <= 150 ms added.
2. Capture: a command printing ``--megabytes`` of log lines, bare (its stdout to a file, the
   cheapest way to keep it) against ``exec --quiet`` (stdout and stderr to files, sha256,
   line index, two span writes). Bar: <= 10 % added.
3. The ``-X importtime`` profile of one ``exec``: the biggest imports, by cumulative time.

Python is run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed), as an installed
package runs; otherwise every start compiles every module again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OTEL_SQLITE = shutil.which("otel-sqlite", path=str(Path(sys.executable).parent)) or shutil.which(
    "otel-sqlite"
)
LINE = b"2026-12-02T07:00:00.000Z INFO worker-3 step=check-documents status=ok elapsed_ms=12\n"
GENERATOR = (
    "import sys\n"
    "line = {line!r}\n"
    "block = line * 8192\n"
    "out = sys.stdout.buffer\n"
    "for _ in range({blocks}):\n"
    "    out.write(block)\n"
)


def timed(argv: list[str], env: dict[str, str], stdout=subprocess.DEVNULL) -> float:  # noqa: ANN001
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def startup(runs: int, env: dict[str, str]) -> None:
    bare, wrapped = [], []
    exec_true = [OTEL_SQLITE, "exec", "--quiet", "--", "true"]
    for _ in range(3):  # warm caches (bytecode, page cache, the database's schema)
        timed(exec_true, env)
    for _ in range(runs):
        bare.append(timed(["true"], env))
        wrapped.append(timed(exec_true, env))
    floor = statistics.median(timed([sys.executable, "-c", "pass"], env) for _ in range(10))
    added = statistics.median(wrapped) - statistics.median(bare)
    print(f"start-up ({runs} runs each, interleaved):")
    print(f"  true                          median {statistics.median(bare) * 1000:7.1f} ms")
    print(f"  otel-sqlite exec --quiet true median {statistics.median(wrapped) * 1000:7.1f} ms"
          f"  (p90 {sorted(wrapped)[int(runs * 0.9)] * 1000:.1f} ms)")
    print(f"  python -c pass (the floor)    median {floor * 1000:7.1f} ms")
    print(f"  added by exec: {added * 1000:.1f} ms  (bar: <= 150 ms)")


def capture(megabytes: int, runs: int, env: dict[str, str], folder: Path) -> None:
    blocks = max(1, megabytes * 1024 * 1024 // (len(LINE) * 8192))
    size = blocks * 8192 * len(LINE)
    generator = [sys.executable, "-c", GENERATOR.format(line=LINE, blocks=blocks)]
    wrapped_argv = [OTEL_SQLITE, "exec", "--quiet", "--", *generator]
    bare, wrapped = [], []
    for _ in range(runs):
        with open(folder / "bare.out", "wb") as out:
            bare.append(timed(generator, env, stdout=out))
        wrapped.append(timed(wrapped_argv, env))
        shutil.rmtree(folder / "bench-artifacts", ignore_errors=True)
    b, w = statistics.median(bare), statistics.median(wrapped)
    print(f"capture of {size / 1e6:.0f} MB of log lines ({runs} runs each, median):")
    print(f"  bare, stdout to a file  {b * 1000:8.1f} ms")
    print(f"  otel-sqlite exec -q     {w * 1000:8.1f} ms")
    print(f"  added: {(w - b) * 1000:.1f} ms = {(w - b) / b * 100:.1f} %  (bar: <= 10 %)")


def import_profile(env: dict[str, str], top: int = 12) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", OTEL_SQLITE, "exec", "--quiet", "--", "true"],
        env=env, capture_output=True, text=True, check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[0].strip().isdigit():
            own, cumulative, name = fields
            rows.append((int(cumulative), int(own), name.strip()))
    sdk = [name for _, _, name in rows if name.startswith("opentelemetry")]
    print(f"import profile of one exec (top {top} by cumulative time, microseconds):")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative:8d} cumulative {own:7d} self  {name}")
    print(f"  total modules imported: {len(rows)}; opentelemetry modules: {len(sdk)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="start-up runs of each command")
    parser.add_argument("--megabytes", type=int, default=100, help="output size for capture")
    parser.add_argument("--capture-runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="15 runs, 20 MB, 1 capture run")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.megabytes, args.capture_runs = 15, 20, 1
    if not OTEL_SQLITE:
        sys.exit("otel-sqlite is not installed next to this Python (pip install -e .)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "TRACEPARENT", "OTEL_TRACES_EXPORTER")}
    with tempfile.TemporaryDirectory() as folder:
        env["OTEL_SQLITE_DB"] = str(Path(folder) / "bench.db")
        startup(args.runs, env)
        capture(args.megabytes, args.capture_runs, env, Path(folder))
        import_profile(env)


if __name__ == "__main__":
    main()
