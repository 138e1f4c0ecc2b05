"""Where the database and its captured files live, decided in one place for every part."""

from __future__ import annotations

import os
from pathlib import Path

from otel_sqlite.conventions import ENV_DB

DEFAULT_DB_NAME = "otel-sqlite.db"


def default_db_path() -> Path:
    """``$OTEL_SQLITE_DB``, else ``otel-sqlite.db`` in the working directory."""
    return Path(os.environ.get(ENV_DB) or DEFAULT_DB_NAME)


def resolve_db_path(db: str | os.PathLike[str] | None) -> Path:
    return Path(db) if db else default_db_path()


def artifacts_dir(db_path: str | os.PathLike[str]) -> Path:
    """Captured files sit beside the database (``traces.db`` -> ``traces-artifacts/``).

    Keeping them under the database's folder lets the store record relative paths, so the
    folder can be moved or archived as a whole.
    """
    path = Path(db_path)
    return path.with_name(path.stem + "-artifacts")


def span_artifact_dir(db_path: str | os.PathLike[str], trace_id: str, span_id: str) -> Path:
    return artifacts_dir(db_path) / trace_id / span_id
