"""Options every command shares, so ``--db`` and ``--format`` mean the same thing everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")


def db_option(fn: F) -> F:
    return click.option(
        "--db",
        "db",
        type=click.Path(),
        envvar="OTEL_SQLITE_DB",
        show_envvar=True,
        help="Database file (default: ./otel-sqlite.db).",
    )(fn)


def format_option(fn: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format; json and csv are stable for scripts.",
    )(fn)
