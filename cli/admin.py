"""Commands that look after the database file itself."""

from __future__ import annotations

import click

from otel_sqlite.cli.options import db_option
from otel_sqlite.storage.paths import resolve_db_path
from otel_sqlite.storage.schema import SCHEMA_VERSION
from otel_sqlite.storage.store import Store


@click.command(name="init")
@db_option
def init(db: str | None) -> None:
    """Create (or migrate) the database and print its path."""
    path = resolve_db_path(db)
    Store(path).close()
    click.echo(f"{path} (schema {SCHEMA_VERSION})")
