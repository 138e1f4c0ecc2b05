"""``export``: stored runs in other formats (JUnit XML, Markdown, OTLP JSON)."""

from __future__ import annotations

from pathlib import Path

import click

from otel_sqlite.cli.interop_cmd import export_otlp
from otel_sqlite.cli.options import db_option, prices_option
from otel_sqlite.cli.reading import open_db
from otel_sqlite.cli.runs_cmd import RUN_HELP
from otel_sqlite.queries import prices as price_tables
from otel_sqlite.reports.junit import junit_xml
from otel_sqlite.reports.markdown import markdown_summary


@click.group(name="export")
def export() -> None:
    """Write stored runs in other formats."""


def _write(text: str, output: str | None) -> None:
    if output is None or output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


@export.command(name="junit", epilog=RUN_HELP)
@click.argument("run", default="latest")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
@db_option
def export_junit(run: str, output: str | None, db: str | None) -> None:
    """A run as JUnit XML: one testcase per step, failures with stderr."""
    _write(junit_xml(open_db(db), run), output)


@export.command(name="markdown", epilog=RUN_HELP)
@click.argument("run", default="latest")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
@prices_option
@db_option
def export_markdown(run: str, output: str | None, prices: str | None, db: str | None) -> None:
    """A run as a Markdown CI summary (for $GITHUB_STEP_SUMMARY)."""
    _write(markdown_summary(open_db(db), run, price_tables.load(prices)), output)


export.add_command(export_otlp)
