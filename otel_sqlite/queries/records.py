"""Stored spans read back as the ``SpanRecord``s they were written from.

``export otlp`` and ``push`` stream spans out through these functions. Spans come in
``spans.id`` order, batch by batch, so memory stays bounded on any database and the last id
handed out is a resumable cursor (``after_id``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from otel_sqlite.records import EventRecord, LinkRecord, ResourceRecord, ScopeRecord, SpanRecord
from otel_sqlite.storage import values

DEFAULT_BATCH = 512

_SPAN_COLUMNS = (
    "id, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code, "
    "status_message, resource_id, scope_id, trace_state, trace_flags, "
    "dropped_attributes_count, dropped_events_count, dropped_links_count"
)


@dataclass(frozen=True)
class Selection:
    """Which stored spans to read: whole traces, optionally only finished spans.

    ``since_ns`` keeps the traces that have a span starting at or after it, so a selection
    never cuts a trace in half by time.
    """

    trace_ids: Sequence[str] | None = None
    since_ns: int | None = None
    finished_only: bool = False

    def where(self, after_id: int = 0) -> tuple[str, list[object]]:
        clauses, params = ["id > ?"], [after_id]
        if self.trace_ids is not None:
            clauses.append(f"trace_id IN ({', '.join('?' * len(self.trace_ids))})")
            params.extend(self.trace_ids)
        if self.since_ns is not None:
            clauses.append("trace_id IN (SELECT trace_id FROM spans WHERE start_ns >= ?)")
            params.append(self.since_ns)
        if self.finished_only:
            clauses.append("end_ns IS NOT NULL")
        return " AND ".join(clauses), params


ALL_SPANS = Selection()


def count_records(db: sqlite3.Connection, selection: Selection, after_id: int = 0) -> int:
    """How many spans ``iter_records`` would yield (for a progress bar)."""
    where, params = selection.where(after_id)
    return db.execute(f"SELECT count(*) FROM spans WHERE {where}", params).fetchone()[0]


def iter_records(
    db: sqlite3.Connection,
    selection: Selection = ALL_SPANS,
    after_id: int = 0,
    batch: int = DEFAULT_BATCH,
) -> Iterator[list[tuple[int, SpanRecord]]]:
    """Batches of ``(spans.id, record)`` in id order, starting after ``after_id``."""
    reader = _Reader(db)
    where, params = selection.where()
    while True:
        params[0] = after_id
        rows = db.execute(
            f"SELECT {_SPAN_COLUMNS} FROM spans WHERE {where} ORDER BY id LIMIT ?",
            (*params, batch),
        ).fetchall()
        if not rows:
            return
        yield reader.records(rows)
        after_id = rows[-1][0]


def trace_records(db: sqlite3.Connection, trace_ids: Sequence[str]) -> dict[str, list[SpanRecord]]:
    """Every stored span of each trace, in start order (a trace missing from the database maps
    to an empty list). Spans are found through the trace index, however far apart they were
    written."""
    found: dict[str, list[SpanRecord]] = {trace_id: [] for trace_id in trace_ids}
    if not found:
        return found
    rows = db.execute(
        f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id IN (SELECT value FROM json_each(?))",
        (values.to_json(list(found)),),
    ).fetchall()
    rows.sort()
    reader = _Reader(db)
    for start in range(0, len(rows), DEFAULT_BATCH * 8):
        for _, record in reader.records(rows[start:start + DEFAULT_BATCH * 8]):
            found[record.trace_id].append(record)
    for records in found.values():
        records.sort(key=lambda record: (record.start_ns, record.span_id))
    return found


class _Reader:
    """Builds records for a batch of span rows; resources and scopes are read once each."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._resources: dict[int | None, ResourceRecord] = {None: ResourceRecord()}
        self._scopes: dict[int | None, ScopeRecord] = {None: ScopeRecord()}

    def records(self, rows: list[tuple]) -> list[tuple[int, SpanRecord]]:
        """Records of ``rows`` (span rows in id order). Their attributes, events and links are
        read by id range when the ids are dense (an export's batch), else by the ids themselves
        (a trace whose spans were written among other runs' spans)."""
        low, high = rows[0][0], rows[-1][0]
        if high - low < 2 * len(rows):
            which, params = "BETWEEN ? AND ?", (low, high)
        else:
            which, params = "IN (SELECT value FROM json_each(?))", (values.to_json(
                [row[0] for row in rows]),)
        attributes: dict[int, dict] = {}
        for span, key, value, type_name in self.db.execute(
            f"SELECT span, key, value, type FROM attributes WHERE span {which}", params
        ):
            attributes.setdefault(span, {})[key] = values.decode(value, type_name)
        events: dict[int, list[EventRecord]] = {}
        for span, name, time_ns, attrs, dropped in self.db.execute(
            "SELECT span, name, time_ns, attributes, dropped_attributes_count FROM events "
            f"WHERE span {which} ORDER BY id",
            params,
        ):
            events.setdefault(span, []).append(
                EventRecord(name, time_ns, json.loads(attrs), dropped)
            )
        links: dict[int, list[LinkRecord]] = {}
        for span, trace_id, span_id, state, flags, attrs, dropped in self.db.execute(
            "SELECT span, trace_id, span_id, trace_state, flags, attributes, "
            f"dropped_attributes_count FROM links WHERE span {which} ORDER BY id",
            params,
        ):
            links.setdefault(span, []).append(
                LinkRecord(trace_id, span_id, state, json.loads(attrs), flags, dropped)
            )
        out = []
        for (row_id, trace_id, span_id, parent, name, kind, start_ns, end_ns, status_code,
             status_message, resource_id, scope_id, trace_state, trace_flags, dropped_attributes,
             dropped_events, dropped_links) in rows:
            out.append((row_id, SpanRecord(
                trace_id=trace_id, span_id=span_id, name=name, start_ns=start_ns, end_ns=end_ns,
                parent_span_id=parent, kind=kind, status_code=status_code,
                status_message=status_message, attributes=attributes.get(row_id, {}),
                events=events.get(row_id, []), links=links.get(row_id, []),
                resource=self._resource(resource_id), scope=self._scope(scope_id),
                trace_state=trace_state, trace_flags=trace_flags,
                dropped_attributes_count=dropped_attributes,
                dropped_events_count=dropped_events, dropped_links_count=dropped_links,
            )))
        return out

    def _resource(self, resource_id: int | None) -> ResourceRecord:
        if resource_id not in self._resources:
            attrs, schema_url, dropped = self.db.execute(
                "SELECT attributes, schema_url, dropped_attributes_count FROM resources "
                "WHERE id = ?",
                (resource_id,),
            ).fetchone()
            self._resources[resource_id] = ResourceRecord(json.loads(attrs), schema_url, dropped)
        return self._resources[resource_id]

    def _scope(self, scope_id: int | None) -> ScopeRecord:
        if scope_id not in self._scopes:
            name, version, schema_url, attrs = self.db.execute(
                "SELECT name, version, schema_url, attributes FROM scopes WHERE id = ?",
                (scope_id,),
            ).fetchone()
            self._scopes[scope_id] = ScopeRecord(name, version, schema_url, json.loads(attrs))
        return self._scopes[scope_id]
