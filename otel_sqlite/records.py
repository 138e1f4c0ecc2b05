"""The plain span record: what every writer hands the store.

The SDK exporter, ``exec``, ``run end``, ``import`` and ``serve`` all translate their input
into these records, so there is exactly one write path and the store never sees an SDK object.
Ids are lower-case hex (32 / 16 characters), times integer nanoseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Scalar = str | bool | int | float | bytes
AttributeValue = Scalar | Sequence[Scalar] | Mapping[str, object] | None
Attributes = Mapping[str, AttributeValue]

SPAN_KINDS = ("internal", "server", "client", "producer", "consumer")
STATUS_UNSET, STATUS_OK, STATUS_ERROR = "UNSET", "OK", "ERROR"


@dataclass(frozen=True)
class ResourceRecord:
    attributes: Attributes = field(default_factory=dict)
    schema_url: str = ""
    dropped_attributes_count: int = 0


@dataclass(frozen=True)
class ScopeRecord:
    name: str = ""
    version: str = ""
    schema_url: str = ""
    attributes: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class EventRecord:
    name: str
    time_ns: int
    attributes: Attributes = field(default_factory=dict)
    dropped_attributes_count: int = 0


@dataclass(slots=True)
class LinkRecord:
    trace_id: str
    span_id: str
    trace_state: str = ""
    attributes: Attributes = field(default_factory=dict)
    flags: int = 0
    dropped_attributes_count: int = 0


@dataclass(slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    name: str
    start_ns: int
    end_ns: int | None = None
    parent_span_id: str | None = None
    kind: str = "internal"
    status_code: str = STATUS_UNSET
    status_message: str = ""
    attributes: Attributes = field(default_factory=dict)
    events: Sequence[EventRecord] = ()
    links: Sequence[LinkRecord] = ()
    resource: ResourceRecord = field(default_factory=ResourceRecord)
    scope: ScopeRecord = field(default_factory=ScopeRecord)
    trace_state: str = ""
    trace_flags: int = 1
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0
