"""``show RUN``: the run's span tree in the terminal, with a proportional waterfall."""

from __future__ import annotations

from typing import Any

import click

from otel_sqlite.cli.options import db_option, format_option
from otel_sqlite.cli.output import echo
from otel_sqlite.cli.reading import open_db
from otel_sqlite.cli.runs_cmd import RUN_HELP
from otel_sqlite.queries import spans as span_queries

BAR_WIDTH = 30
# Past this depth the indentation stops growing and the depth is written instead, so a
# 1000-deep trace stays readable.
MAX_INDENT = 12
# One mark per outcome (otel_sqlite.queries.outcomes).
MARKS = {
    "passed": ("✓", "green"), "failed": ("✗", "red"), "error": ("E", "red"),
    "skipped": ("s", "yellow"), "xfailed": ("x", "yellow"), "xpassed": ("X", "yellow"),
    "incomplete": ("…", "yellow"),
}


def _duration(ms: float | None) -> str:
    if ms is None:
        return "running"
    if ms >= 60_000:
        return f"{ms / 60_000:.1f}m"
    return f"{ms / 1000:.2f}s" if ms >= 1000 else f"{ms:.1f}ms"


def _bar(span: dict[str, Any], total_ms: float) -> str:
    if total_ms <= 0:
        return " " * BAR_WIDTH
    start = min(BAR_WIDTH - 1, int(span["offset_ms"] / total_ms * BAR_WIDTH))
    length = (span["duration_ms"] if span["duration_ms"] is not None
              else total_ms - span["offset_ms"])
    cells = max(1, round(length / total_ms * BAR_WIDTH))
    cells = min(cells, BAR_WIDTH - start)
    return " " * start + "█" * cells + " " * (BAR_WIDTH - start - cells)


def render_tree(tree: dict[str, Any]) -> list[str]:
    """The lines of the tree, styled (click.echo drops the colour when not on a terminal)."""
    spans = tree["spans"]
    total = tree["run"]["duration_ms"]
    if total is None:
        total = max((s["offset_ms"] + (s["duration_ms"] or 0) for s in spans), default=0.0)
    labels = []
    for index, span in enumerate(spans):
        depth = span["depth"]
        indent = "  " * min(depth, MAX_INDENT) + (f"[{depth}] " if depth > MAX_INDENT else "")
        shown = index + 1 < len(spans) and spans[index + 1]["depth"] > depth
        folded = f" (+{span['children']})" if span["children"] and not shown else ""
        labels.append(indent + span["name"] + folded)
    width = min(max((len(label) for label in labels), default=0), 60)
    lines = []
    for span, label in zip(spans, labels, strict=True):
        mark, colour = MARKS[span["outcome"]]
        text = label if len(label) <= width else label[: width - 1] + "…"
        line = (f"{click.style(mark, fg=colour)} {text.ljust(width)}  "
                f"{_duration(span['duration_ms']).rjust(8)}  "
                f"{click.style(_bar(span, total), fg=colour)}")
        if span["status"] == "error" and span["message"]:
            line += "  " + click.style(span["message"].splitlines()[0][:80], fg="red")
        elif span["reason"]:
            line += "  " + click.style(f"{span['outcome']}: {span['reason'][:80]}", fg=colour)
        lines.append(line)
    return lines


@click.command(name="show", epilog=RUN_HELP)
@click.argument("run", default="latest")
@click.option("--depth", type=click.IntRange(min=0), help="Show spans down to this depth.")
@db_option
@format_option
def show_cmd(run: str, depth: int | None, db: str | None, output_format: str) -> None:
    """A run's span tree: status marks, durations and a waterfall bar."""
    tree = span_queries.span_tree(open_db(db), run, max_depth=depth)
    if output_format == "json":
        echo(tree, output_format)
    elif output_format == "csv":
        echo(tree["spans"], output_format)
    else:
        for line in render_tree(tree):
            click.echo(line)
