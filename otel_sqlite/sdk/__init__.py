"""The OTel SDK side: the SpanExporter, the in-flight processor, the writer process, and the
TracerProvider built from the standard ``OTEL_*`` environment.

The only layer (with ``capture`` when another exporter is asked for) that imports the SDK.
"""
