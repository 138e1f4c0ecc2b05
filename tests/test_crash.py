"""A harness killed with SIGKILL mid-step leaves a valid database that shows what was running."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import time, otel_sqlite as h
with h.run("nightly"):
    with h.step("finished", number=1):
        h.command(["true"])
    with h.step("hangs", number=2):
        print("in step", flush=True)
        time.sleep(60)
"""


def test_a_harness_killed_mid_step_leaves_its_run_and_step_incomplete(
    tmp_path: Path, db_path: Path
) -> None:
    script = tmp_path / "harness.py"
    script.write_text(SCRIPT)
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             env=os.environ.copy())
    assert child.stdout.readline().strip() == "in step"
    time.sleep(0.5)  # let the batch holding the finished step reach the database
    child.send_signal(signal.SIGKILL)
    child.wait()

    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = db.execute("SELECT name, end_ns IS NULL FROM spans ORDER BY start_ns").fetchall()
    assert rows == [("nightly", 1), ("finished", 0), ("true", 0), ("hangs", 1)]
