"""The ``otel-sqlite`` click group. Each command lives in its own module, imported only when
it runs, so ``otel-sqlite exec`` pays for nothing but itself.

Library errors (``OtelSqliteError``) become one line on stderr and exit status 1, never a
traceback; anything else is left to crash loudly, because it is our bug.
"""

from __future__ import annotations

import importlib

import click

from otel_sqlite import __version__
from otel_sqlite.errors import OtelSqliteError

# name -> "module:attribute" under otel_sqlite.cli; one line per command or command group.
COMMANDS: dict[str, str] = {
    "demo": "demo_cmd:demo",
    "init": "admin:init",
    "exec": "exec_cmd:exec_command",
    "run": "run_cmd:run",
    "runs": "runs_cmd:runs_cmd",
    "summary": "runs_cmd:summary_cmd",
    "steps": "runs_cmd:steps_cmd",
    "failures": "runs_cmd:failures_cmd",
    "logs": "runs_cmd:logs_cmd",
    "show": "show_cmd:show_cmd",
    "search": "report_cmd:search_cmd",
    "grep": "grep_cmd:grep_cmd",
    "events": "timeline_cmd:events_cmd",
    "timeline": "timeline_cmd:timeline_cmd",
    "task": "timeline_cmd:task_cmd",
    "timings": "report_cmd:timings_cmd",
    "costs": "report_cmd:costs_cmd",
    "diff": "report_cmd:diff_cmd",
    "flaky": "report_cmd:flaky_cmd",
    "export": "export_cmd:export",
    "sql": "db_cmd:sql_cmd",
    "stats": "db_cmd:stats_cmd",
    "prune": "db_cmd:prune_cmd",
    "vacuum": "db_cmd:vacuum_cmd",
    "merge": "history_cmd:merge_cmd",
    "archive": "history_cmd:archive_cmd",
    "import": "interop_cmd:import_otlp",
    "push": "interop_cmd:push",
    "serve": "interop_cmd:serve",
    "ui": "ui_cmd:ui",
}


class LazyGroup(click.Group):
    """Loads a command's module on first use; turns library errors into one clean line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attribute = COMMANDS[name].split(":")
            return getattr(importlib.import_module(f"otel_sqlite.cli.{module}"), attribute)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except OtelSqliteError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="otel-sqlite")
def cli() -> None:
    """A flight recorder for harnesses that speaks OpenTelemetry.

    Runs, steps, commands and paid API calls are OTel spans, stored in one SQLite file
    (--db, else $OTEL_SQLITE_DB, else ./otel-sqlite.db) and read back by these commands.
    """


def main() -> None:
    cli()
