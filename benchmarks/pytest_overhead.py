"""What ``pytest --otel-sqlite`` costs per test: a generated suite, plugin on vs off.

Runs a generated suite of trivial tests (the worst case: the plugin's work is all there is)
in a real ``python -m pytest`` subprocess, alternating plugin off and on, and prints the
median of each: wall time, and CPU time (user + sys of pytest and its exporter thread), which
a shared machine's load disturbs far less than wall time. The overhead per test is
(on - off) / tests; a one-test suite run the same way separates the fixed start-up cost (the
OTel SDK import, the database's creation) from the cost of each further test. The bar is
1 ms per test.

    python benchmarks/pytest_overhead.py            # 1,000 tests, 5 runs of each
    python benchmarks/pytest_overhead.py --quick    # 200 tests, 3 runs
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

BAR_MS_PER_TEST = 1.0
TESTS_PER_FILE = 100


def generate_suite(folder: Path, tests: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    for start in range(0, tests, TESTS_PER_FILE):
        count = min(TESTS_PER_FILE, tests - start)
        body = "".join(
            f"def test_{n}():\n    assert {n} + 1 > {n}\n\n" for n in range(start, start + count)
        )
        (folder / f"test_generated_{start // TESTS_PER_FILE:03d}.py").write_text(body)
    return folder


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env.pop("TRACEPARENT", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed_run(suite: Path, plugin: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``python -m pytest -q`` of ``suite``, into a fresh database."""
    for leftover in suite.glob("bench.db*"):
        leftover.unlink()
    args = [sys.executable, "-m", "pytest", "-q"]
    if plugin:
        args.append("--otel-sqlite=bench.db")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=suite, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def medians(suite: Path, runs: int) -> dict[str, float]:
    """Median wall and CPU seconds, plugin off and on, the two alternating."""
    samples: dict[str, list[float]] = {"wall off": [], "wall on": [], "cpu off": [], "cpu on": []}
    for _ in range(runs):
        for plugin, mode in ((False, "off"), (True, "on")):
            wall, cpu = timed_run(suite, plugin)
            samples[f"wall {mode}"].append(wall)
            samples[f"cpu {mode}"].append(cpu)
    return {key: statistics.median(values) for key, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=1000, help="tests in the suite")
    parser.add_argument("--runs", type=int, default=5, help="runs of each (median taken)")
    parser.add_argument("--quick", action="store_true", help="200 tests, 3 runs")
    options = parser.parse_args()
    tests, runs = (200, 3) if options.quick else (options.tests, options.runs)

    with tempfile.TemporaryDirectory(prefix="pytest-overhead-") as tmp:
        big = generate_suite(Path(tmp) / "big", tests)
        one = generate_suite(Path(tmp) / "one", 1)
        timed_run(big, plugin=True)  # warm the OS file cache for both modes
        big_runs = medians(big, runs)
        one_runs = medians(one, runs)

    print(f"pytest --otel-sqlite overhead: {tests} trivial tests, median of {runs} runs each "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for clock in ("cpu", "wall"):
        off, on = big_runs[f"{clock} off"], big_runs[f"{clock} on"]
        fixed = one_runs[f"{clock} on"] - one_runs[f"{clock} off"]
        per_test_ms = (on - off) / tests * 1000
        marginal_ms = ((on - off) - fixed) / (tests - 1) * 1000
        verdict = "met" if per_test_ms <= BAR_MS_PER_TEST else "MISSED"
        print(f"  {clock:4}: off {off:.3f} s, on {on:.3f} s -> {per_test_ms:.3f} ms per test "
              f"(bar {BAR_MS_PER_TEST:.1f} ms: {verdict}); fixed per session {fixed * 1000:.0f} "
              f"ms, each further test {marginal_ms:.3f} ms")


if __name__ == "__main__":
    main()
