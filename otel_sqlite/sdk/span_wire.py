"""SDK spans as plain tuples (``pack``) and those tuples as span records (``unpack``).

The exporter's thread shares the GIL with the application creating spans, so it does the least
it can: it copies out what each span holds, unformatted (integer ids, enum values, the
attribute dicts themselves), into tuples that ``marshal`` carries to the writer process
(``otel_sqlite.sdk.writer_process``), where ``unpack`` turns them into ``SpanRecord``s. The exporter
writing in its own process goes through the same two steps, so there is one translation.

A batch is ``(resources, scopes, spans)``: each distinct resource and scope once, and each span
naming them by index. Nothing here imports the SDK (the writer process never loads it); the
SDK's objects are read through their public properties, except where a property copies what
it returns through slow Python-level code (``_plain``, ``_items``).
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from otel_sqlite.records import (
    SPAN_KINDS,
    EventRecord,
    LinkRecord,
    ResourceRecord,
    ScopeRecord,
    SpanRecord,
)

# StatusCode's values, in order (UNSET 0, OK 1, ERROR 2); SPAN_KINDS is SpanKind's.
STATUS_CODES = ("UNSET", "OK", "ERROR")

Batch = tuple[list[tuple], list[tuple], list[tuple]]


def _plain(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """The SDK's attributes as a dict, not a copy where it can be helped.

    ``BoundedAttributes`` is a ``MutableMapping`` whose generic ``dict()`` conversion costs more
    than the rest of a span's packing; its backing dict is handed over as it is. Nothing
    changes it while it is packed: a finished span's attributes are frozen, and ``marshal``
    copies a dict in one C call, during which no other thread runs.
    """
    if not attributes:
        return _NO_ATTRIBUTES
    inner = getattr(attributes, "_dict", None)
    return inner if isinstance(inner, dict) else dict(attributes)


_NO_ATTRIBUTES: dict[str, Any] = {}


def _items(span: Any, name: str) -> Sequence[Any]:
    """A span's events or links. The public properties copy a ``BoundedList`` through its
    Python-level iterator under a lock; the deque behind it is read directly (the span has
    ended, or, in flight, is read on the thread that would change it)."""
    bounded = getattr(span, f"_{name}", None)
    items = getattr(bounded, "_dq", None)
    return items if items is not None else getattr(span, name)


def _trace_state(context: Any) -> str:
    return context.trace_state.to_header() if context.trace_state else ""


def pack(spans: Sequence[Any]) -> Batch:
    """SDK ``ReadableSpan``s (finished, or in flight) as one batch of plain tuples.

    The application's garbage collector runs once so many container objects have been
    allocated and not freed; a span's packing allocates as few as it can (its tuple, and a
    tuple per event), because every collection also walks the spans still queued.
    """
    resources: list[tuple] = []
    scopes: list[tuple] = []
    # Spans share their resource and scope objects: index each object once per batch.
    resource_index: dict[int, int] = {}
    scope_index: dict[int, int] = {}
    packed: list[tuple] = []
    append = packed.append
    for span in spans:
        resource = span.resource
        r = resource_index.get(id(resource))
        if r is None:
            r = resource_index[id(resource)] = len(resources)
            resources.append((_plain(resource.attributes), resource.schema_url or ""))
        scope = span.instrumentation_scope
        s = scope_index.get(id(scope))
        if s is None:
            s = scope_index[id(scope)] = len(scopes)
            scopes.append(
                (scope.name, scope.version or "", scope.schema_url or "", _plain(scope.attributes))
                if scope is not None else ("", "", "", {})
            )
        context = span.context
        parent = span.parent
        status = span.status
        events = _items(span, "events")
        links = _items(span, "links")
        append((
            context.trace_id, context.span_id, parent.span_id if parent is not None else None,
            span.name, span.kind.value, span.start_time or 0, span.end_time,
            status.status_code.value, status.description or "",
            # ``attributes`` wraps the BoundedAttributes in a MappingProxyType, whose copy goes
            # through the generic Mapping protocol; read what it wraps.
            _plain(getattr(span, "_attributes", None) or span.attributes),
            tuple([(e.name, e.timestamp, _plain(e.attributes), e.dropped_attributes)
                   for e in events]) if events else (),
            tuple([(link.context.trace_id, link.context.span_id, _trace_state(link.context),
                    _plain(link.attributes), int(link.context.trace_flags),
                    link.dropped_attributes)
                   for link in links]) if links else (),
            r, s, _trace_state(context), int(context.trace_flags),
            span.dropped_attributes, span.dropped_events, span.dropped_links,
        ))
    return resources, scopes, packed


def _record(make: Any, row: tuple, known: dict[bytes, Any] | None) -> Any:
    if known is None:
        return make(*row)
    key = marshal.dumps(row)
    record = known.get(key)
    if record is None:
        if len(known) >= _MAX_KNOWN:
            known.clear()
        record = known[key] = make(*row)
    return record


# Resource and scope records ``unpack`` remembers at most.
_MAX_KNOWN = 256


def pack_parts(spans: Sequence[Any], size: int) -> Iterator[Batch]:
    """``pack``, a part of at most ``size`` spans at a time (one, empty, for no spans): the
    writer process stores each part while the next is packed."""
    for start in range(0, max(len(spans), 1), size):
        yield pack(spans[start:start + size])


def unpack(batch: Batch, known: dict[bytes, Any] | None = None) -> list[SpanRecord]:
    """The span records of a packed batch. With ``known``, a resource or scope seen in an
    earlier batch is the same record object (the store looks each object up once): a batch
    of one span each, as SimpleSpanProcessor sends, would otherwise cost a lookup per span."""
    resource_rows, scope_rows, packed = batch
    resources = [_record(ResourceRecord, row, known) for row in resource_rows]
    scopes = [_record(ScopeRecord, row, known) for row in scope_rows]
    return [
        SpanRecord(
            trace_id=f"{trace_id:032x}",
            span_id=f"{span_id:016x}",
            parent_span_id=f"{parent:016x}" if parent is not None else None,
            name=name,
            kind=SPAN_KINDS[kind],
            start_ns=start,
            end_ns=end,
            status_code=STATUS_CODES[status],
            status_message=message,
            attributes=attributes,
            events=[EventRecord(*event) for event in events],
            links=[
                LinkRecord(f"{link[0]:032x}", f"{link[1]:016x}", *link[2:]) for link in links
            ],
            resource=resources[r],
            scope=scopes[s],
            trace_state=trace_state,
            trace_flags=flags,
            dropped_attributes_count=dropped_attributes,
            dropped_events_count=dropped_events,
            dropped_links_count=dropped_links,
        )
        for (trace_id, span_id, parent, name, kind, start, end, status, message, attributes,
             events, links, r, s, trace_state, flags, dropped_attributes, dropped_events,
             dropped_links) in packed
    ]
