"""Where exec's span goes: in flight at once, final at the end, and never in the command's way."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from exec_support import OTEL_SQLITE, clean_env, only_span, otel_sqlite, spans


def in_flight_span(db: Path) -> dict:
    """The span exec records alongside its starting command: soon, not necessarily first."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if found := spans(db):
                return found[0]
        except sqlite3.OperationalError:
            pass  # the file exists, its schema not yet
        time.sleep(0.05)
    return only_span(db)


def test_the_span_is_recorded_in_flight_while_the_command_runs(tmp_path):
    db = tmp_path / "t.db"
    child = subprocess.Popen(
        [OTEL_SQLITE, "exec", "--", "sh", "-c", "echo ready; exec sleep 30"],
        env=clean_env(db), stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout.readline() == b"ready\n"
        span = in_flight_span(db)
        assert span["end_ns"] is None
        assert isinstance(span["attributes"]["process.pid"], int)
    finally:
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=30)
    assert only_span(db)["end_ns"] is not None


def test_a_database_in_an_impossible_place_costs_one_warning_and_nothing_else(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    db = blocker / "t.db"
    done = otel_sqlite(db, "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert done.returncode == 3
    assert done.stdout == b"out\n"
    lines = done.stderr.decode().splitlines()
    assert sorted(lines, key=lambda line: line != "err") == [
        "err", next(line for line in lines if line.startswith("otel-sqlite: warning: "))
    ]


def test_a_file_that_is_not_a_database_costs_one_warning_and_nothing_else(tmp_path):
    db = tmp_path / "t.db"
    db.write_bytes(b"this is not sqlite" * 100)
    done = otel_sqlite(db, "exec", "--", "sh", "-c", "echo out; exit 4")
    assert done.returncode == 4
    assert done.stdout == b"out\n"
    assert done.stderr.count(b"\n") == 1
    assert b"otel-sqlite: warning:" in done.stderr
    assert b"not an otel-sqlite database" in done.stderr
    assert db.read_bytes() == b"this is not sqlite" * 100


def test_the_default_path_imports_neither_opentelemetry_nor_click(tmp_path):
    db = tmp_path / "t.db"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", OTEL_SQLITE, "exec", "--quiet", "--", "true"],
        env=clean_env(db), capture_output=True, timeout=60,
    )
    assert done.returncode == 0
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines()]
    assert "otel_sqlite.storage.store" in imported  # the profile really covers the write path
    assert [name for name in imported if name.startswith(("opentelemetry", "click"))] == []
    assert only_span(db)["end_ns"] is not None


def test_the_console_exporter_prints_the_span_instead(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "exec", "--", "true", env=clean_env(db, OTEL_TRACES_EXPORTER="console"))
    assert done.returncode == 0
    printed = json.loads(done.stdout)
    assert printed["name"] == "true"
    assert printed["attributes"]["harness.kind"] == "command"
    assert printed["attributes"]["process.exit.code"] == 0
    assert not db.exists()


def test_sqlite_and_console_together_store_the_same_span_that_is_printed(tmp_path):
    db = tmp_path / "t.db"
    env = clean_env(db, OTEL_TRACES_EXPORTER="sqlite,console")
    done = otel_sqlite(db, "exec", "--", "sh", "-c", "exit 2", env=env)
    assert done.returncode == 2
    printed = json.loads(done.stdout)
    span = only_span(db)
    assert printed["context"]["span_id"] == f"0x{span['span_id']}"
    assert span["status_code"] == printed["status"]["status_code"] == "ERROR"
    assert span["end_ns"] is not None


def test_an_unknown_exporter_costs_one_warning_and_the_command_still_runs(tmp_path):
    db = tmp_path / "t.db"
    env = clean_env(db, OTEL_TRACES_EXPORTER="nonesuch")
    done = otel_sqlite(db, "exec", "--", "sh", "-c", "echo hi; exit 6", env=env)
    assert done.returncode == 6
    assert done.stdout == b"hi\n"
    assert done.stderr.count(b"\n") == 1
    assert b"nonesuch" in done.stderr
    assert spans(db) == [] if db.exists() else True
