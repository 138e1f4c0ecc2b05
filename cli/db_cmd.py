"""Commands about the database itself: sql, stats, prune, vacuum."""

from __future__ import annotations

import time

import click

from otel_sqlite.cli.options import Databases, db_option, dbs_option, format_option
from otel_sqlite.cli.output import echo
from otel_sqlite.cli.reading import open_db
from otel_sqlite.queries.raw import run_sql
from otel_sqlite.queries.stats import stats
from otel_sqlite.queries.timespec import parse_age
from otel_sqlite.storage import retention
from otel_sqlite.storage.paths import resolve_db_path


@click.command(name="sql")
@click.argument("query")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A :NAME parameter for the query (repeatable).")
@dbs_option
@format_option
def sql_cmd(query: str, params: tuple[str, ...], db: Databases, output_format: str) -> None:
    """Run one read-only SQL query (views: runs, steps, commands, api_calls).

    Several databases are read as one through TEMP views named like the tables, row ids
    offset per file: any query works, but joins over large files are slow.
    """
    bound = {}
    for param in params:
        key, sep, value = param.partition("=")
        if not sep:
            raise click.BadParameter(f"'{param}' is not NAME=VALUE", param_hint="--param")
        bound[key] = value
    echo(run_sql(open_db(db), query, bound), output_format)


@click.command(name="stats")
@db_option
@format_option
def stats_cmd(db: str | None, output_format: str) -> None:
    """Counts, sizes, oldest and newest run."""
    echo(stats(open_db(db)), output_format)


@click.command(name="prune")
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Remove runs that started longer ago than this (e.g. 90d).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@db_option
@format_option
def prune_cmd(older_than: str, dry_run: bool, db: str | None, output_format: str) -> None:
    """Remove old runs and their captured files."""
    cutoff = int((time.time() - parse_age(older_than)) * 1e9)
    echo(retention.prune(resolve_db_path(db), cutoff, dry_run=dry_run), output_format)


@click.command(name="vacuum")
@db_option
@format_option
def vacuum_cmd(db: str | None, output_format: str) -> None:
    """Rebuild the database file to give free space back (after prune)."""
    echo(retention.vacuum(resolve_db_path(db)), output_format)
