"""Shared fixtures: every test gets its own database through the environment, as users do."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otel_sqlite.storage.schema import connect_readonly

# Variables that would leak a developer's own setup into the tests.
_ISOLATED = ("TRACEPARENT", "TRACESTATE", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME",
             "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SQLITE_PYTEST", "OTEL_SQLITE_RUN",
             "OTEL_SQLITE_PRICES")


@pytest.fixture(autouse=True)
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in _ISOLATED:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "traces.db"
    monkeypatch.setenv("OTEL_SQLITE_DB", str(path))
    return path


@pytest.fixture
def run_python(tmp_path: Path):
    """Run a Python script in a fresh interpreter (the harness API is process-global)."""

    def run(source: str, *, env: dict[str, str] | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        script = tmp_path / "script.py"
        script.write_text(textwrap.dedent(source))
        done = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
            env={**os.environ, **(env or {})}, timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"script failed ({done.returncode}):\n{done.stderr}")
        return done

    return run


@pytest.fixture
def query(db_path: Path):
    """Rows of a read-only SQL query on the test's database."""

    def run(sql: str, params: tuple = ()) -> list[tuple]:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    return run


SCENARIOS = Path(__file__).with_name("scenarios.py")


@pytest.fixture(scope="session")
def example_db_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("example")
    db = folder / "example.db"
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATED}
    subprocess.run([sys.executable, str(SCENARIOS), str(db)], cwd=folder, check=True,
                   capture_output=True, env=env)
    return db


@pytest.fixture
def example_db(example_db_master: Path, tmp_path: Path) -> Path:
    """A private copy of the example database (and its artifacts) for one test."""
    shutil.copytree(example_db_master.parent, tmp_path / "example")
    return tmp_path / "example" / "example.db"


@pytest.fixture(scope="session")
def example(example_db_master: Path):
    """A read-only connection to the shared example database, for tests that only read."""
    db = connect_readonly(example_db_master)
    yield db
    db.close()


@pytest.fixture
def tracer(tmp_path: Path):
    """An SDK tracer whose spans go straight into ``tmp_path / "sdk.db"`` (no harness)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from otel_sqlite.exporter import SQLiteSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SQLiteSpanExporter(tmp_path / "sdk.db")))
    yield provider.get_tracer("tests")
    provider.shutdown()
