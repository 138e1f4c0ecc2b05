"""What wrapping a command in ``otel-sqlite exec`` costs: start-up, and capture of big output.

    python benchmarks/exec_overhead.py            # 60 start-up runs, 100 MB of output
    python benchmarks/exec_overhead.py --quick    # 15 runs, 20 MB

1. Start-up: the median wall time of ``otel-sqlite exec --quiet -- true`` minus that of a bare
   ``true``, runs interleaved in one session against one database (as a suite would run
   them). Bar: <= 150 ms added.
2. Capture: ``--megabytes`` of log lines from two commands, a Python program printing one
   line at a time (a chatty test runner) and ``cat`` of the same log (pure I/O, the worst
   case), each bare (stdout to a file, the cheapest way to keep it) against ``exec --quiet``
   (stdout and stderr to files, sha256, line index, two span writes). Bar: <= 10 % added.
3. The ``-X importtime`` profile of one ``exec``: the biggest imports, by cumulative time.

Every figure is given as wall time and as CPU time (user + sys of the command and all it
ran): on a shared machine the CPU time is the steadier of the two. Python runs with bytecode
caching on (PYTHONDONTWRITEBYTECODE removed), as an installed package runs; otherwise every
start compiles every module again.
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
from dataclasses import dataclass
from pathlib import Path
from subprocess import DEVNULL
from typing import IO

OTEL_SQLITE = shutil.which("otel-sqlite", path=str(Path(sys.executable).parent)) or shutil.which(
    "otel-sqlite"
)
# A chatty program: one formatted log line per print(), as a test runner or a build writes.
LOG_WRITER = (
    "import sys\n"
    "for i in range(int(sys.argv[1])):\n"
    "    print(f'2026-12-02T07:00:00.{i % 1000:03d}Z INFO worker-{i % 8} "
    "step=check-documents item={i} status=ok')\n"
)
LOG_LINE_BYTES = 86  # the length of one LOG_WRITER line, near enough


@dataclass
class Timing:
    wall: list[float]
    cpu: list[float]  # user + sys of the command and everything it ran

    def median(self) -> tuple[float, float]:
        return statistics.median(self.wall), statistics.median(self.cpu)


def timed(argv: list[str], env: dict[str, str], into: Timing, stdout: int | IO = DEVNULL) -> None:
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=stdout, stderr=DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    into.wall.append(time.perf_counter() - started)
    into.cpu.append(usage.ru_utime + usage.ru_stime)
    child.returncode = 0  # reaped by wait4 above


def report(label: str, timing: Timing) -> None:
    wall, cpu = timing.median()
    print(f"  {label:<34} wall {wall * 1000:8.1f} ms   cpu {cpu * 1000:8.1f} ms")


def startup(runs: int, env: dict[str, str]) -> None:
    bare, wrapped, floor = Timing([], []), Timing([], []), Timing([], [])
    exec_true = [OTEL_SQLITE, "exec", "--quiet", "--", "true"]
    for _ in range(3):  # warm caches (bytecode, page cache, the database's schema)
        timed(exec_true, env, Timing([], []))
    for _ in range(runs):
        timed(["true"], env, bare)
        timed(exec_true, env, wrapped)
        timed([sys.executable, "-c", "pass"], env, floor)
    print(f"start-up: medians of {runs} interleaved runs each")
    report("true", bare)
    report("otel-sqlite exec --quiet -- true", wrapped)
    report("python -c pass (the floor)", floor)
    added_wall = wrapped.median()[0] - bare.median()[0]
    added_cpu = wrapped.median()[1] - bare.median()[1]
    print(f"  added by exec: {added_wall * 1000:.1f} ms wall, {added_cpu * 1000:.1f} ms cpu"
          f"  (bar: <= 150 ms)")


def capture(megabytes: int, runs: int, env: dict[str, str], folder: Path) -> None:
    lines = megabytes * 1024 * 1024 // LOG_LINE_BYTES
    log = folder / "big.log"
    with open(log, "wb") as out:
        subprocess.run([sys.executable, "-c", LOG_WRITER, str(lines)], stdout=out, check=True)
    size = log.stat().st_size
    generators = {
        "log writer (python print per line)": [sys.executable, "-c", LOG_WRITER, str(lines)],
        "cat of the same log (pure I/O)": ["cat", str(log)],
    }
    print(f"capture of {size / 1e6:.0f} MB ({lines} lines): medians of {runs} runs each;")
    print("  bare = stdout to a file (the cheapest way to keep it); exec = exec --quiet")
    for label, generator in generators.items():
        bare, wrapped = Timing([], []), Timing([], [])
        for _ in range(runs):
            with open(folder / "bare.out", "wb") as out:
                timed(generator, env, bare, stdout=out)
            timed([OTEL_SQLITE, "exec", "--quiet", "--", *generator], env, wrapped)
            shutil.rmtree(folder / "bench-artifacts", ignore_errors=True)
        (b_wall, b_cpu), (w_wall, w_cpu) = bare.median(), wrapped.median()
        print(f"  {label}:")
        report("bare", bare)
        report("exec", wrapped)
        print(f"    added: {(w_wall - b_wall) * 1000:.0f} ms wall = "
              f"{(w_wall - b_wall) / b_wall * 100:.1f} %, {(w_cpu - b_cpu) * 1000:.0f} ms cpu"
              f"  (bar: <= 10 %)")


def import_profile(env: dict[str, str], top: int = 12, repeats: int = 5) -> None:
    """The biggest imports of one exec, each module's best of ``repeats`` runs (a shared
    machine's noise only ever adds time)."""
    best: dict[str, tuple[int, int]] = {}
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", OTEL_SQLITE, "exec", "--quiet", "--", "true"],
            env=env, capture_output=True, text=True, check=False,
        )
        for line in done.stderr.splitlines():
            fields = line.removeprefix("import time:").split("|")
            if len(fields) == 3 and fields[0].strip().isdigit():
                own, cumulative, name = int(fields[0]), int(fields[1]), fields[2].strip()
                if name not in best or cumulative < best[name][0]:
                    best[name] = (cumulative, own)
    sdk = [name for name in best if name.startswith("opentelemetry")]
    print(f"import profile of one exec (top {top} by cumulative time, best of {repeats}, us):")
    for name, (cumulative, own) in sorted(best.items(), key=lambda item: -item[1][0])[:top]:
        print(f"  {cumulative:8d} cumulative {own:7d} self  {name}")
    print(f"  modules imported: {len(best)}; opentelemetry modules among them: {len(sdk)}")


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
