"""The one place that writes spans into the database.

Every writer (the SDK exporter, the in-flight processor, ``exec``, ``run end``, ``import``,
``serve``) hands ``Store.write`` plain ``SpanRecord``s; one call is one transaction. Writing a
span that is already stored replaces it, so re-export and re-import are idempotent and the
final export of a span replaces the row recorded while it was in flight.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from otel_sqlite.conventions import (
    ARTIFACT_EVENT,
    ARTIFACT_MEDIA_TYPE,
    ARTIFACT_PATH,
    ARTIFACT_ROLE,
    ARTIFACT_SHA256,
    ARTIFACT_SIZE,
    EXCEPTION_EVENT,
    EXCEPTION_MESSAGE,
    GEN_AI_EVENT_PREFIX,
    HARNESS_KIND,
    SERVICE_NAME,
)
from otel_sqlite.errors import DatabaseError
from otel_sqlite.records import ResourceRecord, ScopeRecord, SpanRecord
from otel_sqlite.storage import artifacts, limits, model_calls, values
from otel_sqlite.storage.bulk_rows import AttributeDoc, BulkInsert, insert_attributes, json_ready
from otel_sqlite.storage.schema import (
    BUSY_TIMEOUT_MS,
    connect,
    describe_error,
    has_fts,
    while_locked,
)

logger = logging.getLogger(__name__)

# Page cache of a writer's connection, in KiB (SQLite's default is 2 MiB).
WRITER_CACHE_KIB = 64 * 1024

# The span's own searchable text is capped: it is for finding a span, not for storing values.
MAX_SPAN_TEXT_CHARS = 8192

_SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, name, kind, harness_kind, start_ns, end_ns, "
    "status_code, status_message, resource_id, scope_id, trace_state, trace_flags, "
    "dropped_attributes_count, dropped_events_count, dropped_links_count"
)

# Each table's rows of a batch go in one statement (see bulk_rows for why).
_insert_spans = BulkInsert("spans", "id, " + _SPAN_COLUMNS)
_insert_events = BulkInsert("events", "span, name, time_ns, attributes, dropped_attributes_count")
_insert_links = BulkInsert(
    "links", "span, trace_id, span_id, trace_state, flags, attributes, dropped_attributes_count"
)
_DELETE_SPANS = "DELETE FROM spans WHERE id IN (SELECT value FROM json_each(?))"
# What ON DELETE CASCADE would remove with a span (see Store._open for why the store does it
# itself): every column the schema declares as referencing spans with that action.
_SPAN_CHILDREN = """
SELECT m.name, f."from" FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table' AND f."table" = 'spans' AND f.on_delete = 'CASCADE'
ORDER BY m.name
"""
# What finds a span in search: its name, its string attributes, its events' names, exception
# messages and the text of GenAI events (prompts and completions, where recorded). Built in
# SQL from the rows just written, so the hot path stays in C.
_INSERT_SPAN_TEXT = f"""
INSERT INTO text_lines (span, artifact, line, text)
SELECT s.id, NULL, 0, substr(s.name
    || coalesce(' ' || (SELECT group_concat(substr(a.value, 1, {MAX_SPAN_TEXT_CHARS}), ' ')
                        FROM attributes AS a
                        WHERE a.span = s.id AND a.type = 'string'), '')
    || coalesce(' ' || (SELECT group_concat(e.name, ' ') FROM events AS e
                        WHERE e.span = s.id AND e.name != '{ARTIFACT_EVENT}'), '')
    || coalesce(' ' || (SELECT group_concat(json_extract(e.attributes, '$."{EXCEPTION_MESSAGE}"'),
                                            ' ')
                        FROM events AS e WHERE e.span = s.id AND e.name = '{EXCEPTION_EVENT}'), '')
    || coalesce(' ' || (SELECT group_concat(j.value, ' ')
                        FROM events AS e, json_each(e.attributes) AS j
                        WHERE e.span = s.id AND e.name GLOB '{GEN_AI_EVENT_PREFIX}*'
                          AND j.type = 'text'), ''),
    1, {MAX_SPAN_TEXT_CHARS})
FROM spans AS s WHERE s.id IN (SELECT value FROM json_each(?))
"""
_INSERT_TEXT = "INSERT INTO text_lines (span, artifact, line, text) VALUES (?, ?, ?, ?)"
# The run of each trace (schema m003 / m004): a new span with no stored parent is a candidate
# root; a true root (no parent id) beats an orphan, then the earlier start wins, and a span
# always displaces its own child. One statement per write, after the batch's spans are in (so
# a parent and a child written together are judged together); as a per-row trigger it cost
# about a quarter of the store's CPU time on harness-shaped runs.
_UPSERT_RUN_ROOTS = """
INSERT INTO run_roots (trace_id, span, start_ns, orphan)
SELECT s.trace_id, s.id, s.start_ns, s.parent_span_id IS NOT NULL
FROM spans AS s WHERE s.id IN (SELECT value FROM json_each(?))
  AND (s.parent_span_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM spans AS p
                      WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id))
ORDER BY s.id
ON CONFLICT (trace_id) DO UPDATE
    SET span = excluded.span, start_ns = excluded.start_ns, orphan = excluded.orphan
    WHERE (excluded.orphan, excluded.start_ns) < (run_roots.orphan, run_roots.start_ns)
       OR (SELECT parent_span_id FROM spans WHERE id = run_roots.span)
          = (SELECT span_id FROM spans WHERE id = excluded.span)
"""
# One statement per write, not a trigger per line: see schema.m002_index_text_per_statement.
_INDEX_TEXT = (
    "INSERT INTO text_fts (rowid, text) SELECT id, text FROM text_lines "
    "WHERE span IN (SELECT value FROM json_each(?))"
)
# Resource / scope record objects whose row id is remembered (see Store._row_id).
_MAX_KNOWN = 1024


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(values.to_json(parts).encode()).hexdigest()


class Store:
    """A writer's connection to one database file. Thread-safe; one transaction per write.

    ``sole_thread``: no other Python thread of this process competes for the GIL for long
    (the writer process; ``serve``, whose request threads mostly wait on sockets), so rows go
    row by row instead of as one JSON document per table (see bulk_rows).
    """

    def __init__(self, path: str | os.PathLike[str], sole_thread: bool = False) -> None:
        self.path = Path(path)
        self._bulk = not sole_thread
        self._db: sqlite3.Connection | None = None
        self._open()
        self._lock = threading.Lock()
        self._resource_ids: dict[str, int] = {}
        self._scope_ids: dict[tuple[str, str, str, str], int] = {}
        # Writers share one record object for every span of a resource / scope: remember the
        # row id per object (holding the object, so its id cannot be reused).
        self._known: dict[int, tuple[object, int]] = {}

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()

    def write(self, records: Iterable[SpanRecord]) -> int:
        """Store ``records`` in one transaction and return how many were written.

        Raises DatabaseError with a sentence naming the cause; on error nothing is written.
        """
        return self.write_chunks([records])

    def write_chunks(self, chunks: Iterable[Iterable[SpanRecord]]) -> int:
        """``write`` for a batch that arrives in parts: the writer process stores each part
        as it comes in, while the application packs the next. One transaction all the same;
        an exception from ``chunks`` rolls it back and propagates."""
        transaction = self.begin()
        try:
            count = transaction.write(chunks)
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()
        return count

    def begin(self) -> Transaction:
        """Take the write lock for a transaction that may hold several batches (``Transaction``).
        Raises DatabaseError when the file cannot be opened or stayed locked."""
        self._lock.acquire()
        try:
            if self._db is None or _identity(self.path) != self._file:
                self._reopen()
            self._begin(self._db)
        except sqlite3.Error as exc:
            self._lock.release()
            raise DatabaseError(describe_error(self.path, exc)) from exc
        except BaseException:
            self._lock.release()
            raise
        return Transaction(self, self._db)

    def _reopen(self) -> None:
        """Start a new file where ours was deleted or replaced while we held it open.

        Writing on into the old, unlinked file would report success for spans nobody can
        ever read; a long run whose database was removed keeps recording into a fresh one.
        """
        if self._db is not None:
            logger.warning(
                "otel-sqlite: %s was deleted or replaced while open; recording into a new file",
                self.path,
            )
            self._db.close()
            self._db = None
        self._forget_ids()
        self._open()

    def _open(self) -> None:
        """Connect as a writer. The connection polls for the write lock itself (``_begin``),
        so SQLite's busy handler is off once the file is open and its FTS checked; its page
        cache is larger because the spans' trace-id indexes take inserts at random places and
        the default 2 MiB cache missed on most of them past ~100k spans.

        Foreign keys are off on this connection: every row it inserts refers to a span or
        resource it has just written or looked up, and checking each child row's parent (ten
        of them per span in benchmarks/store_phases.py's workload) cost about 5% of the
        store's time. Replacing a span deletes its children itself (``_delete_spans``), from
        the schema's own ON DELETE CASCADE declarations, so a table added later is covered.
        """
        db = connect(self.path)
        try:
            self._fts = has_fts(db)
            self._delete_children = [
                f'DELETE FROM "{table}" WHERE "{column}" IN (SELECT value FROM json_each(?))'
                for table, column in db.execute(_SPAN_CHILDREN)
            ]
        except sqlite3.Error as exc:
            db.close()
            raise DatabaseError(describe_error(self.path, exc)) from exc
        db.execute("PRAGMA busy_timeout = 0")
        db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        db.execute("PRAGMA foreign_keys = OFF")
        self._db, self._file = db, _identity(self.path)

    def _forget_ids(self) -> None:
        self._resource_ids.clear()
        self._scope_ids.clear()
        self._known.clear()

    def _begin(self, db: sqlite3.Connection) -> None:
        """Take the write lock, polling every few milliseconds while another writer holds it.

        SQLite's own busy handler sleeps up to 100 ms between tries, so under steady contention
        a writer can miss every free moment for seconds; short jittered polls keep the wait
        close to the other writers' transaction time (``schema.while_locked``).
        """
        started = time.monotonic()
        while_locked(lambda: db.execute("BEGIN IMMEDIATE"), self.path, BUSY_TIMEOUT_MS)
        # For diagnosing contention: how long other writers' transactions held this one up.
        logger.debug("lock wait %.6f s on %s", time.monotonic() - started, self.path)

    def _write_all(self, db: sqlite3.Connection, records: Iterable[SpanRecord]) -> int:
        batch = _one_per_span(map(limits.bounded, records))
        existing = self._existing(db, list(batch))
        next_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM spans").fetchone()[0]
        span_rows: list[tuple] = []
        attribute_docs: list[AttributeDoc] = []
        event_rows: list[tuple] = []
        link_rows: list[tuple] = []
        artifact_events: list[tuple[int, Mapping]] = []
        written: list[int] = []
        # An in-flight row gets no span-text line: its final row replaces it, and indexing the
        # text only to delete it again doubled the cost of a span's in-flight write.
        indexed: list[int] = []
        replaced: list[int] = []
        calls: list[int] = []
        for key, record in batch.items():
            found = existing.get(key)
            if found is None:
                span, next_id = next_id, next_id + 1
            elif record.end_ns is None and found[1] is not None:
                continue  # an in-flight copy never overwrites the finished span
            else:
                span = found[0]  # stored anew under its old id; the old rows go first
                replaced.append(span)
            span_rows.append((span, *self._span_row(db, record)))
            written.append(span)
            if record.end_ns is not None:
                indexed.append(span)
            if record.attributes:
                attribute_docs.append((span, *json_ready(record.attributes)))
                if model_calls.maybe_model_call(record.attributes):
                    calls.append(span)
            for event in record.events:
                event_rows.append(
                    (span, event.name, event.time_ns, values.to_json(event.attributes),
                     event.dropped_attributes_count)
                )
                if event.name == ARTIFACT_EVENT:
                    artifact_events.append((span, event.attributes))
            for link in record.links:
                link_rows.append(
                    (span, link.trace_id, link.span_id, link.trace_state, link.flags,
                     values.to_json(link.attributes), link.dropped_attributes_count)
                )
        if replaced:
            self._delete_spans(db, values.to_json(replaced))
        _insert_spans(db, span_rows, self._bulk)
        if span_rows:
            db.execute(_UPSERT_RUN_ROOTS, (values.to_json([row[0] for row in span_rows]),))
        insert_attributes(db, attribute_docs, self._bulk)
        _insert_events(db, event_rows, self._bulk)
        _insert_links(db, link_rows, self._bulk)
        for span, attributes in artifact_events:
            self._add_artifact(db, span, attributes)
        if calls:
            model_calls.record(db, values.to_json(calls))
        if self._fts and written:
            db.execute(_INSERT_SPAN_TEXT, (values.to_json(indexed),))
            db.execute(_INDEX_TEXT, (values.to_json(written),))
        return len(written)

    def _delete_spans(self, db: sqlite3.Connection, ids: str) -> None:
        """Delete the spans ``ids`` (a JSON array) and their rows in every child table; the
        text lines' trigger takes their FTS rows with them."""
        for statement in self._delete_children:
            db.execute(statement, (ids,))
        db.execute(_DELETE_SPANS, (ids,))

    @staticmethod
    def _existing(
        db: sqlite3.Connection, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, int | None]]:
        """Row id and end of every span in ``keys`` that is already stored (one query)."""
        if not keys:
            return {}
        rows = db.execute(
            "SELECT s.trace_id, s.span_id, s.id, s.end_ns FROM json_each(?) AS j "
            "JOIN spans AS s ON s.trace_id = json_extract(j.value, '$[0]') "
            "AND s.span_id = json_extract(j.value, '$[1]')",
            (values.to_json(keys),),
        )
        return {(trace, span): (row_id, end) for trace, span, row_id, end in rows}

    def _span_row(self, db: sqlite3.Connection, record: SpanRecord) -> tuple:
        kind = record.attributes.get(HARNESS_KIND)
        return (
            record.trace_id, record.span_id, record.parent_span_id, record.name, record.kind,
            kind if isinstance(kind, str) else None, record.start_ns, record.end_ns,
            record.status_code, record.status_message,
            self._row_id(db, record.resource, self._resource_id),
            self._row_id(db, record.scope, self._scope_id), record.trace_state, record.trace_flags,
            record.dropped_attributes_count, record.dropped_events_count,
            record.dropped_links_count,
        )

    def _row_id(self, db: sqlite3.Connection, record: object, lookup: Callable) -> int:
        known = self._known.get(id(record))
        if known is None or known[0] is not record:
            if len(self._known) >= _MAX_KNOWN:
                # import and serve decode new record objects per request: stay bounded.
                self._known.clear()
            known = self._known[id(record)] = (record, lookup(db, record))
        return known[1]

    def _resource_id(self, db: sqlite3.Connection, resource: ResourceRecord) -> int:
        attributes, _ = limits.bound_attributes(resource.attributes, "", [])
        key = _fingerprint(sorted(attributes.items()), resource.schema_url)
        if (cached := self._resource_ids.get(key)) is not None:
            return cached
        service = attributes.get(SERVICE_NAME)
        db.execute(
            "INSERT OR IGNORE INTO resources (fingerprint, service_name, attributes, schema_url, "
            "dropped_attributes_count) VALUES (?, ?, ?, ?, ?)",
            (key, service if isinstance(service, str) else None, values.to_json(attributes),
             resource.schema_url, resource.dropped_attributes_count),
        )
        (rid,) = db.execute("SELECT id FROM resources WHERE fingerprint = ?", (key,)).fetchone()
        self._resource_ids[key] = rid
        return rid

    def _scope_id(self, db: sqlite3.Connection, scope: ScopeRecord) -> int:
        attributes, _ = limits.bound_attributes(scope.attributes, "", [])
        key = (scope.name, scope.version, scope.schema_url, values.to_json(attributes))
        if (cached := self._scope_ids.get(key)) is not None:
            return cached
        db.execute(
            "INSERT OR IGNORE INTO scopes (name, version, schema_url, attributes) "
            "VALUES (?, ?, ?, ?)",
            key,
        )
        (sid,) = db.execute(
            "SELECT id FROM scopes WHERE name = ? AND version = ? AND schema_url = ? "
            "AND attributes = ?",
            key,
        ).fetchone()
        self._scope_ids[key] = sid
        return sid

    def _add_artifact(self, db: sqlite3.Connection, span: int, attributes: Mapping) -> None:
        path = attributes.get(ARTIFACT_PATH)
        if not isinstance(path, str) or not path:
            return
        role = str(attributes.get(ARTIFACT_ROLE) or "file")
        file = artifacts.resolve_stored_path(path, self.path)
        size, sha256 = attributes.get(ARTIFACT_SIZE), attributes.get(ARTIFACT_SHA256)
        exists = file.is_file()
        if exists and (size is None or sha256 is None):
            size, sha256 = artifacts.fingerprint(file)
        cursor = db.execute(
            "INSERT INTO artifacts (span, role, path, size, sha256, media_type) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (span, role, artifacts.stored_path(file, self.path), size, sha256,
             attributes.get(ARTIFACT_MEDIA_TYPE) or artifacts.media_type(file, role)),
        )
        if not (self._fts and exists):
            return
        artifact = cursor.lastrowid
        lines = artifacts.LineIndex(file)
        try:
            db.executemany(
                _INSERT_TEXT, ((span, artifact, number, text) for number, text in lines)
            )
        except OSError:
            return  # the file went away while we read it: the row stays, unindexed
        db.execute(
            "UPDATE artifacts SET indexed_lines = ?, index_truncated = ? WHERE id = ?",
            (lines.count, int(lines.truncated), artifact),
        )


class Transaction:
    """One transaction of a ``Store`` holding several batches, each in a savepoint of its own.

    The writer process puts the batches that queue up while it writes into one transaction:
    one commit instead of many, which matters because a commit rewrites every index page the
    batches touched, and a small batch of spans from different traces touches a page per span.
    A batch that fails is rolled back alone; the others still commit. The store's lock is held
    from ``Store.begin`` until ``commit`` or ``rollback``.
    """

    def __init__(self, store: Store, db: sqlite3.Connection) -> None:
        self._store, self._db = store, db
        self.spans = 0

    @property
    def alive(self) -> bool:
        """False once SQLite has rolled the whole transaction back (a full disk, an I/O
        error): nothing written in it will commit."""
        return self._db.in_transaction

    def write(self, chunks: Iterable[Iterable[SpanRecord]]) -> int:
        """Store one batch, given in parts, and return how many spans were written. On
        DatabaseError (or any exception from ``chunks``, which propagates) the batch is
        rolled back and the transaction goes on, if SQLite kept it (``alive``)."""
        db = self._db
        try:
            db.execute("SAVEPOINT batch")
            try:
                count = sum(self._store._write_all(db, records) for records in chunks)
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK TO batch")
                    db.execute("RELEASE batch")
                # Ids cached during the failed batch may name rows that never landed.
                self._store._forget_ids()
                raise
            db.execute("RELEASE batch")
        except sqlite3.Error as exc:
            raise DatabaseError(describe_error(self._store.path, exc)) from exc
        self.spans += count
        return count

    def commit(self) -> None:
        """Commit, or raise DatabaseError with nothing of the transaction stored."""
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self.rollback()
            raise DatabaseError(describe_error(self._store.path, exc)) from exc
        self._store._lock.release()

    def rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is broken; the transaction went with it
        finally:
            self._store._forget_ids()
            self._store._lock.release()


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file ``path`` names now (device, inode), or None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _one_per_span(records: Iterable[SpanRecord]) -> dict[tuple[str, str], SpanRecord]:
    """The batch with one record per span: the last one, unless that one is an in-flight copy
    of a span the batch also holds finished."""
    batch: dict[tuple[str, str], SpanRecord] = {}
    for record in records:
        key = (record.trace_id, record.span_id)
        earlier = batch.get(key)
        if earlier is None or record.end_ns is not None or earlier.end_ns is None:
            batch[key] = record
    return batch
