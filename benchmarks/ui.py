"""The UI's speed: JSON API latency on the big benchmark database, and the time Chromium takes
to draw a 10,000-span waterfall. Prints the median milliseconds of each.

    python benchmarks/ui.py                  # the 1M-span database of benchmarks/queries.py
    python benchmarks/ui.py --scale 0.1      # a tenth of it, for a quick look
    python benchmarks/ui.py --no-browser     # API only
    python benchmarks/ui.py --only jaeger    # Jaeger's query API only

The big database is built (or reused) exactly as ``benchmarks/queries.py`` does. The 10k-span
run is written through ``Store.write`` into a database of its own: a root, 50 features of 10
scenarios of 19 steps, some failed, the last one still in flight. Bars (2-core machine):
runs list, run tree, span details, search <= 150 ms each; the 10k waterfall <= 1 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from otel_sqlite.conventions import HARNESS_KIND, KIND_RUN, KIND_STEP
from otel_sqlite.records import SpanRecord
from otel_sqlite.storage.schema import connect_readonly
from otel_sqlite.storage.store import Store
from otel_sqlite.ui.server import UIServer

HERE = Path(__file__).parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FEATURES, SCENARIOS, STEPS = 50, 10, 19
API_BAR_MS = 150
WATERFALL_BAR_MS = 1000


def _queries_benchmark():
    """``benchmarks/queries.py`` as a module: its database builder, names and timer."""
    spec = importlib.util.spec_from_file_location("queries_benchmark", HERE / "queries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


QUERIES_BENCHMARK = _queries_benchmark()
_median_ms = QUERIES_BENCHMARK._median_ms


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def _serving(db: Path) -> UIServer:
    server = UIServer(db, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bench_api(db: Path, repeat: int, rare: str) -> None:
    reader = connect_readonly(db)
    latest, = reader.execute(
        "SELECT trace_id FROM run_roots ORDER BY start_ns DESC LIMIT 1").fetchone()
    command, = reader.execute(
        "SELECT s.span_id FROM artifacts a JOIN spans s ON s.id = a.span "
        "WHERE s.trace_id = (SELECT trace_id FROM run_roots ORDER BY start_ns DESC LIMIT 1 "
        "OFFSET 3) LIMIT 1").fetchone() or (None,)
    trace_of_command, = reader.execute(
        "SELECT trace_id FROM spans WHERE span_id = ?", (command,)).fetchone()
    runs, = reader.execute("SELECT count(*) FROM run_roots").fetchone()
    spans, = reader.execute("SELECT count(*) FROM spans").fetchone()
    reader.close()
    print(f"database: {spans:,} spans, {runs:,} runs")
    cases = [
        ("runs list (first page of 25)", "/api/runs?limit=25", API_BAR_MS),
        (f"runs list (page at offset {runs - 25:,})", f"/api/runs?limit=25&offset={runs - 25}",
         API_BAR_MS),
        ("runs list --status error", "/api/runs?status=error&limit=25", API_BAR_MS),
        ("runs list q=suite-3 (text)", "/api/runs?q=suite-3&limit=25", API_BAR_MS),
        ("run summary (latest)", f"/api/runs/{latest}", API_BAR_MS),
        ("run tree (latest, 101 spans)", f"/api/runs/{latest}/spans", API_BAR_MS),
        ("span details (a command)", f"/api/spans/{trace_of_command}/{command}", API_BAR_MS),
        (f"search {rare} (rare)", f"/api/search?q={rare}", API_BAR_MS),
        ("search compiling (common)", "/api/search?q=compiling", API_BAR_MS),
        ("costs by model", "/api/costs?by=model", 2000),
    ]
    _time_requests(db, "API request", cases, repeat)


def _time_requests(db: Path, title: str, cases: list[tuple[str, str, int]], repeat: int,
                   cold: str | None = None) -> None:
    """Serve ``db`` and print the median milliseconds of each ``(name, path, bar)``; with
    ``cold``, first the time of the very first request of the first case, under that name."""
    server = _serving(db)
    base = server.url.rstrip("/")
    print(f"{title:40} {'median ms':>10} {'bar ms':>7}")
    try:
        if cold:
            started = time.perf_counter()
            _get(base + cases[0][1])
            print(f"{cold:40} {(time.perf_counter() - started) * 1000:10.1f}")
        for name, path, bar in cases:
            ms = _median_ms(lambda path=path: _get(base + path), repeat)
            print(f"{name:40} {ms:10.1f} {bar:7d}{'  OVER' if ms > bar else ''}", flush=True)
    finally:
        server.shutdown()
        server.server_close()


def write_big_run(db: Path) -> str:
    """One run of 10,051 spans (root, features, scenarios, steps) through the store."""
    trace = "0b" * 16
    base = time.time_ns() - 3_600 * 10**9
    records = []
    counter = iter(range(1, 1 << 30))

    def span_id() -> str:
        return f"{next(counter):016x}"

    root = span_id()
    records.append(SpanRecord(trace, root, "nightly-10k", base, base + 3_000 * 10**9,
                              attributes={HARNESS_KIND: KIND_RUN}))
    t = base
    for f in range(FEATURES):
        feature = span_id()
        f_start = t
        for s in range(SCENARIOS):
            scenario = span_id()
            s_start = t
            for n in range(STEPS):
                failed = (f * SCENARIOS + s) % 37 == 0 and n == STEPS - 1
                records.append(SpanRecord(
                    trace, span_id(), f"step {n + 1}", t, t + 250_000_000,
                    parent_span_id=scenario, status_code="ERROR" if failed else "UNSET",
                    attributes={HARNESS_KIND: KIND_STEP}))
                t += 300_000_000
            records.append(SpanRecord(trace, scenario, f"scenario {f}.{s}", s_start, t,
                                      parent_span_id=feature, attributes={HARNESS_KIND: KIND_STEP}))
        last = f == FEATURES - 1
        records.append(SpanRecord(trace, feature, f"feature {f}", f_start, None if last else t,
                                  parent_span_id=root, attributes={HARNESS_KIND: KIND_STEP}))
    store = Store(db)
    store.write(records)
    store.close()
    return trace


def bench_jaeger(db: Path, folder: Path, repeat: int) -> None:
    """Jaeger's query API: searches on the big database, then one 10k-span trace fetched
    whole from a database of its own (the run ``write_big_run`` writes)."""
    reader = connect_readonly(db)
    service, = reader.execute("SELECT service_name FROM resources LIMIT 1").fetchone()
    reader.close()
    end = time.time_ns()
    window = urllib.parse.urlencode({
        "query.serviceName": service, "query.searchDepth": 20,
        "query.startTimeMin": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end / 1e9 - 172_800)),
        "query.startTimeMax": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end / 1e9))})
    search = f"/api/traces?service={service}&limit=20"
    cases = [
        ("operations of a service", f"/api/services/{service}/operations", API_BAR_MS),
        ("services", "/api/services", API_BAR_MS),
        ("search: 20 traces, last 2 days", search, API_BAR_MS),
        ("search: + tags error=true, last 7 days",
         search + "&lookback=7d&tags=" + urllib.parse.quote('{"error":"true"}'), API_BAR_MS),
        ("search: + minDuration=50s, all time", search + "&start=0&minDuration=50s",
         API_BAR_MS),
        ("v3 search: 20 traces as OTLP", "/api/v3/traces?" + window, API_BAR_MS),
        ("v3 trace summaries: 20 traces", "/api/v3/trace-summaries?" + window, API_BAR_MS),
        ("dependencies (last day)", "/api/dependencies", API_BAR_MS),
    ]
    _time_requests(db, "Jaeger API request", cases, repeat,
                   cold="operations (first call: one scan)")
    big = folder / "jaeger-10k.db"
    trace = write_big_run(big)
    _time_requests(big, "Jaeger API, one big trace", [
        ("trace of 10,051 spans (Jaeger JSON)", f"/api/traces/{trace}", WATERFALL_BAR_MS),
        ("trace of 10,051 spans (v3 OTLP/JSON)", f"/api/v3/traces/{trace}", WATERFALL_BAR_MS),
    ], repeat)


def bench_waterfall(folder: Path, chromium: str, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    db = folder / "waterfall-10k.db"
    trace = write_big_run(db)
    server = _serving(db)
    try:
        tree_ms = _median_ms(lambda: _get(f"{server.url}api/runs/{trace}/spans"), repeat)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            renders, totals, loads, expands = [], [], [], []
            for _ in range(repeat + 1):
                page.goto(f"{server.url}run/{trace}")
                page.locator(".wf-row").first.wait_for()  # drawn in the task that marks it
                render = page.evaluate("performance.getEntriesByName('waterfall')[0].duration")
                total = page.evaluate(
                    "performance.getEntriesByName('waterfall-rendered')[0].startTime")
                loads.append(page.evaluate(
                    "performance.getEntriesByName('run-data-loaded')[0].startTime"))
                rows = page.locator(".wf-row").count()
                expand = page.evaluate("""() => {
                    const t = performance.now();
                    document.querySelector('.wf-tools button:nth-child(2)').click();
                    document.querySelector('.wf-tools button:nth-child(1)').click();
                    return performance.now() - t; }""")
                page.wait_for_load_state("networkidle")  # the summary too, before the next
                renders.append(render)
                totals.append(total)
                expands.append(expand)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    spans = 1 + FEATURES * (1 + SCENARIOS * (1 + STEPS))
    print(f"{'waterfall of ' + format(spans, ',') + ' spans':40} {'median ms':>10} {'bar ms':>7}")
    print(f"{'  API run tree (JSON)':40} {tree_ms:10.1f}")
    render, total = statistics.median(renders[1:]), statistics.median(totals[1:])
    print(f"{'  navigation start -> data in hand':40} {statistics.median(loads[1:]):10.1f}")
    print(f"{'  build + draw (data in hand)':40} {render:10.1f}")
    print(f"{'  navigation start -> drawn':40} {total:10.1f} {WATERFALL_BAR_MS:7d}"
          f"{'  OVER' if total > WATERFALL_BAR_MS else ''}")
    print(f"{'  collapse all + expand all':40} {statistics.median(expands[1:]):10.1f}")
    print(f"  ({rows} row elements in the DOM for {spans:,} spans: the rest are virtual)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M spans / 10k runs")
    parser.add_argument("--db", type=Path, help="Big database to build or reuse")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--only", choices=("api", "jaeger", "waterfall"),
                        help="Measure one part only")
    args = parser.parse_args()
    queries_benchmark = QUERIES_BENCHMARK
    path = args.db or Path(tempfile.gettempdir()) / f"otel-sqlite-bench-{args.scale:g}.db"
    if not path.exists():
        queries_benchmark.build(path, args.scale)
    if args.only in (None, "api"):
        bench_api(path, args.repeat, queries_benchmark.RARE)
    if args.only in (None, "jaeger"):
        with tempfile.TemporaryDirectory() as folder:
            bench_jaeger(path, Path(folder), args.repeat)
    if not args.no_browser and args.only in (None, "waterfall"):
        if not Path(args.chromium).exists():
            print(f"no Chromium at {args.chromium}: waterfall not measured", file=sys.stderr)
            return
        with tempfile.TemporaryDirectory() as folder:
            bench_waterfall(Path(folder), args.chromium, args.repeat)


if __name__ == "__main__":
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    main()
