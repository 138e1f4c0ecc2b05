"""Many processes write one database at once: nothing is lost, nothing is locked out."""

from __future__ import annotations

from pathlib import Path

from reliability_support import integrity, read_json, read_sql, start_worker

WRITERS = 8
SPANS_PER_WRITER = 2_000
READERS = 2


def test_eight_writers_and_readers_share_one_file_without_loss_or_lock_errors(
    tmp_path: Path,
) -> None:
    db = tmp_path / "shared.db"  # not created first: the writers race to create it
    stop = tmp_path / "stop"
    readers = [
        (start_worker("reader", db, stop, tmp_path / f"reader-{n}.json"), n)
        for n in range(READERS)
    ]
    writers = [
        start_worker(
            "writer", db, n, SPANS_PER_WRITER, "simple" if n % 2 else "batch",
            tmp_path / f"writer-{n}.json",
        )
        for n in range(WRITERS)
    ]
    writer_errors = [process.communicate(timeout=150)[1].decode() for process in writers]
    stop.touch()
    reader_errors = [process.communicate(timeout=30)[1].decode() for process, _ in readers]

    assert [p.returncode for p in writers] == [0] * WRITERS, writer_errors
    assert not any("locked" in text for text in writer_errors), writer_errors
    for n in range(WRITERS):
        result = read_json(tmp_path / f"writer-{n}.json")
        assert result["results"]["FAILURE"] == 0, result
    assert [p.returncode for p, _ in readers] == [0] * READERS, reader_errors
    for _, n in readers:
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
    assert read_sql(db, "SELECT count(*) FROM spans") == [(WRITERS * SPANS_PER_WRITER,)]
