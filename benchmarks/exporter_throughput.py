"""Exporter throughput: the same workload into the in-memory exporter and into ours, behind
each span processor a user can have.

Processors (``--processor``, several allowed; default all three):

- ``stock``: the SDK's own ``BatchSpanProcessor`` with its defaults (512-span batches, a 5 s
  delay), what ``OTEL_TRACES_EXPORTER=sqlite opentelemetry-instrument`` gives, with the queue
  raised (``--queue``) so that no span is dropped;
- ``configure``: the batch settings ``otel_sqlite.configure()`` uses (``provider.BATCH_DEFAULTS``);
- ``simple``: the SDK's ``SimpleSpanProcessor``, one export per span on the application's thread.

The workload: each span its own trace, 8 attributes and 1 event. For each processor and each
exporter (the SDK's ``InMemorySpanExporter``, the ceiling, and otel-sqlite's), interleaved, run
after run: stored spans/s (spans that reached the exporter over the time until shutdown
returned, so a dropped span does not count), the application's own loop speed, spans dropped.
Printed: the medians of the per-run ratios ours ÷ in-memory, and where the time goes: the
exporter thread's CPU per span, the writer process's CPU per span
(``otel_sqlite.sdk.writer_process``) and the garbage collector's time per span.

    python benchmarks/exporter_throughput.py [--spans 200000] [--repeat 3]
    python benchmarks/exporter_throughput.py --processor stock --processor simple
    python benchmarks/exporter_throughput.py --spans-per-trace 20
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
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
        return self.inner.force_flush(timeout_millis)


class Run(NamedTuple):
    rate: float  # spans exported / seconds until shutdown returned
    dropped: int
    creation_rate: float  # spans / seconds the application's loop took
    export_cpu_us: float  # exporter CPU per exported span
    writer_cpu_us: float  # CPU of the exporter's child processes (the writer) per span
    gc_us: float  # the garbage collector's time per span created, in any thread


def create_spans(provider: TracerProvider, count: int, kind: str = "step",
                 per_trace: int = 1) -> None:
    """The workload: ``count`` spans, 8 attributes and 1 event each; each span its own trace,
    or with ``per_trace`` > 1, traces of one span and ``per_trace - 1`` children of it."""
    tracer = provider.get_tracer("bench")
    root = None
    for i in range(count):
        attributes = {
            "harness.kind": kind, "harness.step.number": i, "a.str": "value",
            "a.int": i * 7, "a.float": 0.5, "a.bool": True, "a.list": ("x", "y"),
            "a.other": "something longer to index",
        }
        if per_trace > 1 and i % per_trace == 0:
            if root is not None:
                root.end()
            root = tracer.start_span("step", attributes=attributes)
            root.add_event("tick", {"i": i})
            continue
        context = trace.set_span_in_context(root) if root is not None else None
        with tracer.start_as_current_span("step", context=context,
                                          attributes=attributes) as span:
            span.add_event("tick", {"i": i})
    if root is not None:
        root.end()


def workload(exporter, spans: int, processor_factory, per_trace: int = 1) -> Run:  # noqa: ANN001
    counting = Counting(exporter)
    provider = TracerProvider()
    provider.add_span_processor(processor_factory(counting))
    children = _children_cpu()
    collecting = GarbageCollectorTime()
    gc.collect()
    gc.callbacks.append(collecting)
    started = time.perf_counter()
    create_spans(provider, spans, per_trace=per_trace)
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


def processors(queue: int) -> dict[str, object]:
    return {
        "stock": lambda exporter: BatchSpanProcessor(exporter, max_queue_size=queue),
        "configure": batch_processor,
        "simple": SimpleSpanProcessor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--simple-spans", type=int, default=30_000,
                        help="spans per run behind SimpleSpanProcessor (one export per span)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spans-per-trace", type=int, default=1,
                        help="1: each span its own trace (the worst case for the trace-id "
                             "indexes); N: traces of a span and N-1 children")
    parser.add_argument("--queue", type=int, default=1_000_000,
                        help="the stock processor's queue, raised so that nothing drops")
    parser.add_argument("--processor", action="append",
                        choices=("stock", "configure", "simple"))
    args = parser.parse_args()
    chosen = args.processor or ["stock", "configure", "simple"]
    factories = processors(args.queue)
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exporters = {
            "in-memory": InMemorySpanExporter,
            "sqlite": lambda: SQLiteSpanExporter(Path(tmp) / f"bench-{time.monotonic_ns()}.db"),
        }
        for _ in range(args.repeat):  # interleaved, so machine noise hits every case alike
            for processor in chosen:
                spans = args.simple_spans if processor == "simple" else args.spans
                for name, make in exporters.items():
                    results.setdefault((processor, name), []).append(
                        workload(make(), spans, factories[processor],
                                 args.spans_per_trace))
    shape = ("each span its own trace" if args.spans_per_trace == 1
             else f"{args.spans_per_trace} spans per trace")
    print(f"{args.repeat} runs of each, 8 attributes + 1 event per span, {shape}; medians "
          "(ratios: median of the per-run ratios, runs interleaved)")
    for processor in chosen:
        spans = args.simple_spans if processor == "simple" else args.spans
        memory, ours = results[(processor, "in-memory")], results[(processor, "sqlite")]
        pairs = list(zip(ours, memory, strict=True))
        stored = statistics.median(o.rate / m.rate for o, m in pairs)
        loop = statistics.median(o.creation_rate / m.creation_rate for o, m in pairs)
        print(f"{processor} ({spans:,} spans): stored/in-memory {stored:.2f}   "
              f"app loop/in-memory {loop:.2f}   dropped (worst run) "
              f"{max(r.dropped for r in ours)} (in-memory {max(r.dropped for r in memory)})")
        for name, runs in (("in-memory", memory), ("sqlite", ours)):
            print(f"  {name:<10} stored {statistics.median(r.rate for r in runs):>9,.0f} spans/s"
                  f"   loop {statistics.median(r.creation_rate for r in runs):>9,.0f} spans/s"
                  f"   exporter CPU {statistics.median(r.export_cpu_us for r in runs):5.1f}"
                  f"   writer CPU {statistics.median(r.writer_cpu_us for r in runs):5.1f}"
                  f"   GC {statistics.median(r.gc_us for r in runs):5.1f} us/span")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
