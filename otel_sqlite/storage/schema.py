"""The database's shape: pragmas, numbered migrations, and how a connection is opened.

Migrations are small functions applied in order inside one transaction; ``PRAGMA user_version``
records how far a file has come. A file written by a newer otel-sqlite is refused, never
"migrated down".
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

from otel_sqlite.errors import DatabaseError, NewerSchemaError
from otel_sqlite.storage import model_calls

# A writer waits this long for another writer's transaction before giving up; many short
# transactions from several processes interleave well inside it.
BUSY_TIMEOUT_MS = 30_000
# Polling interval while another connection holds a lock we need: doubling from the first to
# the last, with jitter (see while_locked).
_FIRST_POLL_S, _LAST_POLL_S = 0.0005, 0.008
# Free space below which a failed write is reported as "the disk is full".
_NEARLY_FULL_BYTES = 1 << 20

Migration = Callable[[sqlite3.Connection, bool], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next numbered migration (its position is its number)."""
    MIGRATIONS.append(fn)
    return fn


def execute_script(db: sqlite3.Connection, script: str) -> None:
    """Run ``script`` statement by statement inside the caller's transaction.

    ``executescript`` would COMMIT first, breaking the one-transaction promise of ``migrate``.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


@migration
def m001_initial(db: sqlite3.Connection, fts: bool) -> None:
    execute_script(
        db,
        """
        CREATE TABLE resources (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            service_name TEXT,
            attributes TEXT NOT NULL,           -- JSON object, typed values as in spans
            schema_url TEXT NOT NULL DEFAULT '',
            dropped_attributes_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE scopes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version TEXT NOT NULL DEFAULT '',
            schema_url TEXT NOT NULL DEFAULT '',
            attributes TEXT NOT NULL DEFAULT '{}',
            UNIQUE (name, version, schema_url, attributes)
        );
        CREATE TABLE spans (
            id INTEGER PRIMARY KEY,             -- sequential: random keys made inserts 4x slower
            trace_id TEXT NOT NULL,
            span_id TEXT NOT NULL,
            parent_span_id TEXT,
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'internal',
            harness_kind TEXT,                  -- copy of the harness.kind attribute, for views
            start_ns INTEGER NOT NULL,
            end_ns INTEGER,                     -- NULL while the span is in flight
            status_code TEXT NOT NULL DEFAULT 'UNSET',
            status_message TEXT NOT NULL DEFAULT '',
            resource_id INTEGER REFERENCES resources (id),
            scope_id INTEGER REFERENCES scopes (id),
            trace_state TEXT NOT NULL DEFAULT '',
            trace_flags INTEGER NOT NULL DEFAULT 1,
            dropped_attributes_count INTEGER NOT NULL DEFAULT 0,
            dropped_events_count INTEGER NOT NULL DEFAULT 0,
            dropped_links_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX spans_ids ON spans (trace_id, span_id);
        CREATE INDEX spans_parent ON spans (trace_id, parent_span_id);
        CREATE INDEX spans_start ON spans (start_ns);
        CREATE INDEX spans_harness_kind ON spans (harness_kind, start_ns)
            WHERE harness_kind IS NOT NULL;

        -- One typed row per attribute. Scalars keep their SQLite type (bool as 0/1 with
        -- type 'bool'); arrays are JSON arrays with type 'string[]', 'int[]', ...
        CREATE TABLE attributes (
            span INTEGER NOT NULL REFERENCES spans (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value,
            type TEXT NOT NULL,
            PRIMARY KEY (span, key)
        ) WITHOUT ROWID;
        CREATE INDEX attributes_key_value ON attributes (key, value);

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            span INTEGER NOT NULL REFERENCES spans (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            time_ns INTEGER NOT NULL,
            attributes TEXT NOT NULL DEFAULT '{}',
            dropped_attributes_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX events_span ON events (span);

        CREATE TABLE links (
            id INTEGER PRIMARY KEY,
            span INTEGER NOT NULL REFERENCES spans (id) ON DELETE CASCADE,
            trace_id TEXT NOT NULL,
            span_id TEXT NOT NULL,
            trace_state TEXT NOT NULL DEFAULT '',
            flags INTEGER NOT NULL DEFAULT 0,
            attributes TEXT NOT NULL DEFAULT '{}',
            dropped_attributes_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX links_span ON links (span);

        -- Files a span produced. The file stays a file; path is relative to the database's
        -- folder when it lies under it, else absolute.
        CREATE TABLE artifacts (
            id INTEGER PRIMARY KEY,
            span INTEGER NOT NULL REFERENCES spans (id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER,
            sha256 TEXT,
            media_type TEXT,
            indexed_lines INTEGER NOT NULL DEFAULT 0,
            index_truncated INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX artifacts_span ON artifacts (span);

        -- Searchable text: line 0 with artifact NULL is the span's own text (name, string
        -- attributes, event names); other rows are the text lines of an artifact.
        CREATE TABLE text_lines (
            id INTEGER PRIMARY KEY,
            span INTEGER NOT NULL REFERENCES spans (id) ON DELETE CASCADE,
            artifact INTEGER REFERENCES artifacts (id) ON DELETE CASCADE,
            line INTEGER NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX text_lines_span ON text_lines (span);
        CREATE INDEX text_lines_artifact ON text_lines (artifact);

        CREATE VIEW runs AS
        SELECT s.id, s.trace_id, s.span_id, s.name, s.start_ns, s.end_ns,
               (s.end_ns - s.start_ns) / 1e6 AS duration_ms,
               CASE WHEN s.status_code = 'ERROR' THEN 'error'
                    WHEN s.end_ns IS NULL THEN 'incomplete' ELSE 'ok' END AS status,
               s.status_message, r.service_name
        FROM spans s LEFT JOIN resources r ON r.id = s.resource_id
        WHERE s.parent_span_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM spans p
                          WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id);

        CREATE VIEW steps AS
        SELECT s.id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_ns, s.end_ns,
               (s.end_ns - s.start_ns) / 1e6 AS duration_ms, s.status_code, s.status_message,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'harness.step.number') AS number,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'harness.step.attempt') AS attempt
        FROM spans s WHERE s.harness_kind = 'step';

        CREATE VIEW commands AS
        SELECT s.id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_ns, s.end_ns,
               (s.end_ns - s.start_ns) / 1e6 AS duration_ms, s.status_code, s.status_message,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'process.command_args') AS command_args,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'process.exit.code') AS exit_code
        FROM spans s WHERE s.harness_kind = 'command';

        CREATE VIEW api_calls AS
        SELECT s.id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_ns, s.end_ns,
               (s.end_ns - s.start_ns) / 1e6 AS duration_ms, s.status_code,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'gen_ai.provider.name') AS provider,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'gen_ai.request.model') AS model,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'gen_ai.usage.input_tokens') AS input_tokens,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'gen_ai.usage.output_tokens') AS output_tokens,
               (SELECT value FROM attributes WHERE span = s.id
                AND key = 'harness.cost.usd') AS cost_usd
        FROM spans s WHERE s.harness_kind = 'api_call';
        """
    )
    if fts:
        execute_script(
            db,
            """
            CREATE VIRTUAL TABLE text_fts USING fts5(
                text, content='text_lines', content_rowid='id'
            );
            CREATE TRIGGER text_lines_ai AFTER INSERT ON text_lines BEGIN
                INSERT INTO text_fts (rowid, text) VALUES (new.id, new.text);
            END;
            CREATE TRIGGER text_lines_ad AFTER DELETE ON text_lines BEGIN
                INSERT INTO text_fts (text_fts, rowid, text) VALUES ('delete', old.id, old.text);
            END;
            """
        )


@migration
def m002_index_text_per_statement(db: sqlite3.Connection, fts: bool) -> None:
    """The store indexes a span's new text lines with one INSERT ... SELECT, not a trigger.

    FTS5 flushes its pending terms at every trigger invocation, so the per-row insert
    trigger made indexing the 100,000 lines of one big log about nine times slower.
    """
    if fts:
        db.execute("DROP TRIGGER IF EXISTS text_lines_ai")


@migration
def m003_run_roots(db: sqlite3.Connection, fts: bool) -> None:
    """One row per trace naming its run's root span, kept by a trigger as spans arrive.

    A root is a span with no parent in the database; finding them with ``NOT EXISTS`` over
    every span took seconds on a million spans, so listing and filtering runs could not meet
    300 ms. The trigger costs one index lookup per inserted span. When a trace has several
    candidates (spans arrive child first; a parent may never be stored), a true root (no
    parent id) beats an orphan, then the earlier start wins, and a span always displaces its
    own child.
    """
    execute_script(
        db,
        """
        CREATE TABLE run_roots (
            trace_id TEXT PRIMARY KEY,
            span INTEGER NOT NULL UNIQUE REFERENCES spans (id) ON DELETE CASCADE,
            start_ns INTEGER NOT NULL,
            orphan INTEGER NOT NULL         -- 1: the root names a parent that is not stored
        );
        CREATE INDEX run_roots_start ON run_roots (start_ns);
        -- The steps of one trace, and whether it has any (else its root's children are its
        -- steps): only step spans pay for this index.
        CREATE INDEX spans_trace_steps ON spans (trace_id) WHERE harness_kind = 'step';

        INSERT INTO run_roots (trace_id, span, start_ns, orphan)
        SELECT trace_id, id, start_ns, orphan FROM (
            SELECT s.trace_id, s.id, s.start_ns, s.parent_span_id IS NOT NULL AS orphan,
                   row_number() OVER (PARTITION BY s.trace_id
                                      ORDER BY s.parent_span_id IS NOT NULL, s.start_ns, s.id)
                       AS rank
            FROM spans s
            WHERE s.parent_span_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM spans p
                              WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id)
        ) WHERE rank = 1;

        CREATE TRIGGER spans_run_root AFTER INSERT ON spans
        WHEN new.parent_span_id IS NULL
          OR NOT EXISTS (SELECT 1 FROM spans p
                         WHERE p.trace_id = new.trace_id AND p.span_id = new.parent_span_id)
        BEGIN
            INSERT INTO run_roots (trace_id, span, start_ns, orphan)
            VALUES (new.trace_id, new.id, new.start_ns, new.parent_span_id IS NOT NULL)
            ON CONFLICT (trace_id) DO UPDATE
                SET span = excluded.span, start_ns = excluded.start_ns, orphan = excluded.orphan
                WHERE (excluded.orphan, excluded.start_ns) < (run_roots.orphan, run_roots.start_ns)
                   OR (SELECT parent_span_id FROM spans WHERE id = run_roots.span) = new.span_id;
        END;

        DROP VIEW runs;
        CREATE VIEW runs AS
        SELECT s.id, s.trace_id, s.span_id, s.name, s.start_ns, s.end_ns,
               (s.end_ns - s.start_ns) / 1e6 AS duration_ms,
               CASE WHEN s.status_code = 'ERROR' THEN 'error'
                    WHEN s.end_ns IS NULL THEN 'incomplete' ELSE 'ok' END AS status,
               s.status_message, r.service_name
        FROM run_roots rr JOIN spans s ON s.id = rr.span
        LEFT JOIN resources r ON r.id = s.resource_id;
        """
    )


@migration
def m004_run_roots_by_store(db: sqlite3.Connection, fts: bool) -> None:
    """``Store.write`` keeps ``run_roots`` with one statement per write, not a trigger per row,
    and api_calls get an index by (trace, parent) for costs per run and per step.

    The per-row trigger cost about a quarter of the store's CPU time on harness-shaped runs;
    ``costs --by run`` walked every span's (trace, parent) entry to avoid a sort (2.8 s on 1M
    spans). Only api_call spans pay for the new index.
    """
    execute_script(
        db,
        """
        DROP TRIGGER IF EXISTS spans_run_root;
        CREATE INDEX spans_trace_api_calls ON spans (trace_id, parent_span_id)
            WHERE harness_kind = 'api_call';
        """
    )


@migration
def m005_text_lines_artifact_partial(db: sqlite3.Connection, fts: bool) -> None:
    """Index text lines by artifact only where there is one.

    Every finished span writes a span-text line with no artifact; indexing those NULLs cost
    each span one more B-tree insert and served no query (``artifact = ?`` implies NOT NULL,
    so SQLite still uses the partial index there and for the ON DELETE CASCADE lookups).
    """
    execute_script(
        db,
        """
        DROP INDEX text_lines_artifact;
        CREATE INDEX text_lines_artifact ON text_lines (artifact) WHERE artifact IS NOT NULL;
        """
    )


@migration
def m006_no_attribute_value_index(db: sqlite3.Connection, fts: bool) -> None:
    """Drop the ``attributes (key, value)`` index: decided by measurement.

    ``benchmarks/attribute_index.py`` on 1M spans: the index halved the store's write
    throughput (8 random-place B-tree inserts per span) and only served ad-hoc
    ``key = ? AND value = ?`` SQL; every query of ours reaches attributes by span through the
    primary key. Without it that lookup scans (436 ms on 1M spans); a database that needs
    it often can have it back with the CREATE INDEX in the README's data model.
    """
    db.execute("DROP INDEX IF EXISTS attributes_key_value")


@migration
def m007_task_id_index(db: sqlite3.Connection, fts: bool) -> None:
    """Find a task's spans (``otel-sqlite task ID``) by an index on that one attribute.

    Without it, ``harness.task.id = ?`` scans every attribute (~0.4 s per million spans, see
    m006); a partial index holds only the spans that name a task, so other writes pay nothing
    but the check of its WHERE clause.
    """
    db.execute(
        "CREATE INDEX IF NOT EXISTS attributes_task_id ON attributes (value) "
        "WHERE key = 'harness.task.id'"
    )


@migration
def m008_model_calls(db: sqlite3.Connection, fts: bool) -> None:
    """Model calls from any GenAI instrumentation, one narrow row each (storage/model_calls).

    ``costs`` read each call's attributes by key: fine for harness api_calls, but a span from
    an instrumentation may name its model, provider and tokens under any of three conventions,
    and looking each up at read time cost seconds on a million spans. The store copies them
    here as it writes; the ``api_calls`` view reads this table and says which spans count.
    """
    execute_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS model_calls (
            span INTEGER PRIMARY KEY REFERENCES spans (id) ON DELETE CASCADE,
            trace_id TEXT NOT NULL,
            parent_span_id TEXT,
            start_ns INTEGER NOT NULL,
            end_ns INTEGER,
            declared INTEGER NOT NULL,      -- a harness api_call recording tokens or a cost
            model TEXT,
            provider TEXT,
            operation TEXT,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cached_input_tokens INTEGER,
            cost_usd REAL,                  -- harness.cost.usd as recorded
            response_id TEXT,
            nested INTEGER NOT NULL DEFAULT 0,  -- another call beneath or above counts instead
            counted INTEGER NOT NULL DEFAULT 1  -- this span's figures are its call's
        );
        CREATE INDEX IF NOT EXISTS model_calls_response ON model_calls (response_id)
            WHERE response_id IS NOT NULL;
        -- costs --by model reads only the first, in its order: no sort, no table lookups (3.3x
        -- faster than a scan and sort of 100k counted calls, benchmarks/queries.py); costs
        -- per run, per step and a run's totals read the second the same way.
        CREATE INDEX IF NOT EXISTS model_calls_by_model ON model_calls (
            model, cost_usd IS NOT NULL, input_tokens, output_tokens, cached_input_tokens,
            cost_usd) WHERE counted;
        CREATE INDEX IF NOT EXISTS model_calls_by_parent ON model_calls (
            trace_id, parent_span_id, model, cost_usd IS NOT NULL, input_tokens, output_tokens,
            cached_input_tokens, cost_usd) WHERE counted;

        DROP VIEW IF EXISTS api_calls;
        CREATE VIEW api_calls AS
        SELECT s.id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_ns, s.end_ns,
               (s.end_ns - s.start_ns) / 1e6 AS duration_ms, s.status_code,
               m.provider, m.model, m.operation, m.input_tokens, m.output_tokens,
               m.cached_input_tokens, m.cost_usd, m.response_id, m.counted
        FROM model_calls m JOIN spans s ON s.id = m.span;
        """
    )
    model_calls.record_all(db)


SCHEMA_VERSION = len(MIGRATIONS)


@cache
def fts5_available() -> bool:
    """Whether this SQLite build has FTS5 (some distributions' builds do not)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def has_fts(db: sqlite3.Connection) -> bool:
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'text_fts'"
    ).fetchone()
    return row is not None


def _configure(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")


def _check_version(db: sqlite3.Connection, path: Path) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{path} was written by a newer otel-sqlite (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade otel-sqlite to use it"
        )
    return version


def migrate(db: sqlite3.Connection, path: Path | str = "database") -> None:
    """Bring ``db`` up to ``SCHEMA_VERSION``, all pending migrations in one transaction."""
    path = Path(path)
    if _check_version(db, path) == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _check_version(db, path)  # another process may have migrated meanwhile
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            step(db, fts5_available())
            db.execute(f"PRAGMA user_version = {number}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _folder_problem(path: Path) -> str:
    """Why SQLite could not use the files beside ``path``, when the folder says why.

    SQLite reports a read-only folder or a full disk as "unable to open" or "disk I/O error":
    it needs to create its -wal and -shm files next to the database even to read it.
    """
    folder = path.absolute().parent
    try:
        if not os.access(folder, os.W_OK):
            return " (its folder is read-only)"
        if shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES:
            return " (the disk is full)"
    except OSError:
        pass
    return ""


T = TypeVar("T")


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds a lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(exc) or "busy" in str(exc)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def while_locked(action: Callable[[], T], path: Path, timeout_ms: int | None = None) -> T:
    """``action()``, tried again while another connection holds a lock it needs, for up to
    ``timeout_ms`` (default BUSY_TIMEOUT_MS); then DatabaseError saying how long the lock
    was waited for.

    SQLite's own busy handler is not called everywhere a lock is taken: a connection that must
    switch a fresh file to WAL, or upgrade its lock while another holds RESERVED, gets "database
    is locked" at once. Other writers' transactions are short, so polling every few
    milliseconds, with jitter so that waiting processes do not retry in step, catches the free
    moment where SQLite's handler (up to 100 ms between tries) often misses it.
    """
    timeout_s = (BUSY_TIMEOUT_MS if timeout_ms is None else timeout_ms) / 1000
    started = time.monotonic()
    delay = _FIRST_POLL_S
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            waited = time.monotonic() - started
            if not is_busy(exc):
                raise
            if waited > timeout_s:
                raise DatabaseError(
                    f"{path} stayed locked by another connection for {waited:.1f} s "
                    f"(the busy timeout is {timeout_s:g} s): {exc}"
                ) from exc
        time.sleep(random.uniform(0.5, 1.5) * delay)
        delay = min(delay * 2, _LAST_POLL_S)


def describe_error(path: Path, exc: sqlite3.Error) -> str:
    """One sentence for a person, from SQLite's terse error text (a lock that was waited for
    is described by ``while_locked``, which knows for how long)."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"{path} is not an otel-sqlite database (or it is corrupt): {text}"
    if "readonly" in text or "read-only" in text:
        return f"{path} is read-only: {text}"
    if "disk is full" in text or "disk I/O" in text or "unable to open" in text:
        verb = "open" if "unable to open" in text else "write"
        return f"cannot {verb} {path}{_folder_problem(path)}: {text}"
    if is_busy(exc):
        return f"{path} was locked by another connection: {text}"
    return f"{path}: {text}"


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open ``path`` for writing, creating it and its folder when missing, and migrate it.

    Raises DatabaseError (with a sentence naming the cause) instead of sqlite3 errors.
    """
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create the folder for {path}: {exc.strerror}") from exc
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DatabaseError(describe_error(path, exc)) from exc
    try:
        _configure(db)
        # Several processes opening a fresh path at once: the switch to WAL and the schema's
        # creation wait for each other like any write.
        while_locked(lambda: _prepare(db, path), path)
    except sqlite3.Error as exc:
        db.close()
        raise DatabaseError(describe_error(path, exc)) from exc
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    _check_version(db, path)
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    migrate(db, path)


def _on_read_only_medium(path: Path) -> bool:
    """Whether ``path`` sits on a read-only filesystem with no -wal file beside it.

    Such a file can never change, and SQLite could not create the -shm file a WAL database
    normally needs even for reading, so it is opened as immutable instead.
    """
    try:
        read_only = bool(os.statvfs(path.absolute().parent).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False
    return read_only and not path.with_name(path.name + "-wal").exists()


def connect_readonly(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open an existing database for reading only; a read never creates or changes a file."""
    path = Path(path)
    if not path.exists():
        raise DatabaseError(f"no database at {path} (record something first, or pass --db)")
    if path.is_dir():
        raise DatabaseError(f"{path} is a directory, not a database file")
    options = "mode=ro&immutable=1" if _on_read_only_medium(path) else "mode=ro"
    try:
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?{options}", uri=True, isolation_level=None,
            check_same_thread=False,
        )
        _configure(db)
        db.execute("PRAGMA query_only = ON")
        version = _check_version(db, path)
    except sqlite3.Error as exc:
        raise DatabaseError(describe_error(path, exc)) from exc
    if version < SCHEMA_VERSION:
        db.close()
        raise DatabaseError(
            f"{path} has schema {version}; open it once for writing (otel-sqlite init --db "
            f"{path}) to migrate it to {SCHEMA_VERSION}"
        )
    return db
