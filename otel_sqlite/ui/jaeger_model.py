"""Stored spans in the shapes Jaeger's query API answers with: the UI's JSON model (``/api``)
and OTLP/JSON (``/api/v3``).

Pure translation, written as Jaeger's own chain writes it: the OpenTelemetry Collector's
OTLP -> Jaeger translator (``pkg/translator/jaeger``: scope, kind, status, error and trace
state become tags, events become logs with an ``event`` field, the parent a CHILD_OF
reference first, links FOLLOWS_FROM references, the resource a process), then Jaeger's UI
model (microseconds, ``p1``/``p2`` process ids, integers beyond JavaScript's safe range as
strings, bytes as base64).

A span still in flight has no end: it is given the time so far as its duration and a warning
that says so (Jaeger's ``warnings`` in the UI model, its ``@jaeger@warnings`` attribute in
OTLP), so a viewer never draws a negative or zero bar for a running step.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from otel_sqlite.conventions import SERVICE_NAME
from otel_sqlite.otlp.codec import records_to_request, request_to_dict
from otel_sqlite.queries.jaeger import (
    NO_SERVICE_NAME,
    TAG_ERROR,
    TAG_EVENT,
    TAG_SCOPE_NAME,
    TAG_SCOPE_VERSION,
    TAG_SPAN_KIND,
    TAG_STATUS_CODE,
    TAG_STATUS_DESCRIPTION,
    TAG_TRACE_STATE,
    TraceSummary,
)
from otel_sqlite.records import STATUS_ERROR, STATUS_OK, AttributeValue, SpanRecord
from otel_sqlite.storage import values

IN_FLIGHT_WARNING = (
    "span still in flight: no end recorded yet, so its duration is the time so far "
    "(until this answer)"
)
# What Jaeger's clock-skew adjuster says of a span whose parent is not in the trace.
MISSING_PARENT_WARNING = "invalid parent span IDs={}; skipping clock skew adjustment"
# Where Jaeger keeps a span's warnings in OTLP (``jptrace.WarningsAttribute``).
WARNINGS_ATTRIBUTE = "@jaeger@warnings"
# A link carrying this attribute with "child_of" is a CHILD_OF reference (OpenTracing).
REF_TYPE_ATTRIBUTE = "opentracing.ref_type"
CHILD_OF, FOLLOWS_FROM = "CHILD_OF", "FOLLOWS_FROM"
_JS_MAX_SAFE_INTEGER = 2**53 - 1


def envelope(data: Any, total: int = 0) -> dict[str, Any]:
    """Jaeger's ``structuredResponse`` around ``data``."""
    return {"data": data, "total": total, "limit": 0, "offset": 0, "errors": None}


def error_envelope(code: int, message: str) -> dict[str, Any]:
    """Jaeger's ``structuredResponse`` for a failed request."""
    return {"data": None, "total": 0, "limit": 0, "offset": 0,
            "errors": [{"code": code, "msg": message}]}


def v3_error(code: int, message: str) -> dict[str, Any]:
    """Jaeger's ``GRPCGatewayError``, the error body of every ``/api/v3`` route."""
    return {"error": {"httpCode": code, "message": message}}


def tag(key: str, value: AttributeValue) -> dict[str, Any]:
    """One typed Jaeger tag (``string``, ``bool``, ``int64``, ``float64``, ``binary``);
    arrays and maps become their JSON text, as the Collector's translator writes them."""
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        shown: Any = value if abs(value) <= _JS_MAX_SAFE_INTEGER else str(value)
        return {"key": key, "type": "int64", "value": shown}
    if isinstance(value, float):
        if math.isfinite(value):
            return {"key": key, "type": "float64", "value": value}
        return {"key": key, "type": "string", "value": repr(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"key": key, "type": "binary",
                "value": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, str):
        return {"key": key, "type": "string", "value": value}
    return {"key": key, "type": "string", "value": "" if value is None else values.to_json(value)}


def _tags(attributes: Mapping[str, AttributeValue]) -> list[dict[str, Any]]:
    return [tag(key, value) for key, value in attributes.items()]


def _span_tags(record: SpanRecord) -> list[dict[str, Any]]:
    tags = []
    if record.scope.name:
        tags.append(tag(TAG_SCOPE_NAME, record.scope.name))
    if record.scope.version:
        tags.append(tag(TAG_SCOPE_VERSION, record.scope.version))
    tags += _tags(record.attributes)
    tags.append(tag(TAG_SPAN_KIND, record.kind))
    if record.status_code in (STATUS_OK, STATUS_ERROR):
        tags.append(tag(TAG_STATUS_CODE, record.status_code))
    if record.status_code == STATUS_ERROR:
        tags.append(tag(TAG_ERROR, True))
    if record.status_message:
        tags.append(tag(TAG_STATUS_DESCRIPTION, record.status_message))
    if record.trace_state:
        tags.append(tag(TAG_TRACE_STATE, record.trace_state))
    return tags


def _references(record: SpanRecord) -> list[dict[str, str]]:
    """The parent first (CHILD_OF), then links (FOLLOWS_FROM unless the link says
    ``child_of``); a link to the parent itself only retypes the parent's reference."""
    refs = []
    if record.parent_span_id:
        refs.append({"refType": CHILD_OF, "traceID": record.trace_id,
                     "spanID": record.parent_span_id})
    for link in record.links:
        ref_type = CHILD_OF if link.attributes.get(REF_TYPE_ATTRIBUTE) == "child_of" \
            else FOLLOWS_FROM
        if record.parent_span_id and (link.trace_id, link.span_id) == (
                record.trace_id, record.parent_span_id):
            refs[0]["refType"] = ref_type
            continue
        refs.append({"refType": ref_type, "traceID": link.trace_id, "spanID": link.span_id})
    return refs


def _logs(record: SpanRecord) -> list[dict[str, Any]]:
    logs = []
    for event in record.events:
        fields = []
        if event.name and TAG_EVENT not in event.attributes:
            fields.append(tag(TAG_EVENT, event.name))
        logs.append({"timestamp": event.time_ns // 1000,
                     "fields": fields + _tags(event.attributes)})
    return logs


def _end_ns(record: SpanRecord, now_ns: int) -> tuple[int, list[str]]:
    if record.end_ns is None:
        return max(now_ns, record.start_ns), [IN_FLIGHT_WARNING]
    return record.end_ns, []


def _process(record: SpanRecord) -> dict[str, Any]:
    attributes = record.resource.attributes
    name = attributes.get(SERVICE_NAME)
    return {
        "serviceName": name if isinstance(name, str) and name else NO_SERVICE_NAME,
        "tags": [tag(key, value) for key, value in attributes.items() if key != SERVICE_NAME],
    }


def trace_json(trace_id: str, records: Sequence[SpanRecord], now_ns: int) -> dict[str, Any]:
    """One trace in Jaeger's UI model; each distinct resource is one process."""
    processes: dict[str, str] = {}
    process_json: dict[str, dict[str, Any]] = {}
    spans = []
    present = {record.span_id for record in records}
    for record in records:
        key = values.to_json([sorted(record.resource.attributes.items())])
        if key not in processes:
            processes[key] = f"p{len(processes) + 1}"
            process_json[processes[key]] = _process(record)
        end_ns, warnings = _end_ns(record, now_ns)
        if record.parent_span_id and record.parent_span_id not in present:
            warnings.append(MISSING_PARENT_WARNING.format(record.parent_span_id))
        span = {
            "traceID": record.trace_id,
            "spanID": record.span_id,
            "operationName": record.name,
            "references": _references(record),
            "startTime": record.start_ns // 1000,
            "duration": (end_ns - record.start_ns) // 1000,
            "tags": _span_tags(record),
            "logs": _logs(record),
            "processID": processes[key],
            "warnings": warnings or None,
        }
        if record.trace_flags:
            span["flags"] = record.trace_flags
        spans.append(span)
    return {"traceID": trace_id, "spans": spans, "processes": process_json, "warnings": None}


def summary_json(summary: TraceSummary) -> dict[str, Any]:
    """A ``TraceSummary`` as Jaeger's gateway writes it: 64-bit times as strings, zero counts
    left out."""
    shown: dict[str, Any] = {
        "traceId": summary.trace_id,
        "rootServiceName": summary.root_service,
        "rootOperationName": summary.root_operation,
        "minStartTimeUnixNano": str(summary.start_ns),
        "maxEndTimeUnixNano": str(summary.end_ns),
        "spanCount": summary.spans,
        "errorSpanCount": summary.errors,
        "orphanSpanCount": summary.orphans,
        "services": [{"name": name, "spanCount": spans, "errorSpanCount": errors}
                     for name, (spans, errors) in sorted(summary.services.items())],
    }
    for service in shown["services"]:
        if not service["errorSpanCount"]:
            del service["errorSpanCount"]
    return {key: value for key, value in shown.items() if value not in (0, "")}


def otlp_traces(records: Sequence[SpanRecord], now_ns: int) -> dict[str, Any]:
    """Spans as the OTLP/JSON ``TracesData`` of ``/api/v3`` (hex ids, integer enums)."""
    shown = []
    for record in records:
        end_ns, warnings = _end_ns(record, now_ns)
        if warnings:
            record = dataclasses.replace(
                record, end_ns=end_ns,
                attributes={**record.attributes, WARNINGS_ATTRIBUTE: warnings})
        shown.append(record)
    return request_to_dict(records_to_request(shown))
