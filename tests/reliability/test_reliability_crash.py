"""``kill -9`` at any moment: the database stays valid and keeps everything it confirmed."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from processes import gone, writers_of
from reliability_support import SOAK, cli, cli_path, integrity, read_sql, run_worker, start_worker

ITERATIONS = 200 if SOAK else 20


def _wait_for(path: Path, process, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the harness never became ready"
        time.sleep(0.01)
    return path.read_text()


def _confirmed(log: Path) -> dict[str, str]:
    """span id -> 'inflight' | 'final', from the complete lines of the side log."""
    confirmed: dict[str, str] = {}
    for line in log.read_text().splitlines(keepends=True):
        if line.endswith("\n"):
            state, span_id = line.split()
            if confirmed.get(span_id) != "final":
                confirmed[span_id] = state
    return confirmed


def _snapshot(db: Path) -> list[tuple]:
    return read_sql(
        db,
        "SELECT trace_id, span_id, end_ns, status_code, "
        "(SELECT count(*) FROM attributes WHERE span = spans.id) FROM spans ORDER BY id",
    )


def test_harness_killed_at_random_moments_leaves_a_valid_database_with_all_it_confirmed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "crash.db"
    chance = random.Random(7)
    before: list[tuple] = []
    killed: list[str] = []
    for iteration in range(ITERATIONS):
        log, ready = tmp_path / f"log-{iteration}", tmp_path / f"ready-{iteration}"
        harness = start_worker("harness_loop", db, log, ready)
        trace_id = _wait_for(ready, harness)
        killed.append(trace_id)
        time.sleep(chance.uniform(0, 0.8))
        os.kill(harness.pid, signal.SIGKILL)
        harness.communicate(timeout=30)
        assert harness.returncode == -signal.SIGKILL
        for writer in writers_of(db):  # it stores the batch in hand, then sees the pipe closed
            assert gone(writer, within=30), "the writer outlived its batch"

        assert integrity(db) == "ok"
        assert read_sql(db, "PRAGMA foreign_key_check") == []
        assert _snapshot(db)[: len(before)] == before, "a kill changed earlier runs"
        stored = {
            span_id: end_ns
            for span_id, end_ns in read_sql(
                db, "SELECT span_id, end_ns FROM spans WHERE trace_id = ?", (trace_id,)
            )
        }
        for span_id, state in _confirmed(log).items():
            assert span_id in stored, f"iteration {iteration}: confirmed span {span_id} lost"
            if state == "final":
                assert stored[span_id] is not None, f"iteration {iteration}: {span_id} unfinished"
        open_spans = read_sql(
            db,
            "SELECT s.name, p.end_ns IS NULL OR s.parent_span_id IS NULL FROM spans s "
            "LEFT JOIN spans p ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id "
            "WHERE s.trace_id = ? AND s.end_ns IS NULL ORDER BY s.start_ns",
            (trace_id,),
        )
        assert open_spans[:2] == [("crash test", 1), ("suite", 1)], open_spans
        assert all(parent_open for _, parent_open in open_spans), open_spans
        before = _snapshot(db)

    finished = run_worker(
        "harness_loop", db, tmp_path / "log-final", tmp_path / "ready-final", 3
    )
    assert finished.returncode == 0, finished.stderr.decode()
    trace_id = (tmp_path / "ready-final").read_text()
    assert read_sql(
        db,
        "SELECT count(*), count(end_ns) FROM spans WHERE trace_id = ?",
        (trace_id,),
    ) == [(2 + 3 * 3, 2 + 3 * 3)]
    assert integrity(db) == "ok"
    assert _snapshot(db)[: len(before)] == before

    runs = _cli_json("runs", "--db", db, "--status", "incomplete", "--limit", str(len(killed) + 1))
    assert sorted(run["run_id"] for run in runs) == sorted(killed)
    assert _cli_json("summary", "--db", db, killed[-1])["status"] == "incomplete"
    steps = _cli_json("steps", "--db", db, killed[-1])
    assert [s["status"] for s in steps if s["name"] == "suite"] == ["incomplete"]
    assert _cli_json("summary", "--db", db, trace_id)["status"] == "ok"


def _cli_json(*args: object):
    done = cli(*args, "--format", "json")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return json.loads(done.stdout)


def _wait_for_row(db: Path, sql: str, process, timeout: float = 60) -> tuple:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.communicate()
        try:
            if db.exists() and (rows := read_sql(db, sql)):
                return rows[0]
        except sqlite3.OperationalError:
            pass  # the file exists but its schema is still being created
        assert time.monotonic() < deadline, "the row never appeared"
        time.sleep(0.02)


def test_exec_killed_while_its_command_runs_leaves_the_command_incomplete(
    tmp_path: Path,
) -> None:
    db = tmp_path / "exec.db"
    wrapper = subprocess.Popen(
        [cli_path(), "exec", "--db", str(db), "--", "sleep", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    (pid,) = _wait_for_row(
        db, "SELECT a.value FROM spans s JOIN attributes a ON a.span = s.id "
        "WHERE s.end_ns IS NULL AND a.key = 'process.pid'", wrapper,
    )
    os.kill(wrapper.pid, signal.SIGKILL)
    wrapper.communicate(timeout=30)
    try:
        os.kill(pid, 0)  # the child runs on: nobody is left to stop it
    finally:
        os.killpg(pid, signal.SIGKILL)

    assert integrity(db) == "ok"
    (run,) = _cli_json("runs", "--db", db)
    assert (run["name"], run["status"]) == ("sleep 30", "incomplete")
    after = cli("exec", "--db", db, "--", "true")
    assert after.returncode == 0 and after.stderr == "", after.stderr
    assert sorted(r["status"] for r in _cli_json("runs", "--db", db)) == ["incomplete", "ok"]
