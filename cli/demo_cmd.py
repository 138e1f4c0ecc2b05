"""``otel-sqlite demo``: record the built-in example run and show how to look at it."""

from __future__ import annotations

import click

from otel_sqlite.cli.options import db_option
from otel_sqlite.paths import resolve_db_path


@click.command(name="demo")
@db_option
def demo(db: str | None) -> None:
    """Record a built-in example run (steps, a retry, a failure, API costs) and show it."""
    from otel_sqlite.demo import record_demo

    path = resolve_db_path(db)
    run_id = record_demo(path)
    click.echo(f"\nRecorded the demo run {run_id} in {path}")
    click.echo("Look at it with:  otel-sqlite runs   otel-sqlite show latest   "
               "otel-sqlite failures   otel-sqlite costs --by model")
