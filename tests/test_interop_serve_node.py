"""The official Node.js OTLP exporters (http/json, http/protobuf, grpc; gzip on and off) into
``serve``: every span stored as the sender's SDK saw it.

The Node HTTP exporters send ``Transfer-Encoding: chunked``, which is why they are here."""

from __future__ import annotations

import threading

import pytest
from interop_support import served
from node_support import node_modules, send_spans
from test_interop_serve import stored


def typed(value: object) -> object:
    """A value with every scalar's type beside it: 1 and 1.0 differ, as OTLP's int and
    double do."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


@pytest.fixture(scope="module")
def modules():
    return node_modules()


@pytest.mark.parametrize("compression", ["none", "gzip"])
@pytest.mark.parametrize("protocol", ["http", "proto", "grpc"])
def test_the_official_node_exporters_store_every_span_the_sdk_saw(
    tmp_path, modules, protocol, compression
):
    with served(tmp_path / "served.db") as (_, said):
        url = said["OTLP/gRPC"] if protocol == "grpc" else said["OTLP/HTTP"]
        seen = send_spans(modules, protocol, url, compression)
    received = {(r.trace_id, r.span_id): r for r in stored(tmp_path / "served.db")}
    assert len(received) == len(seen) == 4
    for span in seen:
        record = received[span["trace_id"], span["span_id"]]
        assert (record.parent_span_id, record.name, record.kind) == (
            span["parent_span_id"], span["name"], span["kind"])
        assert (record.start_ns, record.end_ns) == (int(span["start_ns"]), int(span["end_ns"]))
        assert (record.status_code, record.status_message) == (
            span["status_code"], span["status_message"])
        assert typed(record.attributes) == typed(span["attributes"])
        assert [(e.name, e.time_ns, typed(e.attributes)) for e in record.events] == [
            (e["name"], int(e["time_ns"]), typed(e["attributes"])) for e in span["events"]]
        assert [(link.trace_id, link.span_id, typed(link.attributes))
                for link in record.links] == [
            (link["trace_id"], link["span_id"], typed(link["attributes"]))
            for link in span["links"]]
        assert dict(record.resource.attributes) == span["resource"]
        assert [record.scope.name, record.scope.version] == span["scope"]


def test_node_and_python_senders_at_once_into_one_serve(tmp_path, modules):
    from interop_support import provider
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    with served(tmp_path / "served.db") as (_, said):
        node_spans: list[dict] = []
        node = threading.Thread(target=lambda: node_spans.extend(
            send_spans(modules, "proto", said["OTLP/HTTP"], "gzip")))
        node.start()
        python = provider(OTLPSpanExporter(endpoint=said["OTLP/gRPC"], insecure=True))
        for n in range(20):
            python.get_tracer("python").start_span(f"python {n}").end()
        python.shutdown()
        node.join(timeout=60)
    names = sorted(r.name for r in stored(tmp_path / "served.db"))
    assert names == sorted([s["name"] for s in node_spans] + [f"python {n}" for n in range(20)])
