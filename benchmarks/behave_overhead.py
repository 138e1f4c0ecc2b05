"""What the behave formatter costs per step: a generated suite, recorder on vs off.

A feature of trivial scenarios (the worst case: recording is all the work there is) run by a
real ``python -m behave`` subprocess, alternating without and with
``-f otel_sqlite.behave:Recorder``, the median of each printed as CPU time (user + sys of
behave and its exporter's writer) and wall time. Every step, scenario and feature is written
in flight when it starts, as every run and step is, so that a killed run still shows where it
was.

    python benchmarks/behave_overhead.py                 # 250 scenarios of 4 steps, 5 runs each
    python benchmarks/behave_overhead.py --scenarios 50 --runs 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_overhead import _env

STEPS = ("Given a number {n}", "When I add 1", "Then it is bigger", "And it is not zero")
STEP_CODE = '''
from behave import given, then, when


@given("a number {n:d}")
def number(context, n):
    context.n = n


@when("I add 1")
def add(context):
    context.n += 1


@then("it is bigger")
def bigger(context):
    assert context.n > 0


@then("it is not zero")
def not_zero(context):
    assert context.n != 0
'''


def generate(folder: Path, scenarios: int) -> None:
    (folder / "steps").mkdir(parents=True)
    (folder / "steps" / "numbers.py").write_text(STEP_CODE)
    lines = ["Feature: numbers", ""]
    for n in range(scenarios):
        lines += [f"  Scenario: number {n}"] + [
            "    " + step.format(n=n) for step in STEPS] + [""]
    (folder / "numbers.feature").write_text("\n".join(lines))


def timed(folder: Path, record: bool) -> tuple[float, float]:
    for leftover in folder.glob("bench.db*"):
        leftover.unlink()
    args = [sys.executable, "-m", "behave", str(folder), "-f", "null"]
    if record:
        args += ["-f", "otel_sqlite.behave:Recorder", "-o", str(folder / "bench.db")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, env=_env(), check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=250)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    steps = options.scenarios * len(STEPS)
    samples: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="behave-overhead-") as tmp:
        folder = Path(tmp) / "features"
        generate(folder, options.scenarios)
        timed(folder, record=True)  # warm the file cache
        for _ in range(options.runs):
            for record in (False, True):
                samples[record].append(timed(folder, record))
    print(f"behave -f otel_sqlite.behave:Recorder: {options.scenarios} scenarios, {steps} "
          f"steps, median of {options.runs} runs (load average {os.getloadavg()[0]:.1f})")
    for index, clock in enumerate(("cpu", "wall")):
        off, on = (statistics.median(s[index] for s in samples[r]) for r in (False, True))
        print(f"  {clock:4}: off {off:.3f} s, on {on:.3f} s -> "
              f"{(on - off) / steps * 1000:.3f} ms per step (start-up included)")


if __name__ == "__main__":
    main()
