"""``grep``: regular expressions over captured output, printed as grep prints them."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from typing import Any

import click

from otel_sqlite.cli.options import db_option, format_option
from otel_sqlite.cli.reading import open_db
from otel_sqlite.cli.runs_cmd import RUN_HELP
from otel_sqlite.errors import OtelSqliteError
from otel_sqlite.queries import grep as grep_queries

COLUMNS = ("run_id", "step", "span_id", "span_name", "stream", "path", "line", "match",
           "binary", "text")


class GrepError(click.ClickException):
    """grep's convention: 2 for trouble, 1 only for "nothing matched"."""

    exit_code = 2


def _table(rows: Iterable[dict[str, Any]], grouped: bool) -> None:
    last: tuple[Any, Any] | None = None
    for row in rows:
        key = (row["artifact_id"], row["line"])
        if grouped and last is not None and (key[0] != last[0] or key[1] != last[1] + 1):
            click.echo("--")
        last = key
        where = f"{row['run_id'][:12]} {row['step']} {row['stream']}"
        if row["binary"]:
            click.echo(f"{where}: {row['text']}")
        else:
            mark = ":" if row["match"] else "-"
            click.echo(f"{where}{mark}{row['line']}{mark}{row['text']}")


def _json(rows: Iterable[dict[str, Any]]) -> None:
    """A JSON array written row by row, so a huge result never sits in memory."""
    separator = "[\n"
    for row in rows:
        body = json.dumps({key: row[key] for key in COLUMNS}, indent=2, ensure_ascii=False)
        click.echo(separator + "  " + body.replace("\n", "\n  "), nl=False)
        separator = ",\n"
    click.echo("[]" if separator == "[\n" else "\n]")


def _csv(rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row[key] is None else row[key] for key in COLUMNS])


@click.command(name="grep", epilog=f"{RUN_HELP} Exit status: 0 when a line matched, 1 when "
               "none did, 2 on an error (a bad pattern, an unreadable database).")
@click.argument("pattern")
@click.argument("run", required=False)
@click.option("--scope", type=click.Choice(grep_queries.SCOPES), default="output",
              show_default=True, help="stdout, stderr, output (every captured file), span "
              "(each span's own text: name, attributes, event names) or all.")
@click.option("--step", help="Only output under steps of this name.")
@click.option("-i", "--ignore-case", is_flag=True, help="Match regardless of case.")
@click.option("-A", "--after-context", "after", type=click.IntRange(min=0), default=0,
              metavar="N", help="Print N lines after each match.")
@click.option("-B", "--before-context", "before", type=click.IntRange(min=0), default=0,
              metavar="N", help="Print N lines before each match.")
@click.option("-C", "--context", "context", type=click.IntRange(min=0), metavar="N",
              help="Print N lines before and after each match.")
@click.option("-m", "--max-count", type=click.IntRange(min=1), metavar="N",
              help="Stop reading a file after N matching lines.")
@db_option
@format_option
def grep_cmd(
    pattern: str, run: str | None, scope: str, step: str | None, ignore_case: bool,
    after: int, before: int, context: int | None, max_count: int | None, db: str | None,
    output_format: str,
) -> None:
    """Python regular expressions over captured output, line by line, with context."""
    if context is not None:
        before, after = max(before, context), max(after, context)
    matched = False

    def matches() -> Iterable[dict[str, Any]]:
        nonlocal matched
        for row in search:
            matched = matched or row["match"]
            yield row

    try:
        search = grep_queries.Grep(
            open_db(db), pattern, scope=scope, run=run, step=step, ignore_case=ignore_case,
            before=before, after=after, max_count=max_count,
        )
        if output_format == "json":
            _json(matches())
        elif output_format == "csv":
            _csv(matches())
        else:
            _table(matches(), grouped=bool(before or after))
    except OtelSqliteError as exc:
        raise GrepError(str(exc)) from exc
    for problem in search.unreadable:
        click.echo(f"otel-sqlite grep: {problem['path']}: {problem['error']}", err=True)
    sys.exit(0 if matched else 2 if search.unreadable else 1)
