"""Commands that move history between files: merge, archive."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from otel_sqlite.cli.options import format_option
from otel_sqlite.cli.output import echo
from otel_sqlite.cli.reading import open_db
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.timespec import parse_age, parse_moment
from otel_sqlite.storage import archive as archiving
from otel_sqlite.storage.merge import merge, source_spans
from otel_sqlite.storage.paths import resolve_db_path


@contextlib.contextmanager
def _progress(length: Callable[[], int], label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal (``length`` is asked only then)."""
    total = length() if sys.stderr.isatty() else 0
    if total <= 0:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


@click.command(name="merge")
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@click.option("--into", "into", type=click.Path(), envvar="OTEL_SQLITE_DB", show_envvar=True,
              help="The database to merge into, created when missing "
                   "(default: ./otel-sqlite.db).")
@format_option
def merge_cmd(sources: tuple[str, ...], into: str | None, output_format: str) -> None:
    """Merge other databases (and their captured files) into one, ids unchanged.

    Idempotent: merging a source again adds nothing. A span in both keeps the finished copy
    over the in-flight one, else the one that ended later (counted as conflicts). A source
    that cannot be read is one line on stderr, the others still merge, and the exit status
    is 1.
    """
    target = resolve_db_path(into)
    with _progress(lambda: sum(map(source_spans, sources)), "merging") as progress:
        result = merge(sources, target, progress=progress)
    for problem in result.errors:
        click.echo(f"Error: {problem}", err=True)
    for file in result.missing_files:
        click.echo(f"otel-sqlite: warning: artifact file missing, row kept: {file}", err=True)
    for file in result.changed_files:
        click.echo(f"otel-sqlite: warning: artifact file changed since it was recorded "
                   f"(copied as it is): {file}", err=True)
    summary = result.summary()
    if output_format != "json":
        summary = {key: len(value) if isinstance(value, list) else value
                   for key, value in summary.items()}
    echo({"into": str(target), **summary}, output_format)
    if result.errors:
        sys.exit(1)


@click.command(name="archive")
@click.option("--older-than", "older_than", metavar="AGE",
              help="Archive runs that started longer ago than this (e.g. 30d).")
@click.option("--before", metavar="DATE", help="Archive runs that started before this date.")
@click.option("--run", "runs", multiple=True, metavar="RUN",
              help="Archive this run (latest, latest~N or a trace-id prefix; repeatable).")
@click.option("--to", "to", required=True, type=click.Path(),
              help="The archive database (with --by month: the folder of YYYY-MM.db files).")
@click.option("--by", type=click.Choice(("month",)),
              help="One archive file per month the runs started in.")
@click.option("--db", "db", type=click.Path(), envvar="OTEL_SQLITE_DB", show_envvar=True,
              help="Database file (default: ./otel-sqlite.db).")
@format_option
def archive_cmd(
    older_than: str | None, before: str | None, runs: tuple[str, ...], to: str,
    by: str | None, db: str | None, output_format: str,
) -> None:
    """Move whole runs and their files into another database (copy, verify, then delete).

    A kill at any moment loses nothing; running it again finishes the job. The archive is an
    ordinary database: every read command and the UI open it with --db.
    """
    chosen = [option for option, value in (("--older-than", older_than), ("--before", before),
                                           ("--run", runs)) if value]
    if len(chosen) != 1:
        raise click.UsageError("say which runs to archive: one of --older-than, --before, --run")
    path = resolve_db_path(db)
    traces = None
    if runs:
        reader = open_db(db)
        traces = [resolve_run(reader, run)["trace_id"] for run in runs]
        reader.close()
    cutoff = None
    if older_than:
        cutoff = int((time.time() - parse_age(older_than)) * 1e9)
    elif before:
        cutoff = parse_moment(before)
    selected = archiving.select_runs(path, before_ns=cutoff, traces=traces)
    if by == "month":
        plan = {Path(to) / f"{month}.db": group
                for month, group in archiving.months(selected).items()}
    else:
        plan = {Path(to): [trace_id for trace_id, _ in selected]}
    done = [archiving.archive(path, target, group) for target, group in plan.items()]
    for moved in done:
        for file in moved["missing_files"]:
            click.echo(f"otel-sqlite: warning: artifact file missing, row kept: {file}",
                       err=True)
    rows = [{key: value for key, value in moved.items() if key != "missing_files"}
            for moved in done]
    echo(rows, output_format)
