"""Many processes write one database at once: nothing is lost, nothing is locked out.

Eight SDK writers (half exporting every span in its own transaction), a bash loop of
`otel-sqlite exec` calls, library readers and CLI readers all use one file at the same time."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from reliability_support import (
    SOAK,
    cli_path,
    integrity,
    read_json,
    read_sql,
    start_script,
    start_worker,
)

from otel_sqlite.errors import DatabaseError
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage import store as store_module
from otel_sqlite.storage.store import Store

WRITERS = 8
SPANS_PER_WRITER = 20_000 if SOAK else 2_000
READERS = 2
EXEC_LOOPS, EXEC_CALLS = 2, 100  # two shells, 100 `otel-sqlite exec` calls each


def test_writers_exec_loop_and_readers_share_one_file_without_loss_or_lock_errors(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shared.db"  # not created first: the writers race to create it
    stop = tmp_path / "stop"
    processes = []
    try:
        readers = [
            start_worker("reader", db, stop, tmp_path / f"reader-{n}.json")
            for n in range(READERS)
        ]
        writers = [
            start_worker(
                "writer", db, n, SPANS_PER_WRITER, "simple" if n % 2 else "batch",
                tmp_path / f"writer-{n}.json",
            )
            for n in range(WRITERS)
        ]
        cli_readers = start_script("cli_readers", cli_path(), db, stop, tmp_path)
        exec_loops = [
            start_script("exec_loop", cli_path(), db, n, EXEC_CALLS, tmp_path / "exec-failures")
            for n in range(EXEC_LOOPS)
        ]
        processes = [*readers, *writers, cli_readers, *exec_loops]
        writer_errors = [process.communicate(timeout=300)[1].decode() for process in writers]
        exec_errors = [process.communicate(timeout=300)[1].decode() for process in exec_loops]
        stop.touch()
        reader_errors = [process.communicate(timeout=60)[1].decode() for process in readers]
        cli_reader_errors = cli_readers.communicate(timeout=60)[1].decode()
    finally:
        stop.touch()
        for process in processes:
            if process.poll() is None:
                process.kill()

    assert [p.returncode for p in exec_loops] == [0] * EXEC_LOOPS, exec_errors
    assert exec_errors == [""] * EXEC_LOOPS, exec_errors
    assert not (tmp_path / "exec-failures").exists(), (tmp_path / "exec-failures").read_text()
    assert cli_readers.returncode == 0 and cli_reader_errors == "", cli_reader_errors
    assert not (tmp_path / "cli-failures").exists(), (tmp_path / "cli-stderr").read_text()
    assert int((tmp_path / "cli-rounds").read_text()) > 0
    assert [p.returncode for p in writers] == [0] * WRITERS, writer_errors
    assert not any("locked" in text for text in writer_errors), writer_errors
    for n in range(WRITERS):
        result = read_json(tmp_path / f"writer-{n}.json")
        assert result["results"]["FAILURE"] == 0, result
    assert [p.returncode for p in readers] == [0] * READERS, reader_errors
    for n in range(READERS):
        result = read_json(tmp_path / f"reader-{n}.json")
        assert result["errors"] == [] and result["rounds"] > 0, result

    assert integrity(db) == "ok"
    per_worker = read_sql(
        db,
        "SELECT w.value, count(*), count(DISTINCT q.value), min(q.value), max(q.value), "
        "count(s.end_ns) FROM attributes w "
        "JOIN attributes q ON q.span = w.span AND q.key = 'test.seq' "
        "JOIN spans s ON s.id = w.span WHERE w.key = 'test.worker' GROUP BY w.value",
    )
    expected = SPANS_PER_WRITER
    assert per_worker == [
        (n, expected, expected, 0, expected - 1, expected) for n in range(WRITERS)
    ]
    execs = read_sql(
        db, "SELECT count(*), count(DISTINCT name), count(end_ns) FROM spans "
        "WHERE name LIKE 'echo exec-loop %'"
    )
    total = EXEC_LOOPS * EXEC_CALLS
    assert execs == [(total, total, total)]
    assert read_sql(db, "SELECT count(*) FROM spans") == [
        (WRITERS * SPANS_PER_WRITER + EXEC_LOOPS * EXEC_CALLS,)
    ]


FRESH_TRIALS, FRESH_PROCESSES = 4, 6


def test_processes_starting_at_once_on_a_fresh_path_all_record_their_first_write(
    tmp_path: Path,
) -> None:
    """Parallel test workers or a CI matrix's execs: they race to create the file, switch it
    to WAL and create the schema, and every first write lands."""
    for trial in range(FRESH_TRIALS):
        db = tmp_path / f"fresh-{trial}.db"
        go_read, go_write = os.pipe()
        workers = [
            start_worker("first_write", db, go_read, n, pass_fds=(go_read,),
                         stdout=subprocess.PIPE)
            for n in range(FRESH_PROCESSES)
        ]
        os.close(go_read)
        os.write(go_write, b"g" * FRESH_PROCESSES)  # released together
        os.close(go_write)
        outcomes = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]
        assert [o["error"] for o in outcomes if not o["ok"]] == []
        assert read_sql(db, "SELECT count(*) FROM spans WHERE end_ns IS NULL") == [
            (FRESH_PROCESSES,)]


def test_creating_the_schema_waits_for_another_connection_holding_a_fresh_file(
    tmp_path: Path,
) -> None:
    """A fresh file is still in rollback-journal mode while its creator writes the schema;
    SQLite then refuses another connection's switch to WAL at once, without its busy handler."""
    db = tmp_path / "fresh.db"
    creator = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    creator.execute("BEGIN IMMEDIATE")
    done = threading.Timer(0.3, lambda: creator.execute("COMMIT"))
    done.start()
    started = time.monotonic()
    Store(db).write([SpanRecord("0" * 31 + "1", "0" * 15 + "1", "first", 1)])
    done.join()
    creator.close()
    assert time.monotonic() - started >= 0.25
    assert read_sql(db, "SELECT name FROM spans") == [("first",)]


def test_a_lock_held_past_the_busy_timeout_is_reported_with_how_long_it_was_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "held.db"
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 300)
    with pytest.raises(DatabaseError) as raised:
        Store(db).write([SpanRecord("0" * 31 + "1", "0" * 15 + "1", "late", 1)])
    holder.close()
    assert re.fullmatch(
        rf"{re.escape(str(db))} stayed locked by another connection for 0\.[3-9] s "
        r"\(the busy timeout is 0.3 s\): database is locked", str(raised.value))
