"""Threads across runs: ``events`` (decisions, triggers...), ``timeline --attr``, ``task``."""

from __future__ import annotations

import json
from typing import Any

import click

from otel_sqlite.cli.options import db_option, format_option
from otel_sqlite.cli.output import echo, render
from otel_sqlite.cli.reading import open_db, pick
from otel_sqlite.cli.runs_cmd import RUN_HELP
from otel_sqlite.conventions import HARNESS_EVENT_TYPE, HARNESS_TASK_ID
from otel_sqlite.queries import events as event_queries
from otel_sqlite.queries import timeline as timeline_queries
from otel_sqlite.queries.timespec import parse_moment


def _pair(ctx: click.Context, param: click.Parameter, argument: str) -> tuple[str, str]:
    """``KEY=VALUE`` as a pair; the value stays text (it is compared as text)."""
    key, separator, text = argument.partition("=")
    if not separator or not key.strip():
        raise click.BadParameter(f"'{argument}' is not KEY=VALUE", ctx, param)
    return key.strip(), text


def _pairs(ctx: click.Context, param: click.Parameter, arguments: tuple[str, ...]
           ) -> dict[str, str]:
    return dict(_pair(ctx, param, argument) for argument in arguments)


@click.command(name="events", epilog=f"{RUN_HELP} An event's type is its {HARNESS_EVENT_TYPE} "
               "attribute, else its name; artifact events are left out unless asked for.")
@click.argument("run", required=False)
@click.option("--type", "event_type", metavar="NAME", help="Only events of this type "
              "(decision, trigger, exception...).")
@click.option("--last", metavar="AGE", help="Only the last AGE (24h, 7d).")
@click.option("--since", metavar="DATE", help="Only since then: a date or an age.")
@click.option("--attr", "attributes", multiple=True, metavar="KEY=VALUE", callback=_pairs,
              help="Only events whose own or span's attribute KEY is VALUE; repeatable.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@db_option
@format_option
def events_cmd(
    run: str | None, event_type: str | None, last: str | None, since: str | None,
    attributes: dict[str, str], limit: int, db: str | None, output_format: str,
) -> None:
    """Span events as rows, newest first: time, run, span, event, attributes."""
    if last is not None and since is not None:
        raise click.UsageError("give --last or --since, not both")
    moment = last or since
    found = event_queries.list_events(
        open_db(db), event_type=event_type, run=run, attributes=attributes, limit=limit,
        since_ns=None if moment is None else parse_moment(moment),
    )
    if output_format == "table":
        found = [{**row, "run_id": row["run_id"][:12], "attributes": _compact(row["attributes"])}
                 for row in found]
        found = pick(found, ("time", "run_id", "span_name", "event", "type", "attributes"))
    echo(found, output_format)


def _compact(value: Any) -> str | None:
    """A JSON object on one line, for a table cell (which cuts it to the terminal's taste)."""
    return json.dumps(value, ensure_ascii=False) if value else None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _tokens(entry: dict[str, Any]) -> str | None:
    if entry["input_tokens"] is None:
        return None
    return f"{entry['input_tokens']}/{entry['output_tokens']}"


def _counts(totals: dict[str, Any]) -> str:
    return ", ".join(_plural(totals[key], noun) for key, noun in (
        ("runs", "run"), ("spans", "span"), ("events", "event"), ("errors", "error")))


def _show_timeline(found: dict[str, Any], output_format: str) -> None:
    entries, totals = found["entries"], found["totals"]
    if output_format == "json":
        echo(found, output_format)
        return
    if output_format == "csv":
        total = {key: totals.get(key) for key in ("duration_ms", "input_tokens",
                                                  "output_tokens", "cost_usd")}
        echo([*entries, {"time": totals["start"], "kind": "total", "name": _counts(totals),
                         **total}], output_format)
        return
    if not entries:
        click.echo("nothing carries that attribute")
        return
    rows = [
        {"time": entry["time"], "run": f"{entry['run_id'][:8]} {entry['run'] or ''}".strip(),
         "kind": entry["kind"], "name": entry["name"], "duration_ms": entry["duration_ms"],
         "status": entry["status"], "tokens in/out": _tokens(entry),
         "cost_usd": entry["cost_usd"],
         "detail": _compact(entry["attributes"]) or entry["status_message"]}
        for entry in entries
    ]
    click.echo(render(pick(rows, tuple(rows[0])), "table"))
    click.echo(
        f"\n{_counts(totals)}, {totals['duration_ms']} ms from first to last; "
        f"{_plural(totals['api_calls'], 'api_call')}: {totals['input_tokens']} input tokens, "
        f"{totals['output_tokens']} output tokens, {totals['cost_usd']} USD"
    )


@click.command(name="timeline")
@click.option("--attr", "attribute", required=True, metavar="KEY=VALUE", callback=_pair,
              help="The attribute that marks the thread, e.g. session.id=s-42.")
@db_option
@format_option
def timeline_cmd(attribute: tuple[str, str], db: str | None, output_format: str) -> None:
    """Every span and event that carries an attribute, or sits under one that does, in any
    run, in time order, with tokens, cost and totals."""
    _show_timeline(timeline_queries.timeline(open_db(db), *attribute), output_format)


@click.command(name="task", epilog=f"The same as timeline --attr {HARNESS_TASK_ID}=ID.")
@click.argument("task_id")
@db_option
@format_option
def task_cmd(task_id: str, db: str | None, output_format: str) -> None:
    """One task's whole story across runs: its steps, commands, model calls, decisions."""
    _show_timeline(timeline_queries.timeline(open_db(db), HARNESS_TASK_ID, task_id),
                   output_format)
