"""Options every command shares, so ``--db`` and ``--format`` mean the same thing everywhere."""

from __future__ import annotations

import glob
from collections.abc import Callable
from typing import Any, TypeVar

import click

from otel_sqlite.conventions import ENV_PRICES

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")

Databases = str | list[str] | None  # what dbs_option gives: one path, several, or none


# The commands that read several databases at once (``--db`` repeated, or a glob).
READS_SEVERAL = ("runs", "search", "costs", "timings", "flaky", "sql")


def _one_db(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> str | None:
    """A command that reads one database says so when given several, instead of silently
    keeping the last."""
    if len(value) > 1:
        raise click.BadParameter(
            f"{ctx.info_name} reads one database, but {len(value)} were given "
            f"(these read several: {', '.join(READS_SEVERAL)})", ctx=ctx, param=param,
        )
    return value[0] if value else None


def _several_dbs(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> str | list[str] | None:
    """Every file named, globs expanded in order; one file stays a plain path."""
    files: list[str] = []
    for pattern in value:
        if glob.has_magic(pattern):
            found = sorted(glob.glob(pattern))
            if not found:
                raise click.BadParameter(f"no database matches {pattern}", ctx=ctx, param=param)
            files.extend(found)
        else:
            files.append(pattern)
    if len(files) <= 1:
        return files[0] if files else None
    return files


def _db_option(callback: Callable[..., Any], help: str) -> Callable[[F], F]:  # noqa: A002
    return click.option(
        "--db", "db", type=click.Path(), multiple=True, callback=callback,
        envvar="OTEL_SQLITE_DB", show_envvar=True, help=help,
    )


db_option = _db_option(_one_db, "Database file (default: ./otel-sqlite.db).")
dbs_option = _db_option(
    _several_dbs,
    "Database file (default: ./otel-sqlite.db); repeat it, or give a quoted glob "
    "('archive/*.db'), to read several files as one.",
)


def format_option(fn: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format; json and csv are stable for scripts.",
    )(fn)


def prices_option(fn: F) -> F:
    return click.option(
        "--prices",
        "prices",
        type=click.Path(dir_okay=False),
        envvar=ENV_PRICES,
        show_envvar=True,
        help="Price table (TOML or JSON) overriding or extending the built-in one, for "
        "estimated costs.",
    )(fn)
