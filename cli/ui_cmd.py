"""``otel-sqlite ui``: the local web UI over a database, read-only."""

from __future__ import annotations

import os
import webbrowser

import click

from otel_sqlite.cli.options import db_option, prices_option
from otel_sqlite.conventions import ENV_PRICES
from otel_sqlite.storage.paths import resolve_db_path


@click.command(name="ui")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; keep loopback unless you mean to share it.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a browser.")
@prices_option
def ui(db: str | None, host: str, port: int, open_browser: bool, prices: str | None) -> None:
    """Browse runs, waterfalls, logs, search hits and costs in a web page, and answer Jaeger's
    query API for Grafana (read-only)."""
    from otel_sqlite.queries import prices as price_tables
    from otel_sqlite.storage.schema import connect_readonly
    from otel_sqlite.ui.server import UIServer, serve

    if prices:
        price_tables.load(prices)  # a broken price file is one clear line, now
        os.environ[ENV_PRICES] = prices  # the UI's queries read the table named there

    path = resolve_db_path(db)
    connect_readonly(path).close()  # a missing or foreign file is one clear line, now
    try:
        server = UIServer(path, host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    click.echo(f"otel-sqlite UI for {path} at {server.url}  (Ctrl-C stops it)")
    if open_browser:
        webbrowser.open(server.url)
    try:
        serve(server)
    except KeyboardInterrupt:
        pass
