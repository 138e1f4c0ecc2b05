"""Faults around the database: the host keeps its exit status, the exporter says why once,
the CLI prints one clear line, and nothing already stored is lost or altered."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from reliability_support import (
    cli,
    host_app,
    integrity,
    log_lines,
    read_sql,
    remount_read_only,
    sha256,
    tmpfs,
)

from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.store import Store

HOST_EXIT = 3  # the host application's own status, which otel-sqlite must not change


def _finish(host: subprocess.Popen) -> str:
    stderr = host.communicate(timeout=60)[1].decode()
    assert host.returncode == HOST_EXIT, stderr
    assert "Traceback" not in stderr, stderr
    return stderr


def _pause(host: subprocess.Popen, pause: Path) -> None:
    """Wait until the host has finished its first step and is waiting inside its run."""
    deadline = time.monotonic() + 60
    while not (pause.exists() and pause.read_text() == "paused"):
        assert host.poll() is None, host.communicate()[1].decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _resume(pause: Path) -> None:
    pause.write_text("go")


def _spans(db: Path) -> list[tuple]:
    return read_sql(db, "SELECT trace_id, span_id, name, end_ns FROM spans ORDER BY id")


def _recorded(tmp_path: Path, name: str = "stored.db") -> Path:
    """A database holding one finished host run."""
    db = tmp_path / name
    host = host_app(db, HOST_EXIT)
    assert log_lines(_finish(host)) == []
    return db


def _assert_cli_refuses(
    db: Path, *words: str, commands: tuple[tuple[str, ...], ...] = (("init",),)
) -> None:
    """Each command prints one line naming the cause and exits non-zero."""
    for command in commands:
        done = cli(*command, "--db", db)
        assert done.returncode != 0, command
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: "), done.stderr
        assert all(word in done.stderr for word in words), done.stderr


READERS = (("init",), ("runs",), ("summary", "latest"), ("search", "error"), ("show", "latest"))


def test_a_directory_in_place_of_the_database_fails_each_export_with_one_log_line(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "traces.db"
    folder.mkdir()
    stderr = _finish(host_app(folder, HOST_EXIT))
    assert len(log_lines(stderr)) == 1 and "is a directory" in stderr, stderr
    assert list(folder.iterdir()) == []
    _assert_cli_refuses(folder, "is a directory", commands=READERS)


def test_a_file_that_is_not_a_database_is_refused_and_stays_byte_identical(
    tmp_path: Path,
) -> None:
    other = tmp_path / "notes.db"
    other.write_bytes(b"my notes, not a database\n" * 100)
    before = sha256(other)
    stderr = _finish(host_app(other, HOST_EXIT))
    assert len(log_lines(stderr)) == 1 and "not an otel-sqlite database" in stderr, stderr
    _assert_cli_refuses(other, "not an otel-sqlite database", commands=READERS)
    assert sha256(other) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes.db")) == [
        "notes.db"
    ]


def test_a_database_from_a_newer_schema_is_refused_and_stays_byte_identical(
    tmp_path: Path,
) -> None:
    db = _recorded(tmp_path)
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA user_version = 999")
    connection.close()
    before = sha256(db)
    stderr = _finish(host_app(db, HOST_EXIT))
    assert len(log_lines(stderr)) == 1 and "newer otel-sqlite" in stderr, stderr
    _assert_cli_refuses(db, "newer otel-sqlite", "999", commands=READERS)
    assert sha256(db) == before


def test_a_database_on_a_read_only_filesystem_is_kept_and_still_readable(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "ro", "4m") as folder:
        db = _recorded(folder)
        stored, before = _spans(db), sha256(db)
        remount_read_only(folder)

        stderr = _finish(host_app(db, HOST_EXIT))
        lines = log_lines(stderr)
        assert len(lines) == 2, stderr  # one per cause: the database, the captured output
        assert "read-only" in lines[0] and "Read-only file system" in lines[1], lines
        _assert_cli_refuses(folder / "new.db", "read-only")
        assert sha256(db) == before
        assert _spans(db) == stored
        runs = cli("runs", "--db", db, "--format", "json")
        assert runs.returncode == 0 and '"host run"' in runs.stdout, runs.stderr


def test_a_database_archived_on_read_only_media_can_still_be_read(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "archive", "4m") as folder:
        db = _recorded(folder)
        Store(db).close()  # the last connection to close folds the WAL in and removes it
        assert not Path(f"{db}-wal").exists()
        remount_read_only(folder)
        connection = connect_readonly(db)
        try:
            names = connection.execute("SELECT name FROM runs").fetchall()
        finally:
            connection.close()
        assert names == [("host run",)]


def _fill(folder: Path, name: str = "filler") -> Path:
    filler = folder / name
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_disk_that_fills_during_a_run_costs_only_what_did_not_fit(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "2m") as folder:
        db = _recorded(folder)
        pause = folder / "pause"
        host = host_app(db, HOST_EXIT, pause)
        _pause(host, pause)
        stored = {row[:3]: row[3] for row in _spans(db)}
        filler = _fill(folder)
        _resume(pause)
        stderr = _finish(host)
        lines = log_lines(stderr)
        assert len(lines) <= 2, stderr  # one per cause: the database, the captured output
        assert any("the disk is full" in line for line in lines), stderr
        top_up = _fill(folder, "top-up")  # the host's exit gave back its WAL's pages
        _assert_cli_refuses(folder / "new.db", "disk is full")

        filler.unlink()
        top_up.unlink()
        assert integrity(db) == "ok"
        now = {row[:3]: row[3] for row in _spans(db)}
        for span, end_ns in stored.items():
            assert span in now, f"{span} was lost"
            assert end_ns is None or now[span] == end_ns, f"{span} was altered"


def test_a_file_size_limit_fails_exports_without_touching_the_host(tmp_path: Path) -> None:
    """Where no filesystem can be mounted, RLIMIT_FSIZE makes the same 'no room' fault."""
    db = _recorded(tmp_path)
    stored, limit = _spans(db), db.stat().st_size

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    stderr = _finish(host_app(db, HOST_EXIT, preexec_fn=limited))
    assert 1 <= len(log_lines(stderr)) <= 2, stderr
    assert integrity(db) == "ok"
    assert _spans(db)[: len(stored)] == stored


def test_deleting_the_artifact_folder_between_runs_does_not_disturb_the_next_run(
    tmp_path: Path,
) -> None:
    db = _recorded(tmp_path)
    stored = _spans(db)
    shutil.rmtree(tmp_path / "stored-artifacts")
    assert log_lines(_finish(host_app(db, HOST_EXIT))) == []
    assert _spans(db)[: len(stored)] == stored
    paths = [p for (p,) in read_sql(db, "SELECT path FROM artifacts ORDER BY id")]
    assert len(paths) == 8
    assert [(tmp_path / p).is_file() for p in paths] == [False] * 4 + [True] * 4


def test_a_database_deleted_during_a_long_run_is_recreated_with_the_rest_of_the_run(
    tmp_path: Path,
) -> None:
    db = tmp_path / "long.db"
    pause = tmp_path / "pause"
    host = host_app(db, HOST_EXIT, pause)
    _pause(host, pause)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    _resume(pause)
    lines = log_lines(_finish(host))
    assert len(lines) == 1 and "deleted or replaced" in lines[0], lines
    assert integrity(db) == "ok"
    rows = read_sql(db, "SELECT name, end_ns IS NOT NULL FROM spans WHERE name IN (?, ?)",
                    ("host run", "second"))
    assert sorted(rows) == [("host run", 1), ("second", 1)]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a filesystem")
def test_root_can_mount_the_filesystems_these_tests_need(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "probe", "1m") as folder:
        assert folder.is_dir()


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "dir.db").mkdir()
    return tmp_path / "dir.db"


def _not_a_database(tmp_path: Path) -> Path:
    (tmp_path / "notes.db").write_bytes(b"not a database\n" * 100)
    return tmp_path / "notes.db"


def _newer(tmp_path: Path) -> Path:
    db = _recorded(tmp_path)
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA user_version = 999")
    connection.close()
    return db


@pytest.mark.parametrize("make", [_directory, _not_a_database, _newer],
                         ids=["directory", "not-a-database", "newer-schema"])
def test_exec_on_a_broken_database_still_runs_the_command_and_keeps_its_exit_code(
    tmp_path: Path, make
) -> None:  # noqa: ANN001
    db = make(tmp_path)
    before = sha256(db) if db.is_file() else None
    done = cli("exec", "--db", db, "--", "sh", "-c", "echo out; exit 7")
    assert done.returncode == 7
    assert done.stdout == "out\n"
    assert done.stderr.count("\n") == 1 and "otel-sqlite" in done.stderr, done.stderr
    assert (sha256(db) if db.is_file() else None) == before
