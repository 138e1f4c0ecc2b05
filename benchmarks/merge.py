"""How fast ``merge`` moves spans, and how much memory it holds.

Builds a source of N harness-shaped spans (100-span traces, 6 attributes each, every 50th an
api_call with model, tokens and cost, an event on every 10th span, each span's search line,
one captured stdout file of 20 lines per 1,000 spans, FTS built) with bulk SQL, then merges
it in a fresh process (its peak RSS is its own) into an empty database, into one of equal
size holding other traces, and as an older-schema file; times each reader over both files as
one; and, for comparison, ``Store.write`` on a slice of the same rows read back as records.

    python benchmarks/merge.py [--spans 1000000] [--workdir /tmp/otel-sqlite-merge-bench]

Bars (issue #21): >= 50,000 spans/s into an empty target, peak RSS under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from otel_sqlite.storage.paths import artifacts_dir
from otel_sqlite.storage.schema import SCHEMA_VERSION, connect

TRACE_SPANS = 100
FILE_EVERY = 1000
FILE_LINES = 20

_BUILD = """
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO spans (id, trace_id, span_id, parent_span_id, name, kind, harness_kind, start_ns,
                   end_ns, status_code, resource_id, scope_id)
SELECT i, printf('%032x', (i - 1) / 100 + :seed), printf('%016x', i + :seed),
       CASE WHEN (i - 1) % 100 = 0 THEN NULL
            ELSE printf('%016x', (i - 1) / 100 * 100 + 1 + :seed) END,
       CASE WHEN (i - 1) % 100 = 0 THEN 'nightly' ELSE 'step ' || (i % 50) END, 'internal',
       CASE WHEN (i - 1) % 100 = 0 THEN 'run' WHEN i % 50 = 25 THEN 'api_call' ELSE 'step' END,
       1700000000000000000 + i * 1000000, 1700000000000000000 + i * 1000000 + 500000,
       CASE WHEN i % 97 = 0 THEN 'ERROR' ELSE 'OK' END, 1, 1
FROM n
"""
_ATTRIBUTES = """
INSERT INTO attributes (span, key, value, type)
SELECT s.id, k.key, CASE k.type WHEN 'int' THEN s.id % 1000
                                ELSE k.key || ' value ' || (s.id % 5000) END, k.type
FROM spans s, (SELECT 'harness.kind' AS key, 'string' AS type UNION ALL
               SELECT 'harness.step.number', 'int' UNION ALL
               SELECT 'code.function', 'string' UNION ALL
               SELECT 'host.name', 'string' UNION ALL
               SELECT 'process.pid', 'int' UNION ALL
               SELECT 'test.case.name', 'string') k
ORDER BY s.id, k.key
"""
_API_CALLS = """
INSERT INTO attributes (span, key, value, type)
SELECT s.id, k.key, CASE k.key WHEN 'gen_ai.request.model' THEN 'model-' || (s.id % 3)
                               WHEN 'harness.cost.usd' THEN 0.001 * (s.id % 7)
                               ELSE s.id % 900 END, k.type
FROM spans s, (SELECT 'gen_ai.request.model' AS key, 'string' AS type UNION ALL
               SELECT 'gen_ai.usage.input_tokens', 'int' UNION ALL
               SELECT 'gen_ai.usage.output_tokens', 'int' UNION ALL
               SELECT 'harness.cost.usd', 'double') k
WHERE s.harness_kind = 'api_call' ORDER BY s.id, k.key
"""
_EVENTS = """
INSERT INTO events (span, name, time_ns, attributes)
SELECT id, 'checkpoint', start_ns + 1000, '{"n": 1}' FROM spans WHERE id % 10 = 0
"""
_SPAN_TEXT = """
INSERT INTO text_lines (span, artifact, line, text)
SELECT s.id, NULL, 0, s.name || ' ' || (SELECT group_concat(value, ' ') FROM attributes a
                                         WHERE a.span = s.id AND a.type = 'string')
FROM spans s
"""
_ROOTS = """
INSERT INTO run_roots (trace_id, span, start_ns, orphan)
SELECT trace_id, id, start_ns, 0 FROM spans WHERE parent_span_id IS NULL
"""


def build(path: Path, count: int, seed: int) -> None:
    """A source of ``count`` spans; traces numbered from ``seed`` (distinct per database)."""
    if path.exists():
        return
    started = time.perf_counter()
    db = connect(path)
    db.execute("PRAGMA cache_size = -65536")
    db.execute("BEGIN")
    db.execute("INSERT INTO resources (id, fingerprint, service_name, attributes) "
               "VALUES (1, 'bench', 'bench', '{}')")
    db.execute("INSERT INTO scopes (id, name) VALUES (1, 'bench')")
    db.execute(_BUILD, {"count": count, "seed": seed})
    for statement in (_ATTRIBUTES, _API_CALLS, _EVENTS, _SPAN_TEXT, _ROOTS):
        db.execute(statement)
    folder = artifacts_dir(path)
    for span, trace_id, span_id in db.execute(
        "SELECT id, trace_id, span_id FROM spans WHERE id % ? = 0", (FILE_EVERY,)
    ).fetchall():
        file = folder / trace_id / span_id / "stdout"
        file.parent.mkdir(parents=True)
        lines = [f"line {n} of span {span}: compiled module {n * span % 977}"
                 for n in range(FILE_LINES)]
        file.write_text("\n".join(lines) + "\n")
        from otel_sqlite.storage.artifacts import fingerprint

        size, sha256 = fingerprint(file)
        artifact = db.execute(
            "INSERT INTO artifacts (span, role, path, size, sha256, media_type, indexed_lines) "
            "VALUES (?, 'stdout', ?, ?, ?, 'text/plain', ?)",
            (span, file.relative_to(path.parent).as_posix(), size, sha256, FILE_LINES),
        ).lastrowid
        db.executemany("INSERT INTO text_lines (span, artifact, line, text) VALUES (?, ?, ?, ?)",
                       [(span, artifact, n + 1, text) for n, text in enumerate(lines)])
    db.execute("INSERT INTO text_fts (text_fts) VALUES ('rebuild')")
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"built {path.name}: {count:,} spans in {time.perf_counter() - started:.1f} s",
          flush=True)


def child_merge(source: str, target: str) -> None:
    """In a fresh process: merge and print seconds, spans and peak RSS as JSON."""
    from otel_sqlite.storage.merge import merge

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = merge([source], target)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "spans": result.spans,
                      "files": result.files, "errors": result.errors,
                      "peak_rss_mb": after.ru_maxrss / 1024}))


def child_store(source: str, target: str, count: int) -> None:
    """In a fresh process: the first ``count`` spans through Store.write, as records."""
    from otel_sqlite.queries.records import iter_records
    from otel_sqlite.storage.schema import connect_readonly
    from otel_sqlite.storage.store import Store

    batches = []
    for batch in iter_records(connect_readonly(source), batch=1000):
        batches.append([record for _, record in batch])
        if len(batches) * 1000 >= count:
            break
    store = Store(target)
    started = time.perf_counter()
    for records in batches:
        store.write(records)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "spans": sum(map(len, batches))}))


def child_several(files: list[str]) -> None:
    """In a fresh process: each reader over one file, then over all of them, both ways."""
    from otel_sqlite.queries import costs, flaky, runs, search, several, timings
    from otel_sqlite.storage.schema import connect_readonly
    from otel_sqlite.storage.several import connect_several

    one, each, views = connect_readonly(files[0]), [connect_readonly(f) for f in files], \
        connect_several(files)
    readers = {
        "runs": (lambda db: runs.list_runs(db, limit=20),
                 lambda dbs: several.list_runs(dbs, limit=20)),
        "search": (lambda db: search.search(db, "compiled", limit=20),
                   lambda dbs: several.search(dbs, "compiled", limit=20)),
        "costs": (lambda db: costs.costs(db), lambda dbs: several.costs(dbs)),
        "timings": (lambda db: timings.timings(db, name="step 7"),
                    lambda dbs: several.timings(dbs, name="step 7")),
        "flaky": (lambda db: flaky.flaky_steps(db), lambda dbs: several.flaky_steps(dbs)),
    }
    found = {}
    for name, (single, combined) in readers.items():
        found[name] = {"one file": _seconds(single, one),
                       "each file, combined": _seconds(combined, each),
                       "TEMP views": _seconds(single, views)}
    print(json.dumps(found))


def _seconds(reader, db) -> float | str:  # noqa: ANN001 - a reader and its connection(s)
    started = time.perf_counter()
    try:
        reader(db)
    except Exception as exc:  # noqa: BLE001 - reported as the figure
        return f"error: {exc}"
    return round(time.perf_counter() - started, 3)


def _run(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fresh(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        path.with_name(name).unlink(missing_ok=True)
    shutil.rmtree(artifacts_dir(path), ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--store-spans", type=int, default=50_000,
                        help="spans of the Store.write comparison")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/otel-sqlite-merge-bench"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "merge":
            child_merge(*rest)
        elif kind == "several":
            child_several(rest)
        else:
            child_store(rest[0], rest[1], int(rest[2]))
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    work = args.workdir / str(args.spans)
    work.mkdir(parents=True, exist_ok=True)
    source, other = work / "source.db", work / "other.db"
    build(source, args.spans, 0)
    build(other, args.spans, 10**9)
    print(f"source: {source.stat().st_size / 1e6:.0f} MB, {args.spans:,} spans")

    target = work / "target.db"
    _fresh(target)
    empty = _run("--child", "merge", str(source), str(target))
    print(f"into an empty target:  {empty['spans'] / empty['seconds']:,.0f} spans/s "
          f"({empty['seconds']:.1f} s, {empty['files']} files; "
          f"{empty['spans'] / empty['cpu_seconds']:,.0f} spans per CPU-second), peak RSS "
          f"{empty['peak_rss_mb']:.0f} MB")
    again = _run("--child", "merge", str(source), str(target))
    print(f"the same source again: {args.spans / again['seconds']:,.0f} spans/s checked "
          f"({again['seconds']:.1f} s, {again['spans']} spans added), peak RSS "
          f"{again['peak_rss_mb']:.0f} MB")

    _fresh(target)
    shutil.copyfile(other, target)
    shutil.copytree(artifacts_dir(other), artifacts_dir(target))
    full = _run("--child", "merge", str(source), str(target))
    print(f"into one of equal size: {full['spans'] / full['seconds']:,.0f} spans/s "
          f"({full['seconds']:.1f} s; {full['spans'] / full['cpu_seconds']:,.0f} spans per "
          f"CPU-second), peak RSS {full['peak_rss_mb']:.0f} MB")

    _fresh(target)
    old = work / "old-schema.db"
    _fresh(old)
    shutil.copyfile(source, old)
    shutil.copytree(artifacts_dir(source), artifacts_dir(old))
    downgrade = sqlite3.connect(old)
    downgrade.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")  # the last one re-runs
    downgrade.close()
    older = _run("--child", "merge", str(old), str(target))
    print(f"an older-schema source (copied to a temp file and migrated first): "
          f"{older['spans'] / older['seconds']:,.0f} spans/s ({older['seconds']:.1f} s), peak "
          f"RSS {older['peak_rss_mb']:.0f} MB {older['errors'] or ''}")
    _fresh(old)

    _fresh(target)
    reading = _run("--child", "several", str(source), str(other))
    print("reading both files as one (seconds):")
    for name, ways in reading.items():
        print(f"  {name:8s} " + ", ".join(f"{way}: {value}" for way, value in ways.items()))

    _fresh(target)
    store = _run("--child", "store", str(source), str(target), str(args.store_spans))
    print(f"Store.write, for comparison: {store['spans'] / store['seconds']:,.0f} spans/s "
          f"({store['spans']:,} spans as records in batches of 1,000)")
    _fresh(target)


if __name__ == "__main__":
    main()
