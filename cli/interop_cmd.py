"""Staying standard: ``export otlp``, ``import``, ``push`` and ``serve`` speak OTLP."""

from __future__ import annotations

import contextlib
import gzip
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from otel_sqlite.cli.options import db_option
from otel_sqlite.cli.reading import open_db, since_ns, since_option
from otel_sqlite.queries.records import Selection
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.storage.paths import resolve_db_path

if TYPE_CHECKING:
    from otel_sqlite.otlp.receivers import Receivers
    from otel_sqlite.ui.server import UIServer


def runs_argument(fn):  # noqa: ANN001, ANN201 - a click decorator
    return click.argument("runs", nargs=-1, metavar="[RUN]...")(fn)


def _selection(db_path: str | None, runs: Sequence[str], since: str | None) -> Selection:
    trace_ids = None
    if runs:
        db = open_db(db_path)
        try:
            trace_ids = [resolve_run(db, run)["trace_id"] for run in runs]
        finally:
            db.close()
    return Selection(trace_ids=trace_ids, since_ns=since_ns(since))


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        yield sys.stdout
        return
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as out:  # type: ignore[operator]
        yield out


@click.command(name="otlp")
@runs_argument
@since_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (default: stdout); a name ending in .gz is gzip'd.")
@db_option
def export_otlp(runs: tuple[str, ...], since: str | None, output: str | None,
                db: str | None) -> None:
    """Stored spans as OTLP/JSON lines (the Collector file exporter's format).

    RUN is a trace id, a unique prefix of one, or 'latest'; with none, every run.
    """
    from otel_sqlite.otlp.files import export_json_lines

    selection = _selection(db, runs, since)
    connection = open_db(db)
    try:
        with _output(output) as out:
            count = export_json_lines(connection, out, selection)
    finally:
        connection.close()
    if output not in (None, "-"):
        click.echo(f"exported {count} spans to {output}", err=True)


@click.command(name="import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@db_option
def import_otlp(files: tuple[str, ...], db: str | None) -> None:
    """Store the spans of OTLP/JSON files: JSON lines or one document, gzip'd or not.

    Importing a file twice changes nothing. Bad lines are reported with their number and
    skipped; the exit status is then 1.
    """
    from otel_sqlite.otlp.files import ImportResult, import_file
    from otel_sqlite.storage.store import Store

    result = ImportResult()
    store = Store(resolve_db_path(db))
    try:
        for path in files:
            import_file(store, path, result)
    finally:
        store.close()
    for problem in result.problems[:20]:
        click.echo(f"skipped {problem}", err=True)
    if len(result.problems) > 20:
        click.echo(f"... and {len(result.problems) - 20} more problems", err=True)
    click.echo(
        f"imported {result.spans} spans from {result.lines} lines of {len(files)} file(s)"
        + (f"; {len(result.problems)} problem(s) skipped" if result.problems else "")
    )
    if result.problems:
        sys.exit(1)


def _parse_header(ctx: click.Context, param: click.Parameter, pairs: tuple[str, ...]) -> dict:
    headers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", ctx, param)
        headers[key.strip()] = value
    return headers


@click.command(name="push")
@runs_argument
@click.option("--endpoint", metavar="URL",
              help="OTLP/HTTP traces URL (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else "
                   "$OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, else "
                   "http://localhost:4318/v1/traces).")
@click.option("--header", "headers", multiple=True, metavar="K=V", callback=_parse_header,
              help="A header for every request (repeatable); adds to "
                   "$OTEL_EXPORTER_OTLP_HEADERS.")
@since_option
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=512, show_default=True,
              help="Spans per request.")
@click.option("--from-start", is_flag=True,
              help="Ignore the saved cursor and send everything selected again.")
@db_option
def push(runs: tuple[str, ...], endpoint: str | None, headers: dict, since: str | None,
         batch_size: int, from_start: bool, db: str | None) -> None:
    """Send stored spans to an OTLP/HTTP endpoint (Jaeger, a Collector), ids unchanged.

    A push continues where the last one to the same endpoint stopped, so running it again
    sends only what is new. RUN is a trace id, a unique prefix of one, or 'latest'.
    """
    from otel_sqlite.otlp import push as pushing

    url = endpoint or pushing.default_endpoint()
    sender = pushing.Sender(url, {**pushing.env_headers(), **headers})
    bar = None

    def start(counts: pushing.PushResult) -> None:
        nonlocal bar
        if sys.stderr.isatty() and counts.total:
            bar = click.progressbar(length=counts.total, label="pushing", file=sys.stderr)
            bar.__enter__()

    try:
        result = pushing.push(
            resolve_db_path(db), sender, _selection(db, runs, since), batch=batch_size,
            from_start=from_start, on_start=start,
            on_batch=lambda n: bar.update(n) if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    notes = []
    if result.already_pushed:
        notes.append(f"{result.already_pushed} pushed before")
    if result.unfinished:
        notes.append(f"{result.unfinished} unfinished not sent")
    if result.rejected:
        notes.append(f"{result.rejected} rejected by the endpoint")
    if result.retries:
        notes.append(f"{result.retries} retries")
    click.echo(f"pushed {result.spans} spans in {result.batches} requests to {url}"
               + (f" ({'; '.join(notes)})" if notes else ""))
    if result.cursor_error:
        click.echo(f"warning: {result.cursor_error}", err=True)


def _start_ui(path: Path, host: str, port: int) -> UIServer:
    """The web UI over the same database, on its own port and thread (``serve --ui``)."""
    import threading

    from otel_sqlite.ui.server import UIServer

    ui_server = UIServer(path, host, port)
    threading.Thread(target=ui_server.serve_forever, daemon=True).start()
    return ui_server


def _start_lines(path: Path, receivers: Receivers, ui_server: UIServer | None) -> list[str]:
    """Where everything listens and the OTEL_* settings that point an SDK at it."""
    lines = [f"otel-sqlite serve: receiving spans into {path}",
             f"  OTLP/HTTP  {receivers.http.url}"]
    settings = [("http/protobuf", receivers.http.url.removesuffix("/v1/traces"))]
    if receivers.grpc is not None:
        lines.append(f"  OTLP/gRPC  {receivers.grpc.endpoint}")
        settings.insert(0, ("grpc", receivers.grpc.endpoint))
    if ui_server is not None:
        lines.append(f"  web UI     {ui_server.url}")
    lines.append("point an OTel SDK at it with:")
    lines += [f"  OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL={protocol} "
              f"OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}" for protocol, endpoint in settings]
    return [*lines, "Ctrl-C to stop"]


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback exposes the database.")
@click.option("--port", type=click.IntRange(0, 65535), default=4318, show_default=True,
              help="OTLP/HTTP port (0 picks a free one, printed at start).")
@click.option("--grpc-port", type=click.IntRange(0, 65535), default=4317, show_default=True,
              help="OTLP/gRPC port (0 picks a free one, printed at start).")
@click.option("--no-grpc", is_flag=True, help="Serve OTLP/HTTP only.")
@click.option("--max-body-bytes", type=click.IntRange(1), default=None,
              help="Largest request accepted, as sent (default 16 MiB; gRPC: see the next).")
@click.option("--max-decompressed-bytes", type=click.IntRange(1), default=None,
              help="Largest request accepted once decompressed (default 64 MiB); also the "
                   "gRPC message limit.")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Let browser pages from ORIGIN (e.g. http://localhost:3000, or *) post "
                   "spans over HTTP; repeatable. Without it, no CORS headers.")
@click.option("--ack", type=click.Choice(["queued", "committed"]), default="queued",
              show_default=True,
              help="Answer success once a request is decoded and queued for the writer, or "
                   "only once it is committed (slower; survives kill -9 of serve).")
@click.option("--ui", "with_ui", is_flag=True,
              help="Also serve the web UI and Jaeger's query API (read-only), same process.")
@click.option("--ui-port", type=click.IntRange(0, 65535), default=8787, show_default=True,
              help="Port of the UI with --ui (0 picks a free one).")
@db_option
def serve(host: str, port: int, grpc_port: int, no_grpc: bool, max_body_bytes: int | None,
          max_decompressed_bytes: int | None, cors_origins: tuple[str, ...], ack: str,
          with_ui: bool, ui_port: int, db: str | None) -> None:
    """Receive OTLP traces over gRPC and HTTP (protobuf or JSON) into the database.

    Any OTel SDK or Collector can send to it: the lines printed at start say how. A success
    answer means the spans are queued for the writer (with --ack committed: committed).
    Ctrl-C or SIGTERM stores everything acknowledged and exits.
    """
    from otel_sqlite.otlp import ingest
    from otel_sqlite.otlp.receivers import Receivers
    from otel_sqlite.storage.store import Store

    limits = ingest.Limits(
        max_body_bytes or ingest.MAX_BODY_BYTES,
        max_decompressed_bytes or ingest.MAX_DECOMPRESSED_BYTES,
    )
    path = resolve_db_path(db)
    # Row by row: only serve's writer thread writes, and the request threads beside it spend
    # most of their time waiting on sockets (measured: benchmarks/serve_ingest.py, 4 clients).
    store = Store(path, sole_thread=True)
    try:
        receivers = Receivers(store, host, port, None if no_grpc else grpc_port, limits,
                              cors_origins, ingest.Ack(ack))
    except OSError as exc:
        store.close()
        raise click.ClickException(f"cannot listen on {exc}") from None
    try:
        ui_server = _start_ui(path, host, ui_port) if with_ui else None
    except OSError as exc:
        receivers.stop()
        raise click.ClickException(f"cannot listen on {host}:{ui_port}: {exc.strerror}") from None

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    click.echo("\n".join(_start_lines(path, receivers, ui_server)), err=True)
    try:
        receivers.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if ui_server is not None:
            ui_server.shutdown()
            ui_server.server_close()
        receivers.stop()
    stats = receivers.ingest.stats
    click.echo(f"stopped: {stats.summary()}", err=True)
    if stats.lost:
        sys.exit(1)
