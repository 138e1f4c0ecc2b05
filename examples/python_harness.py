"""A test harness in plain Python: steps with retries, commands that pass, warn and fail.

    python examples/python_harness.py            # writes ./otel-sqlite.db (or $OTEL_SQLITE_DB)
    otel-sqlite runs && otel-sqlite show latest  # what was recorded
"""

from __future__ import annotations

import os
import subprocess
import sys

import otel_sqlite as h

DB = os.environ.get("OTEL_SQLITE_DB", "otel-sqlite.db")  # where configure() writes by default

PY = sys.executable


def flaky_check(attempt: int) -> list[str]:
    """Fails on the first attempt, passes on the second: a classic flaky step."""
    code = 1 if attempt == 1 else 0
    return [PY, "-c", f"import sys; print('probe attempt {attempt}'); sys.exit({code})"]


def main() -> int:
    h.configure(service_name="example-harness")
    try:
        suite()
    except subprocess.CalledProcessError as exc:
        print(f"suite failed: {exc}; recorded in {DB}", file=sys.stderr)
        return 1
    print(f"suite passed; recorded in {DB}")
    return 0


def suite() -> None:
    with h.run("example-suite", suite="smoke", build="2026.12.1"):
        with h.step("setup", number=1):
            h.command([PY, "-c", "print('creating fixtures'); print('3 fixtures ready')"])
        with h.step("lint", number=2):
            h.command([PY, "-c", "import sys; print('WARNING: unused import in app.py', "
                                 "file=sys.stderr)"])
        for attempt in (1, 2):
            try:
                with h.step("health check", number=3, attempt=attempt):
                    h.command(flaky_check(attempt), check=True)
                break
            except subprocess.CalledProcessError:
                h.event("retry", step="health check", attempt=attempt)
        with h.step("integration", number=4):
            h.command([PY, "-c", "import sys; print('connecting to db'); "
                                 "print('ERROR: connection refused', file=sys.stderr); "
                                 "sys.exit(2)"], check=True)


if __name__ == "__main__":
    sys.exit(main())
