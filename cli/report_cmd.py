"""Commands across runs: search, timings, costs, diff, flaky."""

from __future__ import annotations

import click

from otel_sqlite.cli.options import (
    Databases,
    db_option,
    dbs_option,
    format_option,
    prices_option,
)
from otel_sqlite.cli.output import echo, render
from otel_sqlite.cli.reading import open_db, open_each, pick, since_ns, since_option
from otel_sqlite.cli.runs_cmd import RUN_HELP
from otel_sqlite.queries import costs as cost_queries
from otel_sqlite.queries import diff as diff_queries
from otel_sqlite.queries import flaky as flaky_queries
from otel_sqlite.queries import model_calls, several
from otel_sqlite.queries import prices as price_tables
from otel_sqlite.queries import search as search_queries
from otel_sqlite.queries import timings as timing_queries


@click.command(name="search", epilog="QUERY is FTS5 syntax: words, \"a phrase\", pre*, a OR b.")
@click.argument("query")
@click.option("--run", help="Only this run (latest, latest~N or a trace-id prefix).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@dbs_option
@format_option
def search_cmd(
    query: str, run: str | None, limit: int, db: Databases, output_format: str
) -> None:
    """Full-text search over captured output and span text, newest first."""
    if isinstance(db, list):
        found = several.search(open_each(db), query, run=run, limit=limit)
    else:
        found = search_queries.search(open_db(db), query, run=run, limit=limit)
    if output_format == "table":
        found = [{**hit, "run_id": hit["run_id"][:12]} for hit in found]
        found = pick(found, ("run_id", "span_id", "span_name", "stream", "line", "text"))
    echo(found, output_format)


@click.command(name="timings")
@click.option("--name", help="Only the step of this name.")
@click.option("--last", type=click.IntRange(min=1), help="Each step's newest N samples.")
@dbs_option
@format_option
def timings_cmd(
    name: str | None, last: int | None, db: Databases, output_format: str
) -> None:
    """Step durations across runs: count, p50, p95, max and trend."""
    if isinstance(db, list):
        found = several.timings(open_each(db), name=name, last=last)
    else:
        found = timing_queries.timings(open_db(db), name=name, last=last)
    echo(found, output_format)


@click.command(name="costs")
@click.option("--by", type=click.Choice(tuple(cost_queries.GROUPINGS)), default="model",
              show_default=True)
@since_option
@prices_option
@dbs_option
@format_option
def costs_cmd(
    by: str, since: str | None, prices: str | None, db: Databases, output_format: str
) -> None:
    """Calls, tokens and cost of model calls (api_call spans and GenAI-instrumented calls).

    cost_usd is what calls recorded; estimated_cost_usd prices the calls that recorded none
    from the price table (~ in the table), never added into cost_usd."""
    options = {"by": by, "since_ns": since_ns(since), "prices": price_tables.load(prices)}
    if isinstance(db, list):
        found = several.costs(open_each(db), **options)
    else:
        found = cost_queries.costs(open_db(db), **options)
    if output_format == "table":
        found = [
            {**{k: v for k, v in row.items() if k not in _COST_FIGURES},
             "cost": model_calls.cost_text(row)}
            for row in found
        ]
    echo(found, output_format)


_COST_FIGURES = ("cost_usd", "estimated_cost_usd", "unpriced_calls")


@click.command(name="diff", epilog=RUN_HELP)
@click.argument("run_a")
@click.argument("run_b", default="latest")
@click.option("--threshold", type=float, default=diff_queries.THRESHOLD_PCT, show_default=True,
              help="Report duration changes of at least this many percent...")
@click.option("--min-ms", type=float, default=diff_queries.MIN_DELTA_MS, show_default=True,
              help="...and at least this many milliseconds.")
@db_option
@format_option
def diff_cmd(
    run_a: str, run_b: str, threshold: float, min_ms: float, db: str | None, output_format: str
) -> None:
    """Compare two runs: newly failing, fixed, added, removed and slower/faster steps."""
    found = diff_queries.diff_runs(open_db(db), run_a, run_b, threshold, min_ms)
    if output_format == "json":
        echo(found, output_format)
        return
    rows = [
        {"change": change, "step": step["path"], "status": step["status"],
         "duration_ms": step["duration_ms"], "delta_ms": None}
        for change in ("newly_failing", "fixed", "added", "removed")
        for step in found[change]
    ] + [
        {"change": "slower" if c["delta_ms"] > 0 else "faster", "step": c["path"],
         "status": None, "duration_ms": c["b_ms"], "delta_ms": c["delta_ms"]}
        for c in found["changed"]
    ]
    if output_format == "csv":
        echo(rows, output_format)
        return
    a, b = found["run_a"], found["run_b"]
    click.echo(f"A {a['run_id'][:12]} {a['name']} ({a['status']})  ->  "
               f"B {b['run_id'][:12]} {b['name']} ({b['status']})")
    click.echo(render(rows, "table") if rows else "no differences")


@click.command(name="flaky")
@click.option("--last", type=click.IntRange(min=2), default=flaky_queries.LAST_RUNS,
              show_default=True, help="Look at the last N runs of each name.")
@click.option("--name", help="Only runs of this name.")
@dbs_option
@format_option
def flaky_cmd(last: int, name: str | None, db: Databases, output_format: str) -> None:
    """Steps that both passed and failed, or needed retries, in recent runs."""
    if isinstance(db, list):
        found = several.flaky_steps(open_each(db), last=last, name=name)
    else:
        found = flaky_queries.flaky_steps(open_db(db), last=last, name=name)
    echo(found, output_format)
