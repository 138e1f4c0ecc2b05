"""Times every read-side query on a big database: prints the median milliseconds of each.

    python benchmarks/queries.py                 # 1M spans / 10k runs / 500k output lines
    python benchmarks/queries.py --scale 0.1     # a tenth of that, for a quick look
    python benchmarks/queries.py --write-cost    # also: what run_roots + m004 cost Store.write

The database is built directly with SQL through the real schema, in one transaction, using the
store's own statements for ``run_roots`` and the FTS index, and kept at ``--db`` so a second
run skips the build. Per run (101 spans): a root, 20 steps with two commands and two
api_calls each; 5 commands have stdout/stderr files of 5 lines each (50 lines, written to
disk so that grep reads real files); 10 % of runs fail one step. The first step of each run
works on a task (``harness.task.id``, 500 tasks, so one task spans 20 runs at scale 1) and
records a decision event; each root carries a ``session.id``. Bars (2-core machine): runs,
summary, show, search, grep with a literal word, timeline (task) <= 300 ms; timings by name
and costs <= 2 s; grep without a word for the index (every one of the 100,000 files read),
timeline by an unindexed attribute and events are reported.

    python benchmarks/queries.py --model-calls instrumented   # 100k GenAI-instrumented calls
    python benchmarks/queries.py --model-calls wrapped        # ... each inside a harness api_call

(see _CALL_SHAPES). The database is filled through ``storage.model_calls.record``, as the
store does.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from otel_sqlite.conventions import (
    ARTIFACT_EVENT,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    HARNESS_COST_USD,
    HARNESS_KIND,
    HARNESS_STEP_NUMBER,
    HARNESS_TASK_ID,
    PROCESS_COMMAND_ARGS,
    PROCESS_EXIT_CODE,
)
from otel_sqlite.queries import (
    costs,
    diff,
    events,
    failures,
    flaky,
    grep,
    runs,
    search,
    spans,
    stats,
    steps,
    timeline,
)
from otel_sqlite.queries import timings as timing_queries
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage import artifacts, model_calls, store, values
from otel_sqlite.storage.schema import connect, connect_readonly

RUNS = 10_000
STEPS = 20
LOGGED_STEPS = 5
LINES = 5
RUN_NAMES = 20
MODELS = (("claude-sonnet-4", "anthropic"), ("gpt-4o", "openai"), ("gemini-2.5", "google"))
WORDS = ("info", "compiling", "module", "ok", "linking", "cache", "hit", "fetch")
RARE = "zanzibar"  # appears in about one line in 50,000
TASKS = 500


def _spans_of_run(rng: random.Random, run: int, start_ns: int, ids: dict[str, int],
                  shape: str = "harness"):
    """Rows for spans, attributes, events, artifacts, text lines of one run."""
    trace = f"{rng.getrandbits(128):032x}"
    failing = rng.random() < 0.1
    failed_step = rng.randrange(STEPS) if failing else -1
    root_id = ids["span"] = ids["span"] + 1
    root_span = f"{rng.getrandbits(64):016x}"
    t = start_ns
    span_rows, attrs, texts, files, events = [], [], [], [], []
    child_rows = []
    for number in range(STEPS):
        step_ns = rng.randint(500, 5_000) * 1_000_000
        step_id = ids["span"] = ids["span"] + 1
        step_span = f"{rng.getrandbits(64):016x}"
        error = number == failed_step
        child_rows.append((step_id, trace, step_span, root_span, f"step-{number}", "step", t,
                           t + step_ns, "ERROR" if error else "UNSET",
                           "exit code 1" if error else ""))
        attrs += [(step_id, HARNESS_KIND, "step", "string"),
                  (step_id, HARNESS_STEP_NUMBER, number + 1, "int")]
        if number == 0:
            attrs.append((step_id, HARNESS_TASK_ID, f"gh-{run % TASKS}", "string"))
            events.append((step_id, "decision", t + 500,
                           values.to_json({"choice": "retry" if failing else "proceed"})))
        texts.append((step_id, None, 0, f"step-{number} step"))
        for command in range(2):
            command_id = ids["span"] = ids["span"] + 1
            argv = ["make", f"target-{number}-{command}"]
            fails = error and command == 1
            child_rows.append((command_id, trace, f"{rng.getrandbits(64):016x}", step_span,
                               " ".join(argv), "command", t + 1000 + command,
                               t + step_ns // 2, "ERROR" if fails else "UNSET",
                               "exit code 1" if fails else ""))
            attrs += [(command_id, HARNESS_KIND, "command", "string"),
                      (command_id, PROCESS_COMMAND_ARGS, values.to_json(argv), "string[]"),
                      (command_id, PROCESS_EXIT_CODE, 1 if fails else 0, "int")]
            texts.append((command_id, None, 0, f"{' '.join(argv)} command make"))
            if number < LOGGED_STEPS and command == 0:
                files.append((command_id, trace, number))
        parent = step_span
        for call in range(2):
            call_id = ids["span"] = ids["span"] + 1
            call_span = f"{rng.getrandbits(64):016x}"
            model, provider = MODELS[(run + number + call) % len(MODELS)]
            kind = _CALL_SHAPES[shape][call] if number < INSTRUMENTED_STEPS else "http"
            if shape == "harness":
                kind = "harness"
            child_rows.append((call_id, trace, call_span, parent,
                               f"chat {model}", "api_call" if kind == "harness" else None,
                               t + step_ns // 2 + call, t + step_ns - 1000 - call, "UNSET", ""))
            tokens = (rng.randint(100, 5000), rng.randint(10, 1000))
            attrs += _call_attributes(call_id, kind, model, provider, tokens, run * 100 + number,
                                      rng)
            texts.append((call_id, None, 0, f"chat {model} {kind} {provider}"))
            if shape == "wrapped" and kind == "harness":
                parent = call_span  # the instrumented call runs inside the harness api_call
        t += step_ns
    span_rows.append((root_id, trace, root_span, None, f"suite-{run % RUN_NAMES}", "run",
                      start_ns, t, "ERROR" if failing else "UNSET",
                      "1 step failed" if failing else ""))
    attrs += [(root_id, HARNESS_KIND, "run", "string"),
              (root_id, "session.id", f"s-{run}", "string")]
    texts.insert(0, (root_id, None, 0, f"suite-{run % RUN_NAMES} run"))
    return span_rows + child_rows, attrs, texts, files, events


# --model-calls: what the two call slots of the first INSTRUMENTED_STEPS steps of a run hold
# (the rest are plain HTTP client spans, so a run keeps its 101 spans). "harness": every slot
# a harness api_call, as before (400k at scale 1); "instrumented": one GenAI-instrumented span
# per step (100k), in turn under the current conventions, OpenLLMetry's older names and
# OpenInference's; "wrapped": that span inside a harness api_call recording the same usage.
INSTRUMENTED_STEPS = 10
_CALL_SHAPES = {"harness": ("harness", "harness"), "instrumented": ("instrumented", "http"),
                "wrapped": ("harness", "instrumented")}


def _call_attributes(span: int, kind: str, model: str, provider: str, tokens: tuple[int, int],
                     response: int, rng: random.Random) -> list[tuple]:
    """Attribute rows of one call slot: a harness api_call, an instrumented call, or a plain
    HTTP client span."""
    if kind == "http":
        return [(span, "http.request.method", "POST", "string"),
                (span, "server.address", f"{provider}.example", "string")]
    if kind == "harness":
        return [(span, HARNESS_KIND, "api_call", "string"),
                (span, GEN_AI_REQUEST_MODEL, model, "string"),
                (span, GEN_AI_PROVIDER_NAME, provider, "string"),
                (span, GEN_AI_USAGE_INPUT_TOKENS, tokens[0], "int"),
                (span, GEN_AI_USAGE_OUTPUT_TOKENS, tokens[1], "int"),
                (span, HARNESS_COST_USD, rng.random() / 100, "double")]
    convention = response % 3
    if convention == 0:
        keys = (("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", provider),
                ("gen_ai.request.model", model), ("gen_ai.response.model", f"{model}-2025-01-01"),
                ("gen_ai.usage.input_tokens", tokens[0]), ("gen_ai.usage.output_tokens", tokens[1]))
    elif convention == 1:
        keys = (("llm.request.type", "chat"), ("gen_ai.system", provider.title()),
                ("gen_ai.request.model", model), ("gen_ai.usage.prompt_tokens", tokens[0]),
                ("gen_ai.usage.completion_tokens", tokens[1]),
                ("llm.usage.total_tokens", sum(tokens)))
    else:
        keys = (("openinference.span.kind", "LLM"), ("llm.system", provider),
                ("llm.model_name", model), ("llm.token_count.prompt", tokens[0]),
                ("llm.token_count.completion", tokens[1]),
                ("llm.token_count.total", sum(tokens)))
    rows = [(span, key, value, "int" if isinstance(value, int) else "string")
            for key, value in keys]
    return rows + [(span, "gen_ai.response.id", f"resp-{response}-{span}", "string")]


def _line(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=8)
    if rng.random() < 1 / 50_000:
        words[3] = RARE
    return " ".join(words)


def build(path: Path, scale: float, shape: str = "harness") -> None:
    """Write the benchmark database at ``path`` (about 1M spans at scale 1)."""
    rng = random.Random(7)
    db = connect(path)
    folder = artifacts.stored_path(path.with_name(path.stem + "-artifacts"), path)
    now = time.time_ns()
    total_runs = max(2, int(RUNS * scale))
    ids = {"span": 0, "artifact": 0}
    begun = time.perf_counter()
    db.execute("BEGIN")
    (resource,) = db.execute(
        "INSERT INTO resources (fingerprint, service_name, attributes) "
        "VALUES ('bench', 'bench', '{}') RETURNING id"
    ).fetchone()
    for run in range(total_runs):
        start = now - (total_runs - run) * 600 * 10**9
        span_rows, attrs, texts, files, events = _spans_of_run(rng, run, start, ids, shape)
        db.executemany(
            "INSERT INTO spans (id, trace_id, span_id, parent_span_id, name, harness_kind, "
            "start_ns, end_ns, status_code, status_message, resource_id) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {resource})",
            span_rows,
        )
        db.executemany("INSERT INTO attributes (span, key, value, type) VALUES (?, ?, ?, ?)",
                       attrs)
        db.executemany("INSERT INTO events (span, name, time_ns, attributes) VALUES (?, ?, ?, ?)",
                       events)
        for span, trace, number in files:
            for role in ("stdout", "stderr"):
                ids["artifact"] += 1
                artifact = ids["artifact"]
                stored = f"{folder}/{trace}/{number}/{role}"
                db.execute(
                    "INSERT INTO artifacts (id, span, role, path, size, media_type, "
                    "indexed_lines) VALUES (?, ?, ?, ?, 400, 'text/plain', ?)",
                    (artifact, span, role, stored, LINES),
                )
                db.execute("INSERT INTO events (span, name, time_ns) VALUES (?, ?, ?)",
                           (span, ARTIFACT_EVENT, start))
                lines = [_line(rng) for _ in range(LINES)]
                texts += [(span, artifact, n, line) for n, line in enumerate(lines, 1)]
                file = artifacts.resolve_stored_path(stored, path)
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_text("".join(line + "\n" for line in lines))
        db.executemany("INSERT INTO text_lines (span, artifact, line, text) VALUES (?, ?, ?, ?)",
                       texts)
        spans_json = values.to_json([row[0] for row in span_rows])
        db.execute(store._UPSERT_RUN_ROOTS, (spans_json,))
        db.execute(store._INDEX_TEXT, (spans_json,))
        model_calls.record(db, spans_json)
        if run % 1000 == 999:
            print(f"  built {run + 1} runs ({time.perf_counter() - begun:.0f} s)", file=sys.stderr)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    print(f"built {path} in {time.perf_counter() - begun:.1f} s", file=sys.stderr)


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm the page cache once, as a person's second query would be
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench(path: Path, repeat: int) -> None:
    db = connect_readonly(path)
    counts = stats.stats(db)
    print(f"database: {counts['spans']:,} spans, {counts['runs']:,} runs, "
          f"{counts['text_lines']:,} text lines ({counts['db_bytes'] / 1e6:.0f} MB)")
    old = db.execute("SELECT trace_id FROM run_roots ORDER BY start_ns LIMIT 1").fetchone()[0]
    cases = [
        ("runs", 300, lambda: runs.list_runs(db, limit=20)),
        ("runs --name suite-3", 300, lambda: runs.list_runs(db, name="suite-3", limit=20)),
        ("runs --status error", 300, lambda: runs.list_runs(db, status="error", limit=20)),
        ("summary latest", 300, lambda: runs.run_summary(db, "latest")),
        ("summary <oldest prefix>", 300, lambda: runs.run_summary(db, old[:8])),
        ("steps latest", 300, lambda: steps.run_steps(db, "latest")),
        ("failures latest~5", 300, lambda: failures.run_failures(db, "latest~5")),
        ("show latest", 300, lambda: spans.span_tree(db, "latest")),
        (f"search {RARE} (rare)", 300, lambda: search.search(db, RARE)),
        ("search compiling (common)", 300, lambda: search.search(db, "compiling")),
        ("search 'cache hit' (phrase)", 300, lambda: search.search(db, '"cache hit"')),
        ("search compiling --run latest~9", 300,
         lambda: search.search(db, "compiling", run="latest~9")),
        (rf"grep '\b{RARE} \w+' (literal)", 300,
         lambda: list(grep.Grep(db, rf"\b{RARE} \w+"))),
        (f"grep '{RARE[0]}[a-z]{RARE[2:]}' (no word)", None,
         lambda: list(grep.Grep(db, f"{RARE[0]}[a-z]{RARE[2:]}"))),
        (f"grep '({RARE}|zebra)' (no literal)", None,
         lambda: list(grep.Grep(db, f"({RARE}|zebra)"))),
        ("task gh-7", 300, lambda: timeline.timeline(db, HARNESS_TASK_ID, "gh-7")),
        ("timeline --attr session.id=s-42", None,
         lambda: timeline.timeline(db, "session.id", "s-42")),
        ("events --type decision", None, lambda: events.list_events(db, "decision")),
        ("timings --name step-7", 2000, lambda: timing_queries.timings(db, name="step-7")),
        ("costs --by model", 2000, lambda: costs.costs(db, "model")),
        ("costs --by day", 2000, lambda: costs.costs(db, "day")),
        ("costs --by run", 2000, lambda: costs.costs(db, "run")),
        ("costs --by step", 2000, lambda: costs.costs(db, "step")),
        ("diff latest~1 latest", 300, lambda: diff.diff_runs(db, "latest~1", "latest")),
        ("flaky --last 20", 2000, lambda: flaky.flaky_steps(db, last=20)),
        ("stats", 2000, lambda: stats.stats(db)),
    ]
    print(f"{'query':36} {'median ms':>10} {'bar ms':>7}")
    for name, bar, fn in cases:
        ms = _median_ms(fn, repeat)
        if bar is None:
            print(f"{name:36} {ms:10.1f} {'-':>7}", flush=True)
        else:
            print(f"{name:36} {ms:10.1f} {bar:7d}{'  OVER' if ms > bar else ''}", flush=True)
    old_view = """SELECT count(*) FROM spans s WHERE s.parent_span_id IS NULL
        OR NOT EXISTS (SELECT 1 FROM spans p WHERE p.trace_id = s.trace_id
                       AND p.span_id = s.parent_span_id)"""
    ms = _median_ms(lambda: db.execute(old_view).fetchone(), 1)
    print(f"{'(schema 1 runs view: find roots)':36} {ms:10.1f}")


def run_records(runs_total: int) -> list[SpanRecord]:
    """The benchmark's runs as the records a writer hands the store."""
    rng = random.Random(3)
    records = []
    for run in range(runs_total):
        rows, attrs, _, _, _ = _spans_of_run(rng, run, 10**18 + run * 10**12, {"span": 0})
        attributes: dict[int, dict] = {}
        for span, key, value, type_name in attrs:
            attributes.setdefault(span, {})[key] = values.decode(value, type_name)
        for span, trace, span_id, parent, name, _kind, start, end, code, message in rows:
            records.append(SpanRecord(trace, span_id, name, start, end, parent_span_id=parent,
                                      status_code=code, status_message=message,
                                      attributes=attributes.get(span, {})))
    return records


def write_cost(runs_total: int = 500, batch: int = 1010) -> None:
    """CPU time of Store.write on the benchmark's own runs (101 spans, 40 api_calls each), as
    is and without what the read side added: the run_roots upsert (swapped for a no-op) and
    m003 / m004's partial indexes. CPU time, not wall time: the machine is shared."""
    records = run_records(runs_total)
    upsert, record_calls = store._UPSERT_RUN_ROOTS, model_calls.record
    variants = ("as is", "without model_calls", "without run_roots + indexes")
    rates: dict[str, list[float]] = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(3):  # interleaved, so a busy neighbour slows all alike
            for variant in variants:
                bare = variant == variants[2]
                writer = store.Store(Path(tmp) / f"{variant}-{attempt}.db")
                if bare:
                    writer._db.execute("DROP INDEX spans_trace_steps")
                    writer._db.execute("DROP INDEX spans_trace_api_calls")
                store._UPSERT_RUN_ROOTS = "SELECT ?" if bare else upsert
                model_calls.record = record_calls if variant == "as is" else _no_calls
                started = time.process_time()
                for i in range(0, len(records), batch):
                    writer.write(records[i:i + batch])
                rates[variant].append(len(records) / (time.process_time() - started))
                writer.close()
    store._UPSERT_RUN_ROOTS, model_calls.record = upsert, record_calls
    full, without_calls, bare = (statistics.median(rates[v]) for v in variants)
    for variant in variants:
        print(f"write {variant:31}{statistics.median(rates[variant]):10,.0f} spans per CPU second")
    print(f"read-side write cost: {1 - full / bare:.1%} fewer spans per CPU second; model_calls "
          f"alone (40 of 101 spans are api_calls) {1 - full / without_calls:.1%} "
          f"(median of 3, {len(records):,} spans in batches of {batch})")


def _no_calls(db: object, ids: str) -> None:
    """model_calls.record, switched off (write_cost's comparison)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M spans / 10k runs")
    parser.add_argument("--db", type=Path, help="Database to build or reuse "
                        "(default: a file in the temp folder named for the scale)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-cost", action="store_true")
    parser.add_argument("--model-calls", choices=tuple(_CALL_SHAPES), default="harness",
                        help="What the api_call slots hold (see _CALL_SHAPES)")
    args = parser.parse_args()
    suffix = "" if args.model_calls == "harness" else f"-{args.model_calls}"
    path = args.db or Path(tempfile.gettempdir()) / f"otel-sqlite-bench-{args.scale:g}{suffix}.db"
    if not path.exists():
        build(path, args.scale, args.model_calls)
    bench(path, args.repeat)
    if args.write_cost:
        write_cost()


if __name__ == "__main__":
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    main()
