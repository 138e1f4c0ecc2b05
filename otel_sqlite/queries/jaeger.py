"""The read side of Jaeger's query API: services, operations, trace search and dependencies.

Jaeger's model is OTLP seen through its own translation: a span's service is its resource's
``service.name``, an operation is a span name (with its kind), and a search tag matches a span
when the span carries it as an attribute, as one of the tags Jaeger derives from the span
(``error``, ``span.kind``, ``otel.status_code``, ``otel.status_description``,
``otel.scope.name``/``version``, ``w3c.tracestate``), as a resource attribute or as an event's
name (``event``) or attribute. Values compare as text, as Jaeger compares them (``500`` finds
the integer 500, ``true`` the boolean).

Searches walk the ``start_ns`` index newest first and stop once enough traces are found, so a
recent search is cheap on any database; resources and scopes (small tables) are matched in
Python and handed to SQL as id lists.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from otel_sqlite.conventions import SERVICE_NAME
from otel_sqlite.queries.common import db_path
from otel_sqlite.storage import values

# What Jaeger calls the service of a resource without ``service.name``.
NO_SERVICE_NAME = "OTLPResourceNoServiceName"
# The tags Jaeger's OTLP translation derives from a span rather than from its attributes.
TAG_ERROR = "error"
TAG_SPAN_KIND = "span.kind"
TAG_STATUS_CODE = "otel.status_code"
TAG_STATUS_DESCRIPTION = "otel.status_description"
TAG_SCOPE_NAME = "otel.scope.name"
TAG_SCOPE_VERSION = "otel.scope.version"
TAG_TRACE_STATE = "w3c.tracestate"
TAG_EVENT = "event"

_INT = re.compile(r"[+-]?\d+")
_SPAN_COLUMN_TAGS = {
    TAG_SPAN_KIND: "s.kind",
    TAG_STATUS_CODE: "s.status_code",
    TAG_STATUS_DESCRIPTION: "s.status_message",
    TAG_TRACE_STATE: "s.trace_state",
}


@dataclass(frozen=True)
class TraceQuery:
    """What a Jaeger search asks for; every criterion holds for one and the same span.

    ``service`` None means any service; durations of spans still in flight count up to
    ``now_ns``.
    """

    start_min_ns: int
    start_max_ns: int
    now_ns: int
    limit: int
    service: str | None = None
    operation: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    duration_min_ns: int | None = None
    duration_max_ns: int | None = None


def services(db: sqlite3.Connection) -> list[str]:
    """Every service name in the database, sorted."""
    return sorted({name or NO_SERVICE_NAME for (name,) in db.execute(
        "SELECT DISTINCT service_name FROM resources")})


def operations(db: sqlite3.Connection, service: str | None = None,
               span_kind: str | None = None) -> list[tuple[str, str]]:
    """``(span name, span kind)`` pairs of a service (or of all), sorted; ``span_kind`` keeps
    one kind. An operation stays listed after ``prune`` removed its last span, as in Jaeger's
    own stores, until the database file is replaced."""
    names = _resource_services(db)
    return sorted({
        (name, kind) for resource, name, kind in _catalog(db).refresh(db)
        if (service is None or names.get(resource, NO_SERVICE_NAME) == service)
        and (span_kind is None or kind == span_kind)
    })


class _OperationCatalog:
    """Every (resource, span name, kind) stored in one database file, kept by reading only
    the spans written since the last look (span ids only grow), so listing operations costs
    one scan of the file once, then milliseconds, instead of a scan per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen_id = 0
        self._rows: set[tuple[int | None, str, str]] = set()

    def refresh(self, db: sqlite3.Connection) -> set[tuple[int | None, str, str]]:
        with self._lock:
            (top,) = db.execute("SELECT max(id) FROM spans").fetchone()
            if top is None or top < self._seen_id:  # emptied, or vacuumed from scratch
                self._seen_id, self._rows = 0, set()
            if top is not None and top > self._seen_id:
                self._rows.update(db.execute(
                    "SELECT DISTINCT resource_id, name, kind FROM spans WHERE id > ? AND id <= ?",
                    (self._seen_id, top)))
                self._seen_id = top
            return set(self._rows)


_CATALOGS: dict[tuple[str, int, int], _OperationCatalog] = {}
_CATALOGS_LOCK = threading.Lock()


def _catalog(db: sqlite3.Connection) -> _OperationCatalog:
    """The catalog of the file behind ``db`` (a replaced file gets a new one)."""
    path = db_path(db)
    try:
        stat = os.stat(path)
        key = (str(path), stat.st_dev, stat.st_ino)
    except OSError:
        key = (str(path), 0, 0)
    with _CATALOGS_LOCK:
        return _CATALOGS.setdefault(key, _OperationCatalog())


def find_trace_ids(db: sqlite3.Connection, query: TraceQuery) -> list[str]:
    """Ids of up to ``query.limit`` traces with a span that matches, newest match first."""
    where = ["s.start_ns BETWEEN ? AND ?"]
    params: list[Any] = [query.start_min_ns, query.start_max_ns]
    if query.service is not None:
        resources = _service_resources(db, query.service)
        if resources is None:
            return []
        where.append(resources[0])
        params.append(resources[1])
    if query.operation is not None:
        where.append("s.name = ?")
        params.append(query.operation)
    if query.duration_min_ns is not None:
        where.append("coalesce(s.end_ns, ?) - s.start_ns >= ?")
        params += [query.now_ns, query.duration_min_ns]
    if query.duration_max_ns is not None:
        where.append("coalesce(s.end_ns, ?) - s.start_ns <= ?")
        params += [query.now_ns, query.duration_max_ns]
    for key, value in query.tags.items():
        clause, clause_params = _tag_clause(db, key, value)
        where.append(clause)
        params += clause_params
    found: dict[str, None] = {}
    cursor = db.execute(
        f"SELECT s.trace_id FROM spans s WHERE {' AND '.join(where)} ORDER BY s.start_ns DESC",
        params,
    )
    for (trace_id,) in cursor:
        found[trace_id] = None
        if len(found) >= query.limit:
            break
    cursor.close()
    return list(found)


@dataclass
class TraceSummary:
    """What a search result list shows of one trace, counted without reading its spans
    whole: Jaeger v2's ``TraceSummary`` (a root is the earliest span without a parent; an
    orphan names a parent the trace does not hold; a span in flight ends ``now_ns``)."""

    trace_id: str
    start_ns: int = 0
    end_ns: int = 0
    spans: int = 0
    errors: int = 0
    orphans: int = 0
    root_service: str = ""
    root_operation: str = ""
    services: dict[str, list[int]] = field(default_factory=dict)  # name: [spans, errors]


def trace_summaries(db: sqlite3.Connection, trace_ids: list[str],
                    now_ns: int) -> list[TraceSummary]:
    """Summaries of ``trace_ids`` in that order; traces with no stored span are left out."""
    names = _resource_services(db)
    found = {trace_id: TraceSummary(trace_id) for trace_id in trace_ids}
    wanted = values.to_json(trace_ids)
    for trace_id, resource, spans, errors, start, end, orphans in db.execute(
        "SELECT s.trace_id, s.resource_id, count(*), sum(s.status_code = 'ERROR'), "
        "min(s.start_ns), max(coalesce(s.end_ns, max(s.start_ns, ?))), "
        "sum(s.parent_span_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM spans p "
        "WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id)) "
        "FROM spans s WHERE s.trace_id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2",
        (now_ns, wanted),
    ):
        summary = found[trace_id]
        first = summary.spans == 0
        summary.start_ns = start if first else min(summary.start_ns, start)
        summary.end_ns = end if first else max(summary.end_ns, end)
        summary.spans += spans
        summary.errors += errors
        summary.orphans += orphans
        service = summary.services.setdefault(names.get(resource, NO_SERVICE_NAME), [0, 0])
        service[0] += spans
        service[1] += errors
    for trace_id, resource, name, _ in db.execute(
        "SELECT trace_id, resource_id, name, min(start_ns) FROM spans "
        "WHERE trace_id IN (SELECT value FROM json_each(?)) AND parent_span_id IS NULL "
        "GROUP BY trace_id", (wanted,),
    ):
        found[trace_id].root_service = names.get(resource, NO_SERVICE_NAME)
        found[trace_id].root_operation = name
    return [summary for summary in found.values() if summary.spans]


def dependencies(db: sqlite3.Connection, start_ns: int, end_ns: int) -> list[dict[str, Any]]:
    """Calls between services: a span whose parent belongs to another service counts as one
    call from the parent's service to its own, for spans starting in the window."""
    names = _resource_services(db)
    counts: dict[tuple[str, str], int] = {}
    for parent, child, calls in db.execute(
        "SELECT p.resource_id, c.resource_id, count(*) FROM spans c "
        "JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id "
        "WHERE c.start_ns BETWEEN ? AND ? AND p.resource_id IS NOT c.resource_id "
        "GROUP BY 1, 2",
        (start_ns, end_ns),
    ):
        pair = (names.get(parent, NO_SERVICE_NAME), names.get(child, NO_SERVICE_NAME))
        if pair[0] != pair[1]:
            counts[pair] = counts.get(pair, 0) + calls
    return [{"parent": parent, "child": child, "callCount": calls}
            for (parent, child), calls in sorted(counts.items())]


def _resource_services(db: sqlite3.Connection) -> dict[int | None, str]:
    found: dict[int | None, str] = {None: NO_SERVICE_NAME}
    for resource, name in db.execute("SELECT id, service_name FROM resources"):
        found[resource] = name or NO_SERVICE_NAME
    return found


def _ids_clause(column: str, ids: Iterable[int | None]) -> tuple[str, str] | None:
    """``column`` in ``ids`` (None: the column is NULL) as SQL and its one parameter; None
    when ``ids`` is empty (nothing can match)."""
    ids = list(ids)
    if not ids:
        return None
    known = [i for i in ids if i is not None]
    clause = f"{column} IN (SELECT value FROM json_each(?))"
    if None in ids:
        clause = f"({clause} OR {column} IS NULL)"
    return clause, values.to_json(known)


def _service_resources(db: sqlite3.Connection, service: str) -> tuple[str, str] | None:
    return _ids_clause("s.resource_id", (
        resource for resource, name in _resource_services(db).items() if name == service))


def _same_text(value: Any, text: str) -> bool:
    """Whether an attribute value reads as ``text``, as Jaeger compares tags."""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, (int, float)):
        try:
            return float(text) == value
        except ValueError:
            return False
    if isinstance(value, str):
        return value == text
    return values.to_json(value) == text


def _text_candidates(text: str) -> tuple[str, list[Any]]:
    """SQL matching a typed value ``v`` (with its type ``t``) against ``text``."""
    clauses, params = ["(t NOT IN ('bool', 'true', 'false') AND v = ?)"], [text]
    if _INT.fullmatch(text):
        clauses.append("(t NOT IN ('bool', 'true', 'false') AND v = ?)")
        params.append(int(text))
    else:
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            clauses.append("(t IN ('double', 'real') AND v = ?)")
            params.append(number)
    if text in ("true", "false"):
        clauses.append("(t IN ('bool', 'true', 'false') AND v = ?)")
        params.append(1 if text == "true" else 0)
    return " OR ".join(clauses), params


def _tag_clause(db: sqlite3.Connection, key: str, text: str) -> tuple[str, list[Any]]:
    """SQL (over spans ``s``) for "the span carries tag ``key`` reading ``text``"."""
    match, match_params = _text_candidates(text)
    clauses = [
        "EXISTS (SELECT 1 FROM (SELECT value AS v, type AS t FROM attributes "
        f"WHERE span = s.id AND key = ?) WHERE {match})",
        "EXISTS (SELECT 1 FROM (SELECT j.value AS v, j.type AS t FROM events e, "
        f"json_each(e.attributes) j WHERE e.span = s.id AND j.key = ?) WHERE {match})",
    ]
    params: list[Any] = [key, *match_params, key, *match_params]
    if key == TAG_EVENT:
        clauses.append("EXISTS (SELECT 1 FROM events e WHERE e.span = s.id AND e.name = ?)")
        params.append(text)
    if key == TAG_ERROR and text == "true":
        clauses.append("s.status_code = 'ERROR'")
    if key in _SPAN_COLUMN_TAGS:
        clauses.append(f"{_SPAN_COLUMN_TAGS[key]} = ?")
        params.append(text)
    if key in (TAG_SCOPE_NAME, TAG_SCOPE_VERSION):
        column = "name" if key == TAG_SCOPE_NAME else "version"
        scopes = [scope for scope, in db.execute(
            f"SELECT id FROM scopes WHERE {column} = ?", (text,))]
        ids = _ids_clause("s.scope_id", scopes)
        if ids is not None:
            clauses.append(ids[0])
            params.append(ids[1])
    resources = _ids_clause("s.resource_id", (
        resource for resource, attributes in db.execute("SELECT id, attributes FROM resources")
        if key != SERVICE_NAME and key in (decoded := json.loads(attributes))
        and _same_text(decoded[key], text)))
    if resources is not None:
        clauses.append(resources[0])
        params.append(resources[1])
    return "(" + " OR ".join(clauses) + ")", params
