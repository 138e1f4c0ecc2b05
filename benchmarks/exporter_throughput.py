"""Exporter throughput: the same workload through BatchSpanProcessor into three exporters.

(a) the SDK's InMemorySpanExporter (the ceiling: span creation itself), (b) the SDK's
ConsoleSpanExporter writing to /dev/null, (c) otel-sqlite's SQLiteSpanExporter. Each span has 8
attributes and 1 event. Prints spans/s for each (spans that reached the exporter, over the time
until shutdown returned: a dropped span does not count), ours as a ratio to (a) and (b), and
how many spans each dropped; then, to show where the time goes, how fast the application
itself created spans, the exporter's CPU time per span in the application's process, the
CPU time per span of the writer process it starts (``otel_sqlite.sdk.writer_process``), and the
time the application's garbage collector ran (every span outlives the processor's queue, so
it is collected in the oldest generation, whose passes scan the whole heap).

    python benchmarks/exporter_throughput.py [--spans 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_sqlite.exporter import SQLiteSpanExporter
from otel_sqlite.sdk.provider import batch_processor


class Counting:
    """Wraps an exporter to count what reached it, so drops are measured, not guessed, and the
    CPU time its thread spent exporting."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner, self.count, self.cpu = inner, 0, 0.0

    def export(self, spans):  # noqa: ANN001, ANN201
        self.count += len(spans)
        started = time.thread_time()
        try:
            return self.inner.export(spans)
        finally:
            self.cpu += time.thread_time() - started

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class Run(NamedTuple):
    rate: float  # spans exported / seconds until shutdown returned
    dropped: int
    creation_rate: float  # spans / seconds the application's loop took
    export_cpu_us: float  # exporter CPU per exported span
    writer_cpu_us: float  # CPU of the exporter's child processes (the writer) per span
    gc_us: float  # the garbage collector's time per span created, in any thread


def create_spans(provider: TracerProvider, count: int) -> None:
    """The workload: ``count`` spans, each its own run, 8 attributes and 1 event each."""
    tracer = provider.get_tracer("bench")
    for i in range(count):
        with tracer.start_as_current_span(
            "step",
            attributes={
                "harness.kind": "step", "harness.step.number": i, "a.str": "value",
                "a.int": i * 7, "a.float": 0.5, "a.bool": True, "a.list": ("x", "y"),
                "a.other": "something longer to index",
            },
        ) as span:
            span.add_event("tick", {"i": i})


def workload(exporter, spans: int, processor_factory) -> Run:  # noqa: ANN001
    counting = Counting(exporter)
    provider = TracerProvider()
    provider.add_span_processor(processor_factory(counting))
    children = _children_cpu()
    collecting = GarbageCollectorTime()
    gc.callbacks.append(collecting)
    started = time.perf_counter()
    create_spans(provider, spans)
    created = time.perf_counter() - started
    provider.shutdown()  # waits for the writer process to exit, so its CPU is counted
    elapsed = time.perf_counter() - started
    gc.callbacks.remove(collecting)
    exported = max(counting.count, 1)
    return Run(counting.count / elapsed, spans - counting.count, spans / created,
               1e6 * counting.cpu / exported, 1e6 * (_children_cpu() - children) / exported,
               1e6 * collecting.seconds / spans)


class GarbageCollectorTime:
    """A ``gc.callbacks`` entry adding up how long collections took (they run one at a time,
    under the GIL, in whichever thread allocated)."""

    def __init__(self) -> None:
        self.seconds, self._started = 0.0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        devnull = open(os.devnull, "w")  # noqa: SIM115
        cases = {
            "in-memory": (lambda: InMemorySpanExporter(), batch_processor),
            "console>/dev/null": (lambda: ConsoleSpanExporter(out=devnull), batch_processor),
            "sqlite": (
                lambda: SQLiteSpanExporter(Path(tmp) / f"bench-{time.monotonic_ns()}.db"),
                batch_processor,
            ),
        }
        results: dict[str, list[Run]] = {name: [] for name in cases}
        for _ in range(args.repeat):  # interleaved, so machine noise hits every case alike
            for name, (make, processor) in cases.items():
                results[name].append(workload(make(), args.spans, processor))
    print(f"{args.spans} spans x {args.repeat} runs, 8 attributes + 1 event each, "
          f"BatchSpanProcessor with otel-sqlite's queue settings; median spans/s")
    medians = {name: statistics.median(r.rate for r in runs) for name, runs in results.items()}
    for name, runs in results.items():
        dropped = max(r.dropped for r in runs)
        print(f"  {name:<18} {medians[name]:>10,.0f} spans/s   dropped (worst run): {dropped}")
    print(f"  sqlite / in-memory = {medians['sqlite'] / medians['in-memory']:.2f}")
    print(f"  sqlite / console   = {medians['sqlite'] / medians['console>/dev/null']:.2f}")
    print("where the time goes (medians): the application's own loop, the exporter's thread, "
          "its writer process, and the garbage collector")
    for name, runs in results.items():
        creation = statistics.median(r.creation_rate for r in runs)
        cpu = statistics.median(r.export_cpu_us for r in runs)
        writer = statistics.median(r.writer_cpu_us for r in runs)
        collecting = statistics.median(r.gc_us for r in runs)
        print(f"  {name:<18} created {creation:>10,.0f} spans/s   exporter CPU {cpu:6.1f} us/span"
              f"   writer CPU {writer:6.1f} us/span   GC {collecting:6.1f} us/span")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
