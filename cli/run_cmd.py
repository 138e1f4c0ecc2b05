"""``otel-sqlite run start`` / ``run end``: a run span around a shell script's own steps."""

from __future__ import annotations

import click

from otel_sqlite.capture.run_lifecycle import STATUSES, end_run, shell_exports, start_run
from otel_sqlite.cli.feedback import attribute_option_values, warn_once
from otel_sqlite.cli.options import db_option


@click.group(name="run")
def run() -> None:
    """Start and end a run from a shell script: eval "$(otel-sqlite run start)"."""


@run.command(name="start")
@db_option
@click.option("--name", default="run", show_default=True, help="The run's name.")
@click.option(
    "--attr", "attributes", multiple=True, metavar="KEY=VALUE",
    callback=attribute_option_values,
    help="Attribute on the run (repeatable); int, float, true/false, else string.",
)
def run_start(db: str | None, name: str, attributes: dict) -> None:
    """Record a run (in flight) and print the lines to export for it.

    Use as eval "$(otel-sqlite run start --name suite)": later `otel-sqlite exec` calls nest
    under the run (TRACEPARENT) and write to the same database (OTEL_SQLITE_DB), and
    `otel-sqlite run end` finds the run in OTEL_SQLITE_RUN.
    """
    click.echo(shell_exports(start_run(name, attributes, warn=warn_once(), db=db)), nl=False)


@run.command(name="end")
@click.option(
    "--db", type=click.Path(dir_okay=False),
    help="Database file (default: the one run start exported in OTEL_SQLITE_DB).",
)
@click.option("--exit-code", type=int, help="The script's exit status; non-zero is an error.")
@click.option(
    "--status", type=click.Choice(STATUSES),
    help="Set the status outright (default: error when --exit-code is non-zero).",
)
def run_end(db: str | None, exit_code: int | None, status: str | None) -> None:
    """Finish the run that run start exported.

    The run keeps its ids, start time and attributes; --exit-code is recorded as
    process.exit.code.
    """
    end_run(warn=warn_once(), exit_code=exit_code, status=status, db=db)
