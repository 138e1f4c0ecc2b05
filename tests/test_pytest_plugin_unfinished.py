"""Sessions that do not run their tests to the end: modules that fail to import or skip
themselves whole, a session interrupted in the middle of a test, one killed outright."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

from pytest_plugin_support import clean_env, rows, run_pytest


def test_an_unimportable_module_is_an_error_step_and_a_skipped_module_a_skipped_one(tmp_path):
    (tmp_path / "test_broken.py").write_text("import no_such_module_here\n")
    (tmp_path / "test_later.py").write_text(
        "import pytest\npytest.skip('not on this host', allow_module_level=True)\n"
    )
    done = run_pytest(tmp_path, "--otel-sqlite=runs.db")
    assert done.returncode == 2, done.stdout + done.stderr  # pytest: interrupted by collection
    db = tmp_path / "runs.db"
    steps = rows(
        db,
        "SELECT s.name, s.status_code, a.value FROM steps s JOIN attributes a ON a.span = s.id "
        "AND a.key = 'harness.test.outcome' ORDER BY s.name",
    )
    assert steps == [("test_broken.py", "ERROR", "error"), ("test_later.py", "UNSET", "skipped")]
    assert rows(
        db,
        "SELECT count(*) FROM text_fts JOIN text_lines t ON t.id = text_fts.rowid "
        "WHERE text_fts MATCH ?", '"no_such_module_here"',
    ) == [(1,)]
    assert rows(db, "SELECT status FROM runs") == [("error",)]


def test_an_interrupted_session_ends_the_running_test_as_interrupted(tmp_path):
    (tmp_path / "test_stop.py").write_text(
        "def test_first():\n    pass\n\n"
        "def test_ctrl_c():\n    raise KeyboardInterrupt\n\n"
        "def test_never_reached():\n    pass\n"
    )
    done = run_pytest(tmp_path, "--otel-sqlite=runs.db")
    assert done.returncode == 2, done.stdout + done.stderr
    db = tmp_path / "runs.db"
    assert rows(
        db,
        "SELECT s.name, s.status_code, a.value, s.end_ns IS NOT NULL FROM steps s "
        "JOIN attributes a ON a.span = s.id AND a.key = 'harness.test.outcome' ORDER BY s.number",
    ) == [
        ("test_stop.py::test_first", "UNSET", "passed", 1),
        ("test_stop.py::test_ctrl_c", "ERROR", "interrupted", 1),
    ]
    assert rows(db, "SELECT status, status_message FROM runs") == [
        ("error", "pytest: interrupted")
    ]


def wait_for(db, sql: str, expected: list[tuple], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if rows(db, sql) == expected:
                return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.05)
    raise AssertionError(f"{sql} never gave {expected}")


def test_a_session_killed_in_a_hanging_test_leaves_that_test_incomplete(tmp_path):
    (tmp_path / "test_hang.py").write_text(
        "import time\n\n"
        "def test_quick():\n    pass\n\n"
        "def test_hangs():\n    time.sleep(60)\n"
    )
    db = tmp_path / "runs.db"
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--otel-sqlite=runs.db"],
        cwd=tmp_path, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(db, "SELECT name, end_ns IS NULL FROM steps ORDER BY number",
                 [("test_hang.py::test_quick", 0), ("test_hang.py::test_hangs", 1)])
    finally:
        session.send_signal(signal.SIGKILL)
        session.wait()
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "SELECT status FROM runs") == [("incomplete",)]
