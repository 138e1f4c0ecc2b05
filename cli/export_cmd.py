"""``export``: stored spans in other formats (a group; each format is a subcommand)."""

from __future__ import annotations

import click

from otel_sqlite.cli.interop_cmd import export_otlp


@click.group(name="export")
def export() -> None:
    """Write stored runs in another format."""


export.add_command(export_otlp)
