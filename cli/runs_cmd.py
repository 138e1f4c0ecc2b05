"""Commands about runs and their steps: runs, summary, steps, failures, logs."""

from __future__ import annotations

import sys
from typing import Any

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
from otel_sqlite.queries import failures as failure_queries
from otel_sqlite.queries import logs as log_queries
from otel_sqlite.queries import model_calls, outcomes, several
from otel_sqlite.queries import prices as price_tables
from otel_sqlite.queries import runs as run_queries
from otel_sqlite.queries import steps as step_queries

RUN_HELP = "RUN is latest, latest~N, or a trace-id prefix (4+ hex digits)."


@click.command(name="runs")
@click.option("--name", help="Only runs of this name.")
@click.option("--status", type=click.Choice(run_queries.STATUSES), help="Only runs with it.")
@since_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@dbs_option
@format_option
def runs_cmd(
    name: str | None, status: str | None, since: str | None, limit: int, db: Databases,
    output_format: str,
) -> None:
    """List runs, newest first."""
    filters = {"name": name, "status": status, "since_ns": since_ns(since), "limit": limit}
    if isinstance(db, list):
        found = several.list_runs(open_each(db), **filters)
    else:
        found = run_queries.list_runs(open_db(db), **filters)
    if output_format == "table":
        found = [{**row, "run_id": row["run_id"][:12]} for row in found]
        found = pick(found, ("run_id", "name", "status", "start", "duration_ms", "steps",
                             "failed_steps", "cost_usd"))
    echo(found, output_format)


def _summary_text(summary: dict[str, Any]) -> str:
    head = {key: summary[key] for key in (
        "run_id", "name", "status", "exit_code", "start", "duration_ms", "steps", "api_calls",
        "input_tokens", "output_tokens")}
    head["cost"] = model_calls.cost_text(summary)
    head["failed_steps"] = len(summary["failed_steps"])
    head["outcomes"] = outcomes.describe(summary["outcomes"])
    if summary["retried_steps"]:
        head["retried_steps"] = ", ".join(summary["retried_steps"])
    parts = [render(head, "table")]
    for failure in summary["failed_steps"]:
        code = failure_queries.exit_note(failure)
        parts.append(f"\n{failure['outcome'].upper()} {failure['path']}{code}: "
                     f"{failure['message']}")
        parts.extend(f"  | {line}" for line in failure["stderr_tail"])
    if summary["skipped_steps"]:
        parts.append("")
    for skipped in summary["skipped_steps"]:
        parts.append(f"{skipped['outcome'].upper()} {skipped['path']}"
                     + (f": {skipped['reason']}" if skipped["reason"] else ""))
    if summary["slowest"]:
        parts.append("\nSlowest steps:")
        parts.append(render(pick(summary["slowest"], ("path", "duration_ms", "outcome")),
                            "table"))
    return "\n".join(parts)


@click.command(name="summary", epilog=RUN_HELP)
@click.argument("run", default="latest")
@prices_option
@db_option
@format_option
def summary_cmd(run: str, prices: str | None, db: str | None, output_format: str) -> None:
    """One run at a glance: status, failures with their stderr, slowest steps, cost."""
    summary = run_queries.run_summary(open_db(db), run, price_tables.load(prices))
    if output_format == "table":
        click.echo(_summary_text(summary))
    else:
        echo(summary, output_format)


@click.command(name="steps", epilog=RUN_HELP)
@click.argument("run", default="latest")
@db_option
@format_option
def steps_cmd(run: str, db: str | None, output_format: str) -> None:
    """The steps of a run, nested, with retries grouped under one step."""
    found = step_queries.run_steps(open_db(db), run)
    if output_format == "table":
        found = [
            {**step, "step": "  " * step["depth"] + step["name"],
             "attempts": len(step["attempts"]) or None}
            for step in found
        ]
        found = [{**step, "message": step["message"] or step["reason"]} for step in found]
        found = pick(found, ("step", "outcome", "duration_ms", "exit_code", "attempts",
                             "span_id", "message"))
    echo(found, output_format)


@click.command(name="failures", epilog=RUN_HELP)
@click.argument("run", default="latest")
@db_option
@format_option
def failures_cmd(run: str, db: str | None, output_format: str) -> None:
    """What failed in a run: exit code, message, stderr tail, artifact paths."""
    found = failure_queries.run_failures(open_db(db), run)
    if output_format != "table":
        echo(found, output_format)
        return
    if not found:
        click.echo("no failures")
    for failure in found:
        code = "" if failure["exit_code"] is None else f" (exit code {failure['exit_code']})"
        click.echo(f"{failure['outcome'].upper()} {failure['kind']} {failure['path']}{code} "
                   f"[{failure['span_id']}]")
        if failure["message"]:
            click.echo(f"  {failure['message']}")
        for line in failure["stderr_tail"]:
            click.echo(f"  | {line}")
        for path in failure["artifacts"]:
            click.echo(f"  artifact: {path}")


@click.command(name="logs", epilog=RUN_HELP + " SPAN is a span-id prefix.")
@click.argument("ref", metavar="SPAN_OR_RUN", default="latest")
@click.option("--stream", type=click.Choice(log_queries.STREAMS), help="Only this stream.")
@db_option
@format_option
def logs_cmd(ref: str, stream: str | None, db: str | None, output_format: str) -> None:
    """Captured output of a run or a span (and the spans under it)."""
    connection = open_db(db)
    found = log_queries.captured_output(connection, ref, stream)
    if output_format != "table":
        rows = [
            {"span_id": a["span_id"], "span_name": a["span_name"], "stream": a["role"],
             "line": number, "text": text}
            for a in found
            for number, text in enumerate(
                b"".join(log_queries.read_chunks(a)).decode("utf-8", "replace").splitlines(), 1)
        ]
        echo(rows, output_format)
        return
    many = len(found) > 1
    sys.stdout.flush()
    out = sys.stdout.buffer
    for artifact in found:
        if many:
            out.write(f"==> {artifact['span_name']} [{artifact['role']}] <==\n".encode())
        for chunk in log_queries.read_chunks(artifact):
            out.write(chunk)
        out.flush()
