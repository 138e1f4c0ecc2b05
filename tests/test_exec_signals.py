"""Signals reach the wrapped command's whole process group; exec still records the span."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from exec_support import OTEL_SQLITE, clean_env, only_span, otel_sqlite
from processes import gone


def start_exec(db: Path, *command: str, options: tuple[str, ...] = ()) -> subprocess.Popen:
    """exec running ``command``, returned once the command has printed its first line."""
    child = subprocess.Popen(
        [OTEL_SQLITE, "exec", *options, "--", *command],
        env=clean_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert child.stdout.readline() == b"ready\n"
    return child


def test_sigint_reaches_a_child_that_traps_it_and_exec_exits_with_its_code(tmp_path):
    db = tmp_path / "t.db"
    trap = "trap 'echo caught; exit 42' INT; echo ready; while :; do sleep 0.1; done"
    child = start_exec(db, "sh", "-c", trap)
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 42
    assert out == b"caught\n"
    span = only_span(db)
    assert span["end_ns"] is not None
    assert span["attributes"]["process.exit.code"] == 42


def test_sigterm_kills_the_command_and_exec_dies_of_it_after_recording(tmp_path):
    db = tmp_path / "t.db"
    child = start_exec(db, "sh", "-c", "echo ready; exec sleep 30")
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM
    span = only_span(db)
    assert span["end_ns"] is not None
    assert span["attributes"]["process.exit.code"] == 143
    assert span["status_message"] == "killed by SIGTERM"


def test_sighup_reaches_grandchildren_in_the_group(tmp_path):
    db = tmp_path / "t.db"
    pid_file = tmp_path / "grandchild.pid"
    script = f"sleep 30 & echo $! > {pid_file}; echo ready; wait"
    child = start_exec(db, "sh", "-c", script)
    grandchild = int(pid_file.read_text())
    child.send_signal(signal.SIGHUP)
    child.communicate(timeout=30)
    assert gone(grandchild)
    assert only_span(db)["end_ns"] is not None


def test_timeout_stops_a_child_that_ignores_sigterm_and_its_grandchild(tmp_path):
    db = tmp_path / "t.db"
    pid_file = tmp_path / "grandchild.pid"
    script = f"trap '' TERM; sleep 30 & echo $! > {pid_file}; wait; wait; wait"
    done = otel_sqlite(db, "exec", "--timeout", "1", "--kill-after", "0.5", "--",
                       "sh", "-c", script)
    assert done.returncode == 124
    assert gone(int(pid_file.read_text()))
    span = only_span(db)
    assert span["status_code"] == "ERROR"
    assert span["status_message"] == "timed out after 1 s, killed by SIGKILL"
    assert span["attributes"]["harness.timeout.seconds"] == 1.0
    assert span["attributes"]["process.exit.code"] == 124


def test_a_command_within_its_timeout_is_untouched(tmp_path):
    db = tmp_path / "t.db"
    done = otel_sqlite(db, "exec", "--timeout", "20", "--", "sh", "-c", "exit 5")
    assert done.returncode == 5
    assert "harness.timeout.seconds" not in only_span(db)["attributes"]


def test_exec_returns_when_the_command_exits_even_if_a_background_child_holds_its_output(
    tmp_path,
):
    db = tmp_path / "t.db"
    pid_file = tmp_path / "background.pid"
    script = f"sleep 30 & echo $! > {pid_file}; echo hi"
    done = otel_sqlite(db, "exec", "--", "sh", "-c", script, timeout=20)  # hangs if it waits
    try:
        assert done.returncode == 0
        assert done.stdout == b"hi\n"
    finally:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
