"""Building a TracerProvider from the standard OTEL_* environment.

``OTEL_TRACES_EXPORTER`` picks the exporters exactly as the OTel SDK's auto-configuration does
(entry point group ``opentelemetry_traces_exporter``, comma-separated, ``none`` for nothing);
what differs is the default, ``sqlite``, and that ``sqlite`` also brings the in-flight processor.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_sqlite.conventions import ENV_OTLP_PROTOCOL, ENV_OTLP_TRACES_PROTOCOL
from otel_sqlite.errors import OtelSqliteError
from otel_sqlite.sdk.exporter import InFlightSpanProcessor, SQLiteSpanExporter
from otel_sqlite.sdk.exporter_choice import (
    DEFAULT_EXPORTER,
    ENV_TRACES_EXPORTER,
    exporter_names,
)
from otel_sqlite.sdk.exporter_choice import (
    sqlite_is_the_only_exporter as sqlite_is_the_only_exporter,
)

# Batch settings for the SQLite exporter, each overridable by its OTEL_BSP_* variable. The
# stock 2048-span queue drops most spans of a tight loop while a slow exporter writes; a
# 65,536-span queue rides out 20k-span bursts, and large batches make few, cheap transactions.
# The batch cap only matters when the exporter falls behind (the timer sends whatever is
# queued): then 16,384 spans per commit touch the trace-id indexes' pages once for four
# times the spans, and the writer stored 200k spans at 0.64 of in-memory against 0.55 with
# 4,096 (one sitting, exporter_throughput's workload). The processor sleeps out the delay
# after every batch smaller than the cap, and the writer idles meanwhile: with 200 ms it
# idled a quarter of a 30k-span run. benchmarks/exporter_throughput.py --spans 30000, one
# sitting: 14,937 spans/s with 200 ms, 16,651 with 50, 17,878 with 20. Batches stay large
# while the exporter is busy: what queues up during one export is the next.
BATCH_DEFAULTS = {
    "OTEL_BSP_MAX_QUEUE_SIZE": ("max_queue_size", 65_536),
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": ("max_export_batch_size", 16_384),
    "OTEL_BSP_SCHEDULE_DELAY": ("schedule_delay_millis", 20),
}


# How the SDK's auto-configuration turns "otlp" into an entry point name.
OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}


def _entry_point_name(name: str) -> str:
    """``otlp`` by OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, as ``opentelemetry-instrument`` does.

    Unset, the Python SDK means grpc; when only the HTTP exporter is installed we take
    http/protobuf (the OTel spec's default) rather than fail.
    """
    if name != "otlp":
        return name
    protocol = os.environ.get(ENV_OTLP_TRACES_PROTOCOL) or os.environ.get(ENV_OTLP_PROTOCOL)
    if protocol:
        if protocol.strip() not in OTLP_BY_PROTOCOL:
            raise OtelSqliteError(
                f"OTLP protocol {protocol!r} is not supported for traces "
                f"(use {' or '.join(OTLP_BY_PROTOCOL)})"
            )
        return OTLP_BY_PROTOCOL[protocol.strip()]
    grpc = OTLP_BY_PROTOCOL["grpc"]
    if entry_points(group="opentelemetry_traces_exporter", name=grpc):
        return grpc
    return OTLP_BY_PROTOCOL["http/protobuf"]


def load_exporter(name: str) -> SpanExporter:
    """The exporter registered under ``name``, built with no arguments as the SDK does."""
    found = entry_points(group="opentelemetry_traces_exporter", name=_entry_point_name(name))
    for entry_point in found:
        return entry_point.load()()
    raise OtelSqliteError(
        f"{ENV_TRACES_EXPORTER} names '{name}', but no installed package provides a trace "
        f"exporter of that name (try 'sqlite', 'console' or 'otlp'; 'otlp' needs "
        f"opentelemetry-exporter-otlp-proto-http or -grpc)"
    )


class FlushingBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor, whose ``force_flush`` also flushes its exporter.

    The SDK's own stops once the queued spans are handed to ``export``; the SQLite exporter
    returns from ``export`` before the writer process commits, so ``provider.force_flush()``
    would return before what it flushed can be read.
    """

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        handed_over = super().force_flush(timeout_millis)
        return self.span_exporter.force_flush(timeout_millis or 30_000) and handed_over


def batch_processor(exporter: SpanExporter) -> BatchSpanProcessor:
    settings = {
        arg: default for env, (arg, default) in BATCH_DEFAULTS.items() if env not in os.environ
    }
    return FlushingBatchSpanProcessor(exporter, **settings)


def span_processors(db: str | os.PathLike[str] | None = None) -> list[SpanProcessor]:
    """Processors for the exporters ``OTEL_TRACES_EXPORTER`` names (default: sqlite)."""
    processors: list[SpanProcessor] = []
    for name in exporter_names():
        if name == "none":
            continue
        if name == DEFAULT_EXPORTER:
            exporter = SQLiteSpanExporter(db)
            processors.append(InFlightSpanProcessor(exporter))
        else:
            exporter = load_exporter(name)
        processors.append(batch_processor(exporter))
    return processors


def build_provider(
    db: str | os.PathLike[str] | None = None, resource: Resource | None = None
) -> TracerProvider:
    provider = TracerProvider(resource=resource or Resource.create())
    for processor in span_processors(db):
        provider.add_span_processor(processor)
    return provider
