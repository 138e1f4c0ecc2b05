"""Many processes write one database at once: nothing is lost, nothing is locked out.

Eight SDK writers (half exporting every span in its own transaction), a bash loop of
`otel-sqlite exec` calls, library readers and CLI readers all use one file at the same time."""

from __future__ import annotations

from pathlib import Path

from reliability_support import (
    SOAK,
    cli_path,
    integrity,
    read_json,
    read_sql,
    start_script,
    start_worker,
)

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
