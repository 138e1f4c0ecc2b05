"""Rendering rows as a table, JSON or CSV: the only place that decides how output looks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import click


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(rows: Sequence[Mapping[str, Any]] | Mapping[str, Any], output_format: str) -> str:
    """``rows`` (a list of objects, or one object) in ``output_format``."""
    if output_format == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False, default=str)
    records = [rows] if isinstance(rows, Mapping) else list(rows)
    columns: list[str] = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(r.get(col)) for col in columns] for r in records])
        return buffer.getvalue().rstrip("\n")
    if isinstance(rows, Mapping):
        width = max((len(key) for key in rows), default=0)
        return "\n".join(f"{key.ljust(width)}  {_cell(value)}" for key, value in rows.items())
    table = [columns, *[[_cell(r.get(col)) for col in columns] for r in records]]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def echo(rows: Sequence[Mapping[str, Any]] | Mapping[str, Any], output_format: str) -> None:
    click.echo(render(rows, output_format))
