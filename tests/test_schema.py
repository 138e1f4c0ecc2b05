from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from otel_sqlite.errors import DatabaseError, NewerSchemaError
from otel_sqlite.storage.schema import SCHEMA_VERSION, connect, connect_readonly


def test_a_new_database_is_migrated_to_the_current_schema_in_wal_mode(db_path: Path) -> None:
    db = connect(db_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_the_schema_has_the_tables_and_views_of_the_data_model(db_path: Path) -> None:
    db = connect(db_path)
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    for name in ("resources", "scopes", "spans", "attributes", "events", "links", "artifacts",
                 "text_lines", "text_fts", "runs", "steps", "commands", "api_calls"):
        assert name in names


def test_reconnecting_to_a_current_database_changes_nothing(db_path: Path) -> None:
    connect(db_path).close()
    before = db_path.read_bytes()
    connect(db_path).close()
    assert db_path.read_bytes() == before


def test_a_database_from_a_newer_version_is_refused_untouched(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    before = db_path.read_bytes()
    with pytest.raises(NewerSchemaError, match="newer otel-sqlite"):
        connect(db_path)
    assert db_path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_untouched(db_path: Path) -> None:
    db_path.write_bytes(b"this is a text file, not sqlite\n" * 100)
    with pytest.raises(DatabaseError, match="not an otel-sqlite database"):
        connect(db_path)
    assert db_path.read_bytes() == b"this is a text file, not sqlite\n" * 100


def test_a_read_never_creates_a_database(db_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no database"):
        connect_readonly(db_path)
    assert not db_path.exists()


def test_a_read_only_connection_refuses_writes(db_path: Path) -> None:
    connect(db_path).close()
    db = connect_readonly(db_path)
    with pytest.raises(sqlite3.OperationalError):
        db.execute("DELETE FROM spans")


def test_the_newest_migration_runs_again_without_harm(db_path: Path) -> None:
    # A file whose last migration was cut short, or a copy rewound by hand, runs it again.
    connect(db_path).close()
    raw = sqlite3.connect(db_path)
    schema = sorted(raw.execute("SELECT type, name, sql FROM sqlite_master").fetchall(),
                    key=repr)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    raw.close()
    connect(db_path).close()
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert sorted(raw.execute("SELECT type, name, sql FROM sqlite_master").fetchall(),
                  key=repr) == schema
    raw.close()
