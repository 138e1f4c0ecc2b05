"""``otel-sqlite demo``: record the built-in example run and show what was recorded."""

from __future__ import annotations

import click

from otel_sqlite.cli.options import db_option
from otel_sqlite.cli.show_cmd import show_cmd
from otel_sqlite.storage.paths import resolve_db_path


@click.command(name="demo")
@db_option
@click.pass_context
def demo(ctx: click.Context, db: str | None) -> None:
    """Record a built-in example run (steps, a retry, a skip, an xfail, a failure, API costs)
    and show it."""
    from otel_sqlite.demo import record_demo

    path = resolve_db_path(db)
    run_id = record_demo(path)
    click.echo(f"\nRecorded the demo run {run_id} in {path}:\n")
    ctx.invoke(show_cmd, run=run_id, depth=None, db=str(path), output_format="table")
    click.echo("\nMore:  otel-sqlite runs | summary latest | failures | search WARNING | "
               "costs --by model | ui")
