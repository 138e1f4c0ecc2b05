"""Shared fixtures: the example database written by the real harness in a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from otel_sqlite.schema import connect_readonly

SCENARIOS = Path(__file__).with_name("scenarios.py")


@pytest.fixture(scope="session")
def example_db_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("example")
    db = folder / "example.db"
    subprocess.run([sys.executable, str(SCENARIOS), str(db)], cwd=folder, check=True,
                   capture_output=True)
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
