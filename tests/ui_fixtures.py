"""Fixtures of the UI tests (a pytest plugin: ``pytest_plugins = ["ui_fixtures"]``): the example
database, built once per session, and a server over it per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_support import build_example, running

from otel_sqlite.ui.server import UIServer


@pytest.fixture(scope="session")
def ui_example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session; tests must not change it (use ``write_run`` on their own db)."""
    folder = tmp_path_factory.getbasetemp() / "ui-example"
    db = folder / "example.db"
    if not db.exists():
        folder.mkdir(exist_ok=True)
        build_example(db)
    return db


@pytest.fixture(scope="module")
def ui_server(ui_example_db: Path) -> Iterator[UIServer]:
    with running(ui_example_db) as server:
        yield server
