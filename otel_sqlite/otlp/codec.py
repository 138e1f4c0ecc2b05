"""Span records <-> OTLP ``ExportTraceServiceRequest``, in protobuf and in OTLP/JSON.

Pure functions over the official ``opentelemetry-proto`` messages: no IO, no hand-written wire
format. Protobuf's own JSON mapping differs from OTLP/JSON in two ways the spec spells out,
and both are handled here: trace and span ids are hex (protobuf would write base64), and enums
are integers (protobuf would write their names). 64-bit integers (``intValue``, times) are
strings, as protobuf writes them; a reader accepts numbers too.

What OTLP carries that we do not store: a span's ``is_remote`` bits (``flags`` bits 8-9) and
``SPAN_KIND_UNSPECIFIED`` (read as internal). A span that reached an exporter was sampled, so
the sampled bit is set on read even when the sender left bits 0-7 at zero, as the Python OTLP
exporter does. An in-flight span (no end yet) travels with ``end_time_unix_nano`` 0.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from otel_sqlite.errors import OtlpError
from otel_sqlite.records import (
    SPAN_KINDS,
    Attributes,
    AttributeValue,
    EventRecord,
    LinkRecord,
    ResourceRecord,
    ScopeRecord,
    SpanRecord,
)
from otel_sqlite.storage import values

# SPAN_KIND_INTERNAL = 1 ... SPAN_KIND_CONSUMER = 5, in the order of records.SPAN_KINDS.
_KIND_TO_OTLP = {name: number for number, name in enumerate(SPAN_KINDS, start=1)}
_OTLP_TO_KIND = {number: name for name, number in _KIND_TO_OTLP.items()}
_STATUS_TO_OTLP = {"UNSET": Status.STATUS_CODE_UNSET, "OK": Status.STATUS_CODE_OK,
                   "ERROR": Status.STATUS_CODE_ERROR}
_OTLP_TO_STATUS = {number: name for name, number in _STATUS_TO_OTLP.items()}
_TRACE_FLAGS_MASK = 0xFF
_SAMPLED = 0x01
# The bytes fields OTLP/JSON writes as hex, by the message that holds them.
_SPAN_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_LINK_ID_FIELDS = ("traceId", "spanId")
_SNAKE = {"traceId": "trace_id", "spanId": "span_id", "parentSpanId": "parent_span_id"}
MEDIA_PROTOBUF = "application/x-protobuf"
MEDIA_JSON = "application/json"
M = TypeVar("M", bound=Message)
_SCALAR_FIELDS = frozenset(
    {"string_value", "bool_value", "int_value", "double_value", "bytes_value"}
)


class Rejected(OtlpError):
    """One span of a request that cannot be stored; the rest of the request still is."""


# --- attribute values -------------------------------------------------------------------


def encode_value(value: AttributeValue, into: AnyValue | None = None) -> AnyValue:
    """One attribute value as an ``AnyValue``; ``None`` is the empty AnyValue."""
    out = AnyValue() if into is None else into
    if value is None:
        return out
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, (bytes, bytearray)):
        out.bytes_value = bytes(value)
    elif isinstance(value, Mapping):
        out.kvlist_value.SetInParent()
        _encode_attributes(value, out.kvlist_value.values)
    elif isinstance(value, (list, tuple)):
        out.array_value.SetInParent()
        for item in value:
            encode_value(item, out.array_value.values.add())
    else:
        out.string_value = str(value)
    return out


def decode_value(value: AnyValue) -> AttributeValue:
    """The Python value of an ``AnyValue`` (lists for arrays, dicts for kvlists)."""
    which = value.WhichOneof("value")
    if which in _SCALAR_FIELDS:
        return getattr(value, which)
    if which == "array_value":
        return [decode_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return _decode_attributes(value.kvlist_value.values)
    return None


def _encode_attributes(attributes: Attributes, into: Any) -> None:
    for key, value in attributes.items():
        encode_value(value, into.add(key=key).value)


def _decode_attributes(key_values: Iterable[KeyValue]) -> dict[str, AttributeValue]:
    decoded = {}
    for kv in key_values:  # scalars inline: this loop is most of what a receiver does
        value = kv.value
        which = value.WhichOneof("value")
        decoded[kv.key] = getattr(value, which) if which in _SCALAR_FIELDS else decode_value(value)
    return decoded


# --- records -> request -----------------------------------------------------------------


def _resource_key(resource: ResourceRecord) -> str:
    return values.to_json(
        [sorted(dict(resource.attributes).items()), resource.schema_url,
         resource.dropped_attributes_count]
    )


def _scope_key(scope: ScopeRecord) -> str:
    return values.to_json(
        [scope.name, scope.version, scope.schema_url, sorted(dict(scope.attributes).items())]
    )


def records_to_request(records: Iterable[SpanRecord]) -> ExportTraceServiceRequest:
    """One request holding ``records``, grouped by resource, then by scope, as OTLP wants."""
    request = ExportTraceServiceRequest()
    resources: dict[str, tuple[ResourceSpans, dict[str, ScopeSpans]]] = {}
    for record in records:
        rkey = _resource_key(record.resource)
        if rkey not in resources:
            resource_spans = request.resource_spans.add(schema_url=record.resource.schema_url)
            resource_spans.resource.dropped_attributes_count = (
                record.resource.dropped_attributes_count
            )
            _encode_attributes(record.resource.attributes, resource_spans.resource.attributes)
            resources[rkey] = (resource_spans, {})
        resource_spans, scopes = resources[rkey]
        skey = _scope_key(record.scope)
        if skey not in scopes:
            scope_spans = resource_spans.scope_spans.add(schema_url=record.scope.schema_url)
            scope_spans.scope.name = record.scope.name
            scope_spans.scope.version = record.scope.version
            _encode_attributes(record.scope.attributes, scope_spans.scope.attributes)
            scopes[skey] = scope_spans
        _encode_span(record, scopes[skey].spans.add())
    return request


def _hex_bytes(hex_id: str | None, length: int, what: str) -> bytes:
    if not hex_id:
        return b""
    try:
        raw = bytes.fromhex(hex_id)
    except ValueError:
        raise OtlpError(f"{what} {hex_id!r} is not hex") from None
    if len(raw) != length:
        raise OtlpError(f"{what} {hex_id!r} is not {length * 2} hex digits")
    return raw


def _encode_span(record: SpanRecord, span: Span) -> None:
    span.trace_id = _hex_bytes(record.trace_id, 16, "trace id")
    span.span_id = _hex_bytes(record.span_id, 8, "span id")
    span.parent_span_id = _hex_bytes(record.parent_span_id, 8, "parent span id")
    span.trace_state = record.trace_state
    span.flags = record.trace_flags & _TRACE_FLAGS_MASK
    span.name = record.name
    span.kind = _KIND_TO_OTLP.get(record.kind, Span.SPAN_KIND_INTERNAL)
    span.start_time_unix_nano = record.start_ns
    span.end_time_unix_nano = record.end_ns or 0
    _encode_attributes(record.attributes, span.attributes)
    span.dropped_attributes_count = record.dropped_attributes_count
    for event in record.events:
        out = span.events.add(
            time_unix_nano=event.time_ns, name=event.name,
            dropped_attributes_count=event.dropped_attributes_count,
        )
        _encode_attributes(event.attributes, out.attributes)
    span.dropped_events_count = record.dropped_events_count
    for link in record.links:
        out = span.links.add(
            trace_id=_hex_bytes(link.trace_id, 16, "link trace id"),
            span_id=_hex_bytes(link.span_id, 8, "link span id"),
            trace_state=link.trace_state, flags=link.flags & _TRACE_FLAGS_MASK,
            dropped_attributes_count=link.dropped_attributes_count,
        )
        _encode_attributes(link.attributes, out.attributes)
    span.dropped_links_count = record.dropped_links_count
    span.status.code = _STATUS_TO_OTLP.get(record.status_code, Status.STATUS_CODE_UNSET)
    span.status.message = record.status_message


# --- request -> records -----------------------------------------------------------------


def request_to_records(
    request: ExportTraceServiceRequest, rejected: list[str] | None = None
) -> list[SpanRecord]:
    """The records of every valid span in ``request``.

    A span with a missing or malformed id is left out; why goes to ``rejected`` when given
    (the receiver reports those as OTLP ``partial_success``), else it raises OtlpError.
    """
    records: list[SpanRecord] = []
    for resource_spans in request.resource_spans:
        resource = _decode_resource(resource_spans.resource, resource_spans.schema_url)
        for scope_spans in resource_spans.scope_spans:
            scope = _decode_scope(scope_spans.scope, scope_spans.schema_url)
            for span in scope_spans.spans:
                try:
                    records.append(_decode_span(span, resource, scope))
                except Rejected as exc:
                    if rejected is None:
                        raise
                    rejected.append(str(exc))
    return records


def _decode_resource(resource: Resource, schema_url: str) -> ResourceRecord:
    return ResourceRecord(
        _decode_attributes(resource.attributes), schema_url, resource.dropped_attributes_count
    )


def _decode_scope(scope: InstrumentationScope, schema_url: str) -> ScopeRecord:
    return ScopeRecord(scope.name, scope.version, schema_url, _decode_attributes(scope.attributes))


def _id_hex(raw: bytes, length: int, what: str, span_name: str) -> str:
    if len(raw) != length or not any(raw):
        raise Rejected(
            f"span {span_name!r}: {what} must be {length} bytes, not all zero "
            f"(got {len(raw)} bytes)"
        )
    return raw.hex()


def _decode_span(span: Span, resource: ResourceRecord, scope: ScopeRecord) -> SpanRecord:
    parent = None
    if any(span.parent_span_id):  # all zeros: some senders' way of saying "a root span"
        parent = _id_hex(span.parent_span_id, 8, "parent_span_id", span.name)
    return SpanRecord(
        trace_id=_id_hex(span.trace_id, 16, "trace_id", span.name),
        span_id=_id_hex(span.span_id, 8, "span_id", span.name),
        parent_span_id=parent,
        name=span.name,
        kind=_OTLP_TO_KIND.get(span.kind, "internal"),
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano or None,
        status_code=_OTLP_TO_STATUS.get(span.status.code, "UNSET"),
        status_message=span.status.message,
        attributes=_decode_attributes(span.attributes),
        events=[
            EventRecord(e.name, e.time_unix_nano, _decode_attributes(e.attributes),
                        e.dropped_attributes_count)
            for e in span.events
        ],
        links=[
            LinkRecord(
                _id_hex(link.trace_id, 16, "link trace_id", span.name),
                _id_hex(link.span_id, 8, "link span_id", span.name),
                link.trace_state, _decode_attributes(link.attributes),
                link.flags & _TRACE_FLAGS_MASK, link.dropped_attributes_count,
            )
            for link in span.links
        ],
        resource=resource,
        scope=scope,
        trace_state=span.trace_state,
        trace_flags=(span.flags & _TRACE_FLAGS_MASK) | _SAMPLED,
        dropped_attributes_count=span.dropped_attributes_count,
        dropped_events_count=span.dropped_events_count,
        dropped_links_count=span.dropped_links_count,
    )


# --- wire formats -----------------------------------------------------------------------


def parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    """A request from OTLP/protobuf bytes; OtlpError when they are not one."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise OtlpError(f"malformed OTLP protobuf: {exc}") from None
    return request


def _id_fields(document: Mapping[str, Any]) -> Iterator[tuple[dict, tuple[str, ...]]]:
    """Every (span or link object, its id field names) in an OTLP/JSON traces document."""
    for resource_spans in _list(document, "resourceSpans", "resource_spans"):
        for scope_spans in _list(resource_spans, "scopeSpans", "scope_spans"):
            for span in _list(scope_spans, "spans", "spans"):
                yield span, _SPAN_ID_FIELDS
                for link in _list(span, "links", "links"):
                    yield link, _LINK_ID_FIELDS


def _list(obj: Any, camel: str, snake: str) -> list:
    if not isinstance(obj, dict):
        raise OtlpError(f"expected a JSON object, got {type(obj).__name__}")
    found = obj.get(camel, obj.get(snake, []))
    if not isinstance(found, list):
        raise OtlpError(f"'{camel}' must be a JSON array")
    return found


def request_from_dict(document: dict[str, Any]) -> ExportTraceServiceRequest:
    """A request from a parsed OTLP/JSON document (hex ids, integer or named enums).

    The document is consumed: its ids are rewritten in place, which spares a copy per line
    when importing large files.
    """
    for obj, fields in _id_fields(document):
        for field in fields:
            for name in (field, _SNAKE[field]):
                hex_id = obj.get(name)
                if hex_id in (None, ""):
                    continue
                if not isinstance(hex_id, str):
                    raise OtlpError(f"'{field}' must be a hex string, got {hex_id!r}")
                try:
                    obj[name] = base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")
                except ValueError:
                    raise OtlpError(f"'{field}' {hex_id!r} is not hex") from None
    try:
        return json_format.ParseDict(
            document, ExportTraceServiceRequest(), ignore_unknown_fields=True
        )
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as exc:
        raise OtlpError(f"malformed OTLP JSON: {exc}") from None


def parse_json(text: str | bytes) -> ExportTraceServiceRequest:
    """A request from OTLP/JSON text; OtlpError when it is not one."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OtlpError(f"malformed JSON: {exc}") from None
    return request_from_dict(document)


def request_to_dict(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP/JSON object of a request: camelCase keys, hex ids, integer enums."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)
    for obj, fields in _id_fields(document):
        for field in fields:
            if field in obj:
                obj[field] = base64.b64decode(obj[field]).hex()
    return document


def request_to_json(request: ExportTraceServiceRequest) -> str:
    """One line of OTLP/JSON (the Collector's file exporter writes one request per line)."""
    return json.dumps(request_to_dict(request), ensure_ascii=False, separators=(",", ":"))


def response(rejected: list[str]) -> ExportTraceServiceResponse:
    """The receiver's answer: empty on success, ``partial_success`` when spans were left out."""
    answer = ExportTraceServiceResponse()
    if rejected:
        answer.partial_success.rejected_spans = len(rejected)
        answer.partial_success.error_message = "; ".join(rejected[:5]) + (
            f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
        )
    return answer


def encode_message(message: Message, as_json: bool) -> bytes:
    """A response or ``google.rpc.Status`` body in the request's format."""
    if as_json:
        return json_format.MessageToJson(message, use_integers_for_enums=True).encode()
    return message.SerializeToString()


def decode_message(message: M, body: bytes, content_type: str) -> M:
    """``message`` filled from a body in either format; an empty body leaves it empty."""
    if not body:
        return message
    try:
        if content_type.startswith(MEDIA_JSON):
            json_format.Parse(body, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except (DecodeError, json_format.ParseError, ValueError) as exc:
        raise OtlpError(f"malformed {type(message).__name__}: {exc}") from None
    return message


def error_status(message: str, retryable: bool = False) -> status_pb2.Status:
    """The ``google.rpc.Status`` OTLP/HTTP sends with every 4xx and 5xx answer."""
    code = code_pb2.UNAVAILABLE if retryable else code_pb2.INVALID_ARGUMENT
    return status_pb2.Status(code=code, message=message)
