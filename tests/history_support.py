"""Databases for the merge, archive and several-files tests, and ways to compare them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from processes import read_sql

from otel_sqlite import conventions as c
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage.artifacts import fingerprint, resolve_stored_path
from otel_sqlite.storage.paths import span_artifact_dir
from otel_sqlite.storage.store import Store

CLI = [str(Path(sys.executable).with_name("otel-sqlite"))]
DAY_NS = 86_400 * 10**9

HARNESS_SCRIPT = """
import sys
from otel_sqlite import harness as h
h.configure(sys.argv[1], service_name="agent")
with h.run("agent-session"):
    with h.step("plan", number=1):
        with h.api_call("claude-sonnet-4", provider="anthropic", input_tokens=1200,
                        output_tokens=300, cost_usd=0.0081):
            pass
    with h.step("act", number=2):
        h.command(["/bin/sh", "-c", "echo bravo-harness-output"])
        with h.api_call("gpt-4o", provider="openai", input_tokens=800, output_tokens=100,
                        cost_usd=0.003):
            pass
"""


def cli(*args: object, **kwargs: object) -> subprocess.CompletedProcess:
    """Run the installed ``otel-sqlite`` command."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120,
                          **kwargs)


def write_exec_db(db: Path) -> None:
    """Two ``exec`` runs with captured output, and a run left in flight (``run start``)."""
    for word in ("alpha", "gamma"):
        done = cli("exec", "--db", db, "--", "/bin/sh", "-c",
                   f"echo {word}-exec-output; echo {word}-warning >&2")
        assert done.returncode == 0, done.stderr
    started = cli("run", "start", "--db", db, "--name", "still-running")
    assert started.returncode == 0, started.stderr


def write_harness_db(db: Path) -> None:
    """A harness run with steps, a command and two api_calls, in its own process."""
    script = db.with_suffix(".py")
    script.write_text(textwrap.dedent(HARNESS_SCRIPT))
    done = subprocess.run([sys.executable, str(script), str(db)], capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items()
                                          if k != "OTEL_SQLITE_DB"})
    assert done.returncode == 0, done.stderr
    script.unlink()


def runs_with_files(db: Path, starts: list[int]) -> None:
    """A finished run per start time, each with a command span and its stdout file."""
    store = Store(db)
    records = []
    for number, start in enumerate(starts):
        trace, run, command = f"{number + 1:032x}", f"{number + 1:016x}", f"{number + 1:015x}f"
        stdout = span_artifact_dir(db, trace, command) / c.ROLE_STDOUT
        stdout.parent.mkdir(parents=True)
        stdout.write_text(f"output of run {number}\n")
        records += [
            SpanRecord(trace, run, f"run {number}", start, start + 10,
                       attributes={c.HARNESS_KIND: c.KIND_RUN}),
            SpanRecord(trace, command, "echo", start + 1, start + 9, parent_span_id=run,
                       attributes={c.HARNESS_KIND: c.KIND_COMMAND, "n": number},
                       events=[EventRecord(c.ARTIFACT_EVENT, start + 9,
                                           {c.ARTIFACT_PATH: str(stdout),
                                            c.ARTIFACT_ROLE: c.ROLE_STDOUT})]),
        ]
    store.write(records)
    store.close()


def kill_once_spans_land(script: str, args: list[object], db: Path, spans: int) -> int:
    """Run ``script`` in a Python process, SIGKILL it once ``db`` holds ``spans`` spans, and
    return how many it holds then."""
    path = db.with_name("killable.py")
    path.write_text(textwrap.dedent(script))
    child = subprocess.Popen([sys.executable, str(path), *map(str, args)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None and span_count(db) < spans:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return span_count(db)


def span_count(db: Path) -> int:
    try:
        return read_sql(db, "SELECT count(*) FROM spans")[0][0]
    except sqlite3.Error:  # not created yet
        return 0


def content(db: Path) -> dict[str, set[tuple]]:
    """Every row of a database keyed by (trace id, span id) instead of row ids, and every
    artifact's file as its sha256: what must survive a merge or an archive unchanged."""
    spans = "JOIN spans s ON s.id = x.span"
    found = {
        "spans": set(read_sql(db, "SELECT trace_id, span_id, parent_span_id, name, kind, "
                              "harness_kind, start_ns, end_ns, status_code, status_message, "
                              "trace_state, trace_flags FROM spans")),
        "resources": set(read_sql(db, "SELECT s.trace_id, s.span_id, r.fingerprint, r.attributes "
                                  "FROM spans s JOIN resources r ON r.id = s.resource_id")),
        "scopes": set(read_sql(db, "SELECT s.trace_id, s.span_id, o.name, o.version "
                               "FROM spans s JOIN scopes o ON o.id = s.scope_id")),
        "attributes": set(read_sql(db, f"SELECT s.trace_id, s.span_id, x.key, x.value, x.type "
                                   f"FROM attributes x {spans}")),
        "events": set(read_sql(db, f"SELECT s.trace_id, s.span_id, x.name, x.time_ns, x.attributes "
                               f"FROM events x {spans}")),
        "links": set(read_sql(db, f"SELECT s.trace_id, s.span_id, x.trace_id, x.span_id "
                              f"FROM links x {spans}")),
        "text_lines": set(read_sql(db, f"SELECT s.trace_id, s.span_id, x.line, x.text "
                                   f"FROM text_lines x {spans}")),
        "run_roots": set(read_sql(db, "SELECT r.trace_id, s.span_id FROM run_roots r "
                                  "JOIN spans s ON s.id = r.span")),
    }
    files = set()
    for trace, span, role, path, sha256, size in read_sql(
        db, f"SELECT s.trace_id, s.span_id, x.role, x.path, x.sha256, x.size "
            f"FROM artifacts x {spans}"
    ):
        file = resolve_stored_path(path, db)
        files.add((trace, span, role, sha256, size,
                   fingerprint(file)[1] if file.is_file() else None))
    found["artifacts"] = files
    return found


def union(*parts: dict[str, set[tuple]]) -> dict[str, set[tuple]]:
    return {table: set().union(*(part[table] for part in parts)) for table in parts[0]}


def integrity(db: Path) -> str:
    return read_sql(db, "PRAGMA integrity_check")[0][0]
