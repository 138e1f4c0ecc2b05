"""``prune`` while writers record: no writer notices, and nothing of a pruned run survives."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from reliability_support import SOAK, cli, integrity, log_lines, read_sql, start_worker

from otel_sqlite import conventions as c
from otel_sqlite.records import EventRecord, SpanRecord
from otel_sqlite.storage.paths import span_artifact_dir
from otel_sqlite.storage.store import Store

WRITERS = 4
STEPS = 1000 if SOAK else 100
OLD_RUNS_PER_ROUND = 20
DAY_NS = 86_400 * 10**9


def _old_runs(store: Store, first: int, count: int) -> None:
    """``count`` finished runs from three days ago, each with a command and its output file."""
    start = time.time_ns() - 3 * DAY_NS
    records = []
    for number in range(first, first + count):
        trace, run, command = f"{number + 1:032x}", f"{number + 1:016x}", f"{number + 1:015x}f"
        stdout = span_artifact_dir(store.path, trace, command) / c.ROLE_STDOUT
        stdout.parent.mkdir(parents=True)
        stdout.write_text(f"old output {number}\n")
        records += [
            SpanRecord(trace, run, f"old run {number}", start, start + 10,
                       attributes={c.HARNESS_KIND: c.KIND_RUN}),
            SpanRecord(trace, command, "echo old", start + 1, start + 9, parent_span_id=run,
                       attributes={c.HARNESS_KIND: c.KIND_COMMAND, "n": number},
                       events=[EventRecord(c.ARTIFACT_EVENT, start + 9,
                                           {c.ARTIFACT_PATH: str(stdout),
                                            c.ARTIFACT_ROLE: c.ROLE_STDOUT})]),
        ]
    store.write(records)


def _orphans(db: Path) -> dict[str, int]:
    counts = {
        table: read_sql(
            db, f"SELECT count(*) FROM {table} WHERE span NOT IN (SELECT id FROM spans)"
        )[0][0]
        for table in ("attributes", "events", "links", "artifacts", "text_lines", "run_roots")
    }
    counts["text_lines of gone artifacts"] = read_sql(
        db, "SELECT count(*) FROM text_lines WHERE artifact IS NOT NULL "
        "AND artifact NOT IN (SELECT id FROM artifacts)",
    )[0][0]
    return counts


def test_prune_during_writes_leaves_no_writer_error_orphan_row_or_file(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    store = Store(db)
    _old_runs(store, 0, OLD_RUNS_PER_ROUND)
    writers = [
        start_worker("harness_loop", db, tmp_path / f"log-{n}", tmp_path / f"ready-{n}", STEPS)
        for n in range(WRITERS)
    ]
    prunes, rounds = [], 1
    while any(writer.poll() is None for writer in writers):
        prunes.append(cli("prune", "--db", db, "--older-than", "1d", "--format", "json"))
        _old_runs(store, rounds * OLD_RUNS_PER_ROUND, OLD_RUNS_PER_ROUND)
        rounds += 1
    prunes.append(cli("prune", "--db", db, "--older-than", "1d", "--format", "json"))
    store.close()

    for writer in writers:
        stderr = writer.communicate(timeout=60)[1].decode()
        assert writer.returncode == 0 and log_lines(stderr) == [], stderr
    assert all(p.returncode == 0 and p.stderr == "" for p in prunes), [p.stderr for p in prunes]
    assert len(prunes) >= 3, "prune hardly overlapped the writers"
    pruned = sum(json.loads(p.stdout)["runs"] for p in prunes)
    assert pruned == rounds * OLD_RUNS_PER_ROUND

    assert integrity(db) == "ok"
    assert read_sql(db, "SELECT count(*) FROM spans WHERE name LIKE 'old %'") == [(0,)]
    assert _orphans(db) == dict.fromkeys(_orphans(db), 0)
    connection = sqlite3.connect(db)  # FTS5's own check reads through a writable handle
    try:
        connection.execute("INSERT INTO text_fts (text_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        connection.close()
    for n in range(WRITERS):
        trace = (tmp_path / f"ready-{n}").read_text()
        assert read_sql(
            db, "SELECT count(*), count(end_ns) FROM spans WHERE trace_id = ?", (trace,)
        ) == [(2 + 3 * STEPS, 2 + 3 * STEPS)]

    folder = tmp_path / "kept-artifacts"
    on_disk = {p for p in folder.rglob("*") if p.is_file()}
    recorded = {tmp_path / path for (path,) in read_sql(db, "SELECT path FROM artifacts")}
    assert on_disk == recorded
    assert len(recorded) == WRITERS * STEPS * 2
