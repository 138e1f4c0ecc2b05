"""The UI's JSON API: every route is one call into ``otel_sqlite.queries``, the same read layer
the CLI uses, plus the little shaping a page needs (paging flags, offsets in milliseconds).

No SQL here. Routes take only GET parameters; nothing can change the database.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from otel_sqlite.errors import NotFoundError, OtelSqliteError
from otel_sqlite.queries.common import iso
from otel_sqlite.queries.costs import costs as cost_rows
from otel_sqlite.queries.diff import diff_runs
from otel_sqlite.queries.flaky import LAST_RUNS, flaky_steps
from otel_sqlite.queries.resolve import resolve_run
from otel_sqlite.queries.runs import list_runs, run_summary
from otel_sqlite.queries.search import search as search_lines
from otel_sqlite.queries.spans import PAGE_LINES, artifact_content, span_details, span_tree
from otel_sqlite.queries.timespec import parse_moment
from otel_sqlite.storage import artifacts

MAX_LIMIT = 500
MAX_LINES = 5000

Query = dict[str, list[str]]


class BadRequestError(OtelSqliteError):
    """A parameter the API cannot use (not a number, out of range)."""


class OutsideFolderError(OtelSqliteError):
    """An artifact recorded outside the database's folder: the UI does not serve it."""


@dataclass(frozen=True)
class FileResponse:
    """An artifact to send as a download (the server streams it, honouring Range)."""

    path: Path
    content_type: str
    download_name: str


@dataclass(frozen=True)
class JsonResponse:
    """A JSON answer with its own status: routes that speak another API's error shape (Jaeger's)
    answer their errors themselves."""

    data: Any
    status: int


@dataclass(frozen=True)
class Request:
    db: sqlite3.Connection
    db_path: Path
    match: re.Match[str]
    query: Query

    def arg(self, name: str) -> str:
        return unquote(self.match.group(name))

    def text(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1].strip() or None if values else None

    def number(self, name: str, default: int, low: int = 0, high: int = 1 << 62) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequestError(f"{name} must be a whole number, not {raw!r}") from None
        if not low <= value <= high:
            raise BadRequestError(f"{name} must be between {low} and {high}, not {value}")
        return value

    def since_ns(self) -> int | None:
        since = self.text("since")
        return None if since is None else parse_moment(since)


def runs(request: Request) -> dict[str, Any]:
    """``/api/runs?name=&status=&since=&q=&limit=&offset=``: a page of runs, newest first."""
    limit = request.number("limit", 50, 1, MAX_LIMIT)
    offset = request.number("offset", 0)
    found = list_runs(
        request.db, name=request.text("name"), status=request.text("status"),
        since_ns=request.since_ns(), text=request.text("q"), limit=limit + 1, offset=offset,
    )
    return {"runs": found[:limit], "offset": offset, "limit": limit, "more": len(found) > limit}


def check_run(db: sqlite3.Connection, ref: str) -> None:
    """Raise NotFoundError (or AmbiguousError) unless ``ref`` names one run."""
    resolve_run(db, ref)


def run(request: Request) -> dict[str, Any]:
    """``/api/runs/RUN``: the run's summary (RUN: a trace id, a prefix, ``latest``)."""
    return run_summary(request.db, request.arg("run"))


def run_spans(request: Request) -> dict[str, Any]:
    """``/api/runs/RUN/spans``: every span in tree order, and ``extent_ms``, where the last
    known thing in the run ended (or started, for spans still open)."""
    tree = span_tree(request.db, request.arg("run"))
    extent = max((s["offset_ms"] + (s["duration_ms"] or 0) for s in tree["spans"]), default=0)
    return {**tree, "extent_ms": extent}


def span(request: Request) -> dict[str, Any]:
    """``/api/spans/TRACE/SPAN``: one span in full; events carry ``offset_ms`` from its start."""
    found = span_details(request.db, request.arg("trace"), request.arg("span"))
    for event in found["events"]:
        event["offset_ms"] = round((event["time_ns"] - found["start_ns"]) / 1e6, 3)
    return found


def _served_artifact(request: Request) -> tuple[dict[str, Any], Path]:
    """The artifact's record and file, refused unless the file lies in the database's folder
    (an imported span could name any path on this machine)."""
    artifact_id = int(request.arg("artifact"))
    record = artifact_content(request.db, artifact_id, length=0)
    file = artifacts.resolve_stored_path(record["path"], request.db_path).resolve()
    if not file.is_relative_to(request.db_path.parent.resolve()):
        raise OutsideFolderError(
            f"artifact {artifact_id} ({record['path']}) lies outside the database's folder; "
            "the UI serves only files kept beside the database"
        )
    return record, file


def artifact_page(request: Request) -> dict[str, Any]:
    """``/api/artifacts/ID?start=&count=``: lines ``start`` .. of the artifact's file."""
    _served_artifact(request)
    return artifact_content(
        request.db, int(request.arg("artifact")),
        first_line=request.number("start", 1, 1), line_count=request.number(
            "count", PAGE_LINES, 1, MAX_LINES),
    )


def artifact_raw(request: Request) -> FileResponse:
    """``/api/artifacts/ID/raw``: the file itself, as a download."""
    record, file = _served_artifact(request)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", file.name) or "artifact"
    text = record["role"] in ("stdout", "stderr")
    return FileResponse(file, "text/plain; charset=utf-8" if text else "application/octet-stream",
                        f"{record['artifact_id']}-{name}")


def search(request: Request) -> dict[str, Any]:
    """``/api/search?q=&run=&limit=&offset=``: hits newest first, with their run's name and
    start."""
    query = request.text("q")
    if query is None:
        raise BadRequestError("search needs q, the words to look for")
    limit = request.number("limit", 50, 1, MAX_LIMIT)
    hits = search_lines(request.db, query, run=request.text("run"), limit=limit + 1,
                        offset=request.number("offset", 0))
    runs_seen: dict[str, dict[str, Any]] = {}
    for hit in hits[:limit]:
        if hit["run_id"] not in runs_seen:
            try:
                runs_seen[hit["run_id"]] = resolve_run(request.db, hit["run_id"])
            except NotFoundError:
                runs_seen[hit["run_id"]] = {}
        root = runs_seen[hit["run_id"]]
        hit["run_name"] = root.get("name")
        hit["run_start"] = iso(root.get("start_ns"))
    return {"hits": hits[:limit], "more": len(hits) > limit}


def costs(request: Request) -> dict[str, Any]:
    """``/api/costs?by=model|provider|run|step|day&since=``: cost rows, dearest first."""
    by = request.text("by") or "model"
    return {"by": by, "rows": cost_rows(request.db, by=by, since_ns=request.since_ns())}


def diff(request: Request) -> dict[str, Any]:
    """``/api/diff?a=RUN&b=RUN``: run B against baseline A."""
    a, b = request.text("a"), request.text("b")
    if a is None or b is None:
        raise BadRequestError("diff needs a (the baseline run) and b (the run to compare)")
    return diff_runs(request.db, a, b)


def flaky(request: Request) -> dict[str, Any]:
    """``/api/flaky?name=&last=``: steps that both passed and failed, or needed retries."""
    return {"steps": flaky_steps(request.db, last=request.number("last", LAST_RUNS, 1, 1000),
                                 name=request.text("name"))}


Routes = list[tuple[re.Pattern[str], Callable[[Request], Any]]]


def routes(*table: tuple[str, Callable[[Request], Any]]) -> Routes:
    """A route table: each path pattern (matched whole) compiled, with its handler."""
    return [(re.compile(pattern), handler) for pattern, handler in table]


_HEX_ID = "[0-9a-fA-F]+"
ROUTES = routes(
    (r"/api/runs", runs),
    (r"/api/runs/(?P<run>[^/]+)", run),
    (r"/api/runs/(?P<run>[^/]+)/spans", run_spans),
    (rf"/api/spans/(?P<trace>{_HEX_ID})/(?P<span>{_HEX_ID})", span),
    (r"/api/artifacts/(?P<artifact>[0-9]{1,18})", artifact_page),
    (r"/api/artifacts/(?P<artifact>[0-9]{1,18})/raw", artifact_raw),
    (r"/api/search", search),
    (r"/api/costs", costs),
    (r"/api/diff", diff),
    (r"/api/flaky", flaky),
)


def handle(db: sqlite3.Connection, db_path: Path, path: str, query: Query,
           routes: Routes = ROUTES) -> Any:
    """The result of the route ``path`` names; NotFoundError when no route does."""
    for pattern, handler in routes:
        match = pattern.fullmatch(path)
        if match:
            return handler(Request(db, db_path, match, query))
    raise NotFoundError(f"no API route {path}")
