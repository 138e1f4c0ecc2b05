"""How read commands open the database: read-only, never creating it, and the shared options."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import click

from otel_sqlite.cli.options import Databases
from otel_sqlite.queries.timespec import parse_moment
from otel_sqlite.storage.paths import resolve_db_path
from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.several import connect_several

F = TypeVar("F", bound=Callable[..., Any])


def open_db(db: Databases) -> sqlite3.Connection:
    """The database named by ``--db`` (else the default), opened read-only; several files
    (``dbs_option``) are read as one (``storage.several``)."""
    if isinstance(db, list):
        return connect_several(db)
    return connect_readonly(resolve_db_path(db))


def open_each(dbs: list[str]) -> list[sqlite3.Connection]:
    """Each of several databases on its own read-only connection (``queries.several``)."""
    return [connect_readonly(db) for db in dbs]


def since_option(fn: F) -> F:
    return click.option(
        "--since", "since", metavar="AGE|DATE",
        help="Only what started since then: an age (2h, 7d) or a date (2026-01-31).",
    )(fn)


def since_ns(since: str | None) -> int | None:
    return None if since is None else parse_moment(since)


# A terminal table cuts longer text cells; JSON and CSV keep the whole value.
MAX_CELL = 80


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_CELL:
        return value[: MAX_CELL - 1] + "…"
    return value


def pick(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The columns a terminal table shows, long text cut; JSON and CSV keep every field."""
    return [{column: _short(row.get(column)) for column in columns} for row in rows]
