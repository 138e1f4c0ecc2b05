"""``otel-sqlite exec -- CMD``: run any command as a span, behaving exactly like the command."""

from __future__ import annotations

import signal

import click

from otel_sqlite.cli.feedback import attribute_option_values, warn_once
from otel_sqlite.cli.options import db_option
from otel_sqlite.process import KILL_AFTER_SECONDS, died_of_forwarded_signal
from otel_sqlite.wrap import KINDS, run_wrapped


@click.command(
    name="exec",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@db_option
@click.option("--name", help="Span name (default: the command line).")
@click.option(
    "--kind", type=click.Choice(KINDS), default="command", show_default=True,
    help="The span's harness.kind; a run also records git revision, host and user.",
)
@click.option(
    "--attr", "attributes", multiple=True, metavar="KEY=VALUE",
    callback=attribute_option_values,
    help="Attribute on the span (repeatable); int, float, true/false, else string.",
)
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
    help="Stop the command's process group after SECONDS (SIGTERM, then SIGKILL); exit 124.",
)
@click.option(
    "--kill-after", type=click.FloatRange(min=0), default=KILL_AFTER_SECONDS,
    show_default=True, metavar="SECONDS",
    help="With --timeout: how long after SIGTERM the group gets SIGKILL.",
)
@click.option("--quiet", "-q", is_flag=True, help="Capture output without echoing it.")
@click.option(
    "--cwd", type=click.Path(exists=True, file_okay=False), help="Run the command in DIR.",
    metavar="DIR",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_context
def exec_command(
    ctx: click.Context,
    db: str | None,
    name: str | None,
    kind: str,
    attributes: dict,
    timeout: float | None,
    kill_after: float,
    quiet: bool,
    cwd: str | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND as a span, keeping its output; exit with the command's own status.

    Joins the trace in TRACEPARENT when set (and sets it for COMMAND, so nested calls
    nest). stdout and stderr are captured to files beside the database and still printed.
    127: command not found; 126: not executable; 128+N: killed by signal N; 124: timed out.
    """
    result = run_wrapped(
        command, warn=warn_once(), db=db, name=name, kind=kind, attributes=attributes,
        timeout=timeout, kill_after=kill_after, tee=not quiet, cwd=cwd,
    )
    if result.error:
        click.echo(f"otel-sqlite: {result.error}", err=True)
    if (signum := died_of_forwarded_signal(result)) is not None:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
    ctx.exit(result.exit_code)
