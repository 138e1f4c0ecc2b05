"""The exporter's public home: ``from otel_sqlite.exporter import SQLiteSpanExporter``.

The ``sqlite`` entry point of ``opentelemetry_traces_exporter`` names this module, and SDK users
import from it; the implementation lives in ``otel_sqlite.sdk.exporter``.
"""

from otel_sqlite.sdk.exporter import InFlightSpanProcessor, SQLiteSpanExporter

__all__ = ["InFlightSpanProcessor", "SQLiteSpanExporter"]
