"""Merging databases: every row and captured file of other otel-sqlite files into one target.

Why bulk SQL and not ``Store.write``: the store's one write path turns records into rows
(~15-20k spans/s), so a merge through it would first turn every source row back into a
``SpanRecord`` and then pay for the store's work again. ``benchmarks/merge.py`` on a 1M-span
source (one run, the shared 2-core machine at load 5-18): bulk SQL 72k spans per CPU-second
(27 s wall, 37k/s, at load 5), peak RSS 161 MB; ``Store.write`` on the same rows 13k spans/s
before even reading them back as records. Here the source is ATTACHed read-only
and each table's rows move with one ``INSERT ... SELECT`` per chunk, inside SQLite. The
store's invariants hold all the same:

- a span is keyed by (trace id, span id), ids travel unchanged; row ids are the target's own;
- replacement semantics: a span already in the target stays unless the source's copy wins
  (finished beats in flight, else the later end); a winner replaces the old row under its old
  row id, after its child rows are deleted from the schema's own ON DELETE CASCADE
  declarations (``store._SPAN_CHILDREN``, as the store does), so the FTS delete trigger runs;
- the text lines that arrive get their FTS rows with one statement, as the store does;
- ``run_roots`` is kept by the store's own statement (``store._UPSERT_RUN_ROOTS``);
- artifact files are copied under the target's artifacts folder (sha256 checked while
  copying) and their rows store paths relative to the target's folder;
- rows were bounded by ``limits`` when the source stored them, so they are copied as they are.

Each chunk of ``CHUNK_SPANS`` source spans is one transaction and lands whole or not at all;
files are copied before their rows commit. A killed merge leaves a consistent target and a
re-run skips what landed, so it finishes the job. Memory stays bounded: the rows never pass
through Python, only each chunk's artifact rows do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from otel_sqlite.errors import DatabaseError, OtelSqliteError
from otel_sqlite.storage import artifacts, values
from otel_sqlite.storage.paths import span_artifact_dir
from otel_sqlite.storage.schema import (
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    connect,
    describe_error,
    has_fts,
)
from otel_sqlite.storage.store import _SPAN_CHILDREN, _UPSERT_RUN_ROOTS, WRITER_CACHE_KIB

# Source spans per transaction: big enough that per-statement costs vanish, small enough that
# a kill wastes little and the target's WAL stays modest.
CHUNK_SPANS = 20_000

# Page cache for the attached source, in KiB. With SQLite's default 2 MiB, the lookups of a
# 1M-span source's child rows by span missed the cache on interior pages: merging was 4x
# slower per span than on a 100k-span source.
SOURCE_CACHE_KIB = 48 * 1024

# What happens to each source span of a chunk (temp.merge_spans.action).
_NEW, _REPLACE, _KEEP_TARGET, _SAME = 0, 1, 2, 3

_DECIDE = f"""
INSERT INTO temp.merge_spans (src, dst, action)
SELECT s.id, coalesce(d.id, :base + row_number() OVER (ORDER BY s.id)),
       CASE WHEN d.id IS NULL THEN {_NEW}
            WHEN s.end_ns IS d.end_ns THEN {_SAME}
            WHEN s.end_ns IS NOT NULL AND (d.end_ns IS NULL OR s.end_ns > d.end_ns)
                THEN {_REPLACE}
            ELSE {_KEEP_TARGET} END
FROM src.spans AS s
LEFT JOIN main.spans AS d ON d.trace_id = s.trace_id AND d.span_id = s.span_id
WHERE s.id > :after AND s.id <= :upto {{wanted}}
"""


def _landing(joins: str = "") -> str:
    """FROM the chunk's spans that land (new or replacing), with ``joins``.

    The joins are CROSS JOINs: they keep the chunk's spans as the outer loop. The planner
    has no statistics for the TEMP table and otherwise scanned the whole source table for
    every chunk (the merge's time grew with the square of the source's size)."""
    return f"FROM temp.merge_spans AS m {joins} WHERE m.action <= {_REPLACE}"


_TEMP_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS merge_spans (
    src INTEGER PRIMARY KEY, dst INTEGER NOT NULL, action INTEGER NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS merge_artifacts (
    src INTEGER PRIMARY KEY, dst INTEGER NOT NULL, path TEXT NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS merge_resources (src INTEGER PRIMARY KEY, dst INTEGER);
CREATE TEMP TABLE IF NOT EXISTS merge_scopes (src INTEGER PRIMARY KEY, dst INTEGER);
CREATE TEMP TABLE IF NOT EXISTS merge_wanted (id INTEGER PRIMARY KEY);
"""
# The tables copied with their own rules; every other table referencing spans is copied
# generically (its span column mapped, its own integer key renumbered).
_SPECIAL = {"spans", "artifacts", "text_lines", "run_roots"}

Progress = Callable[[int], None]


@dataclass
class MergeResult:
    """What a merge did: counts, conflicts, and every problem worth a line to a person."""

    sources: int = 0
    runs: int = 0
    spans: int = 0
    already_present: int = 0
    conflicts: int = 0
    files: int = 0
    missing_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "sources": self.sources, "runs": self.runs, "spans": self.spans,
            "already_present": self.already_present, "conflicts": self.conflicts,
            "files": self.files, "missing_files": self.missing_files,
            "changed_files": self.changed_files, "errors": self.errors,
        }


def source_spans(path: str | os.PathLike[str]) -> int:
    """About how many spans a source holds (for a progress bar's length); 0 when unreadable."""
    try:
        with contextlib.closing(_open_source(Path(path))) as db:
            return db.execute("SELECT coalesce(max(id), 0) FROM spans").fetchone()[0]
    except sqlite3.Error:
        return 0


def _open_source(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def merge(
    sources: Iterable[str | os.PathLike[str]], target: str | os.PathLike[str],
    progress: Progress | None = None, traces: list[str] | None = None,
) -> MergeResult:
    """Merge every source into ``target`` (created when missing); see the module docstring.

    ``progress`` is called with the number of source spans handled since its last call.
    ``traces`` restricts the merge to those traces (``archive``). A source that cannot be
    read (not a database, newer than us, the target itself) adds a line to ``errors`` and
    the others still merge. Raises DatabaseError when the target cannot be written.
    """
    target = Path(target)
    result = MergeResult()
    db = _open_target(target)
    try:
        for source in sources:
            source = Path(source)
            try:
                if target.exists() and source.resolve() == target.resolve():
                    raise DatabaseError(f"{source} is the target itself; nothing to merge")
                with _readable(source) as readable:
                    _merge_one(db, readable, source, target, result, progress, traces)
                result.sources += 1
            except OtelSqliteError as exc:
                result.errors.append(str(exc))
            except sqlite3.Error as exc:  # reading the source or writing the target
                result.errors.append(f"cannot merge {source}: {describe_error(target, exc)}")
    finally:
        db.close()
    return result


def _open_target(target: Path) -> sqlite3.Connection:
    """A writer's connection that may ATTACH by URI (read-only sources); the file is created
    and migrated by ``schema.connect`` first. Foreign keys stay off, as in the store: the
    merge deletes a replaced span's children itself."""
    connect(target).close()
    try:
        db = sqlite3.connect(target.resolve().as_uri(), uri=True, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("PRAGMA temp_store = MEMORY")
        db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        for statement in _TEMP_TABLES.strip().split(";\n"):
            db.execute(statement)
    except sqlite3.Error as exc:
        raise DatabaseError(describe_error(target, exc)) from exc
    return db


@contextlib.contextmanager
def _readable(source: Path) -> Iterator[Path]:
    """``source`` itself when it has our schema, else a migrated temporary copy: an older
    source is read through its migrations without being modified."""
    if not source.is_file():
        raise DatabaseError(f"no database at {source}")
    try:
        with contextlib.closing(_open_source(source)) as probe:
            version = probe.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in probe.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise DatabaseError(describe_error(source, exc)) from exc
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{source} was written by a newer otel-sqlite (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade otel-sqlite to merge it"
        )
    if version == 0 or "spans" not in tables:
        raise DatabaseError(f"{source} is not an otel-sqlite database")
    if version == SCHEMA_VERSION:
        yield source
        return
    with tempfile.TemporaryDirectory(prefix="otel-sqlite-merge-") as folder:
        copy = Path(folder) / source.name
        try:
            with contextlib.closing(_open_source(source)) as original, \
                    contextlib.closing(sqlite3.connect(copy)) as migrated:
                original.backup(migrated)
        except sqlite3.Error as exc:
            raise DatabaseError(describe_error(source, exc)) from exc
        connect(copy).close()
        yield copy


def _merge_one(
    db: sqlite3.Connection, readable: Path, source: Path, target: Path, result: MergeResult,
    progress: Progress | None, traces: list[str] | None,
) -> None:
    db.execute("ATTACH DATABASE ? AS src", (f"{readable.resolve().as_uri()}?mode=ro",))
    db.execute(f"PRAGMA src.cache_size = -{SOURCE_CACHE_KIB}")
    try:
        for table in ("merge_spans", "merge_artifacts", "merge_wanted"):
            db.execute(f"DELETE FROM temp.{table}")
        _map_resources_and_scopes(db)
        wanted = ""
        if traces is not None:
            db.execute(
                "INSERT INTO temp.merge_wanted (id) SELECT s.id FROM json_each(?) AS t "
                "JOIN src.spans AS s ON s.trace_id = t.value",
                (values.to_json(traces),),
            )
            wanted = "AND s.id IN (SELECT id FROM temp.merge_wanted)"
        ids = "temp.merge_wanted" if traces is not None else "src.spans"
        copier = _Copier(db, source, target, has_fts(db), result)
        after = 0
        while True:
            upto, count = db.execute(
                f"SELECT max(id), count(*) FROM (SELECT id FROM {ids} WHERE id > ? "
                "ORDER BY id LIMIT ?)", (after, CHUNK_SPANS),
            ).fetchone()
            if upto is None:
                break
            copier.chunk(after, upto, wanted)
            after = upto
            if progress is not None:
                progress(count)
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.execute("DETACH DATABASE src")


def _map_resources_and_scopes(db: sqlite3.Connection) -> None:
    """Resources and scopes are deduplicated by their identity (fingerprint; name, version,
    schema URL and attributes): a source's row either matches one of the target's or is
    added, in one short transaction of its own (both are idempotent)."""
    db.execute("BEGIN IMMEDIATE")
    db.execute(
        "INSERT OR IGNORE INTO main.resources (fingerprint, service_name, attributes, "
        "schema_url, dropped_attributes_count) SELECT fingerprint, service_name, attributes, "
        "schema_url, dropped_attributes_count FROM src.resources ORDER BY id"
    )
    db.execute(
        "INSERT OR IGNORE INTO main.scopes (name, version, schema_url, attributes) "
        "SELECT name, version, schema_url, attributes FROM src.scopes ORDER BY id"
    )
    db.execute("COMMIT")
    db.execute("DELETE FROM temp.merge_resources")
    db.execute("DELETE FROM temp.merge_scopes")
    db.execute(
        "INSERT INTO temp.merge_resources SELECT s.id, d.id FROM src.resources AS s "
        "JOIN main.resources AS d ON d.fingerprint = s.fingerprint"
    )
    db.execute(
        "INSERT INTO temp.merge_scopes SELECT s.id, d.id FROM src.scopes AS s "
        "JOIN main.scopes AS d ON d.name = s.name AND d.version = s.version "
        "AND d.schema_url = s.schema_url AND d.attributes = s.attributes"
    )


def _columns(db: sqlite3.Connection, table: str) -> list[tuple[str, bool]]:
    return [(name, bool(pk)) for _, name, _, _, _, pk in db.execute(
        f"SELECT * FROM pragma_table_info('{table}', 'main')")]


class _Copier:
    """The statements that move one chunk, built once per source from the target's schema."""

    def __init__(
        self, db: sqlite3.Connection, source: Path, target: Path, fts: bool, result: MergeResult
    ) -> None:
        self.db, self.source, self.target, self.fts, self.result = db, source, target, fts, result
        children = db.execute(_SPAN_CHILDREN).fetchall()
        self.deletes = [
            f'DELETE FROM main."{table}" WHERE "{column}" IN '
            f"(SELECT dst FROM temp.merge_spans WHERE action = {_REPLACE})"
            for table, column in children
        ]
        self.copies = [self._generic(table, column) for table, column in children
                       if table not in _SPECIAL]
        self.spans = self._insert(
            "spans", {"id": "m.dst", "resource_id": "rm.dst", "scope_id": "sm.dst"},
            _landing("CROSS JOIN src.spans AS x ON x.id = m.src "
                     "LEFT JOIN temp.merge_resources AS rm ON rm.src = x.resource_id "
                     "LEFT JOIN temp.merge_scopes AS sm ON sm.src = x.scope_id"),
        )
        self.artifacts = self._insert(
            "artifacts", {"id": "am.dst", "span": "m.dst", "path": "am.path"},
            "FROM temp.merge_artifacts AS am CROSS JOIN src.artifacts AS x ON x.id = am.src "
            "CROSS JOIN temp.merge_spans AS m ON m.src = x.span",
        )
        self.text_lines = self._insert(
            "text_lines", {"id": None, "span": "m.dst", "artifact": "am.dst"},
            _landing("CROSS JOIN src.text_lines AS x ON x.span = m.src "
                     "LEFT JOIN temp.merge_artifacts AS am ON am.src = x.artifact"),
        )

    def _insert(self, table: str, overrides: dict[str, str | None], source: str) -> str:
        """INSERT ... SELECT of every target column: ``x.column`` unless overridden (None:
        left out, so the target numbers it)."""
        columns = [(name, overrides.get(name, f'x."{name}"'))
                   for name, _ in _columns(self.db, table)]
        columns = [(name, expr) for name, expr in columns if expr is not None]
        names = ", ".join(f'"{name}"' for name, _ in columns)
        picks = ", ".join(expr for _, expr in columns)
        return f"INSERT INTO main.{table} ({names}) SELECT {picks} {source}"

    def _generic(self, table: str, column: str) -> str:
        """A child table (attributes, events, links, any added later): its span column mapped,
        an integer key of its own left to the target."""
        overrides: dict[str, str | None] = {column: "m.dst"}
        overrides.update({name: None for name, pk in _columns(self.db, table)
                          if pk and name != column})
        keyed = [name for name, pk in _columns(self.db, table) if pk]
        if keyed != ["id"]:
            overrides = {column: "m.dst"}  # a composite key (attributes) is kept whole
        return self._insert(
            table, overrides, _landing(f'CROSS JOIN src."{table}" AS x ON x."{column}" = m.src'))

    def chunk(self, after: int, upto: int, wanted: str) -> None:
        db, result = self.db, self.result
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM temp.merge_spans")
        db.execute("DELETE FROM temp.merge_artifacts")
        base = db.execute("SELECT coalesce(max(id), 0) FROM main.spans").fetchone()[0]
        db.execute(_DECIDE.format(wanted=wanted), {"base": base, "after": after, "upto": upto})
        counts = dict(db.execute(
            "SELECT action, count(*) FROM temp.merge_spans GROUP BY action").fetchall())
        for statement in self.deletes:
            db.execute(statement)
        db.execute(f"DELETE FROM main.spans WHERE id IN "
                   f"(SELECT dst FROM temp.merge_spans WHERE action = {_REPLACE})")
        db.execute(self.spans)
        for statement in self.copies:
            db.execute(statement)
        self._artifacts()
        lines_before = db.execute("SELECT coalesce(max(id), 0) FROM main.text_lines").fetchone()[0]
        db.execute(self.text_lines)
        if self.fts:
            db.execute("INSERT INTO main.text_fts (rowid, text) SELECT id, text "
                       "FROM main.text_lines WHERE id > ?", (lines_before,))
        landed = [dst for (dst,) in db.execute(f"SELECT m.dst {_landing()} ORDER BY m.src")]
        if landed:
            db.execute(_UPSERT_RUN_ROOTS, (values.to_json(landed),))
        runs = db.execute(  # the runs that arrived: their root spans
            f"SELECT count(*) {_landing('CROSS JOIN src.spans AS x ON x.id = m.src')} "
            "AND x.parent_span_id IS NULL"
        ).fetchone()[0]
        db.execute("COMMIT")
        result.spans += len(landed)
        result.runs += runs
        result.conflicts += counts.get(_REPLACE, 0) + counts.get(_KEEP_TARGET, 0)
        result.already_present += counts.get(_SAME, 0)

    def _artifacts(self) -> None:
        """Copy the chunk's artifact files into the target's folder, then their rows."""
        db = self.db
        next_id = db.execute("SELECT coalesce(max(id), 0) + 1 FROM main.artifacts").fetchone()[0]
        rows = db.execute(
            "SELECT a.id, a.path, a.sha256, s.trace_id, s.span_id "
            + _landing("CROSS JOIN src.artifacts AS a ON a.span = m.src "
                       "CROSS JOIN src.spans AS s ON s.id = m.src")
            + " ORDER BY a.id"
        ).fetchall()
        mapped = []
        for artifact, stored, sha256, trace_id, span_id in rows:
            path = self._copy_file(artifacts.resolve_stored_path(stored, self.source), sha256,
                                   trace_id, span_id)
            mapped.append((artifact, next_id, path))
            next_id += 1
        db.executemany("INSERT INTO temp.merge_artifacts VALUES (?, ?, ?)", mapped)
        db.execute(self.artifacts)

    def _copy_file(self, file: Path, sha256: str | None, trace_id: str, span_id: str) -> str:
        """The stored path of ``file``'s copy in the target's folder. A missing file keeps its
        row (with the path it had) and is reported; a file whose content no longer matches its
        row's sha256 is copied as it is and reported; a copy already in place is kept."""
        result = self.result
        if not file.is_file():
            result.missing_files.append(str(file))
            return str(file.absolute())
        expected = sha256 or artifacts.fingerprint(file)[1]
        folder = span_artifact_dir(self.target, trace_id, span_id)
        destination = folder / file.name
        if destination.exists() and not _holds(destination, expected, file):
            destination = folder / f"{file.stem}-{expected[:12]}{file.suffix}"
        if not _holds(destination, expected, file):
            folder.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(destination.name + ".partial")
            copied = _copy_hashed(file, partial)
            os.replace(partial, destination)
            result.files += 1
            if copied != expected:
                result.changed_files.append(str(file))
        elif sha256 is not None and destination.absolute() == file.absolute():
            if artifacts.fingerprint(file)[1] != sha256:
                result.changed_files.append(str(file))
        return artifacts.stored_path(destination, self.target)


def _holds(path: Path, sha256: str, original: Path) -> bool:
    """Whether ``path`` already is the copy (or the original itself)."""
    if path.absolute() == original.absolute():
        return True
    return path.is_file() and artifacts.fingerprint(path)[1] == sha256


def _copy_hashed(source: Path, destination: Path) -> str:
    """Copy ``source`` to ``destination`` and return the sha256 of the bytes copied."""
    digest = hashlib.sha256()
    with open(source, "rb") as read, open(destination, "wb") as write:
        while chunk := read.read(1 << 20):
            digest.update(chunk)
            write.write(chunk)
    return digest.hexdigest()
