"""Bounds on what one span may store, applied in the one write path so every writer gets them.

Hostile or runaway input (a 10 MB attribute, ten thousand attributes, an argv with bytes that
are not UTF-8) must neither bloat the database nor make a whole batch fail. Nothing is cut
silently:

- a string value longer than MAX_VALUE_CHARS (bytes: MAX_VALUE_CHARS bytes) keeps its first
  MAX_VALUE_CHARS; an array keeps elements while their total fits; a map whose JSON is too long
  is stored as the first MAX_VALUE_CHARS of that JSON, as a string. Each cut is named in the
  span's ``harness.truncated`` attribute (``attributes.<key>``, ``name``, ``status_message``,
  ``events.<n>.name``, ``events.<n>.attributes.<key>``, ``links.<n>.attributes.<key>``);
- past MAX_ATTRIBUTES attributes (per span, event or link), MAX_EVENTS events or MAX_LINKS
  links the rest is dropped and counted in the OTel ``dropped_*_count`` fields, as the SDK's
  own limits do; so is an attribute whose key is longer than MAX_KEY_CHARS;
- names longer than MAX_NAME_CHARS keep their first MAX_NAME_CHARS characters (marked);
- a lone surrogate (how Python carries bytes that are not UTF-8, e.g. in ``sys.argv``) cannot be
  stored as text and becomes U+FFFD; that is a repair, not a cut, and is not marked.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from otel_sqlite.conventions import HARNESS_TRUNCATED
from otel_sqlite.records import Attributes, AttributeValue, EventRecord, LinkRecord, SpanRecord
from otel_sqlite.storage import values

MAX_VALUE_CHARS = 256 * 1024
MAX_NAME_CHARS = 4096
MAX_KEY_CHARS = 1024
MAX_ATTRIBUTES = 1024
MAX_EVENTS = 1024
MAX_LINKS = 1024

_SURROGATE = re.compile("[\ud800-\udfff]")
# Keys repeat across spans: once a key has passed the checks, later spans skip them.
_GOOD_KEYS: set[str] = set()
_GOOD_KEYS_MAX = 65_536
_PLAIN = (int, float, bool, type(None))


def _clean_text(text: str) -> str:
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _text_fits(text: str, limit: int) -> bool:
    """Within ``limit`` characters and free of lone surrogates (``isascii`` is O(1))."""
    return len(text) <= limit and (text.isascii() or _SURROGATE.search(text) is None)


def _size(item: object) -> int:
    """What an array element costs against the budget: its length, or its JSON's."""
    if isinstance(item, (str, bytes, bytearray)):
        return len(item)
    if isinstance(item, _PLAIN):
        return 8
    return len(values.to_json(item))


def _value_fits(value: AttributeValue) -> bool:
    kind = type(value)
    if kind is str:
        return _text_fits(value, MAX_VALUE_CHARS)  # type: ignore[arg-type]
    if kind in _PLAIN:
        return True
    if kind is bytes:
        return len(value) <= MAX_VALUE_CHARS  # type: ignore[arg-type]
    if kind is tuple or kind is list:
        total = 0
        for item in value:  # type: ignore[union-attr]
            item_kind = type(item)
            if item_kind is str:
                if not (item.isascii() or _SURROGATE.search(item) is None):
                    return False
                total += len(item)
            elif item_kind in _PLAIN:
                total += 8
            else:
                break  # nested or bytes: the general check below
        else:
            return total <= MAX_VALUE_CHARS
    try:
        if isinstance(value, Mapping):
            return _text_fits(values.to_json(dict(value)), MAX_VALUE_CHARS)
        if isinstance(value, (list, tuple)):
            return sum(map(_size, value)) <= MAX_VALUE_CHARS and all(
                _text_fits(item, MAX_VALUE_CHARS) for item in value if isinstance(item, str)
            ) and all(_value_fits(item) for item in value if not isinstance(item, str))
    except (RecursionError, ValueError):
        pass
    return False


def _attributes_fit(attributes: Attributes) -> bool:
    # Inlined checks: this runs for every attribute of every span, on the exporter's hot path.
    if len(attributes) > MAX_ATTRIBUTES:
        return False
    search = _SURROGATE.search
    for key, value in attributes.items():
        if key not in _GOOD_KEYS:
            if len(key) > MAX_KEY_CHARS or not (key.isascii() or search(key) is None):
                return False
            if len(_GOOD_KEYS) < _GOOD_KEYS_MAX:
                _GOOD_KEYS.add(key)
        kind = type(value)
        if kind is str:
            if len(value) > MAX_VALUE_CHARS or not (value.isascii() or search(value) is None):
                return False
        elif kind not in _PLAIN and not _value_fits(value):
            return False
    return True


def _fits(record: SpanRecord) -> bool:
    """Cheap check of the common case: nothing in ``record`` needs cutting or repair."""
    if not (
        _text_fits(record.name, MAX_NAME_CHARS)
        and _text_fits(record.status_message, MAX_VALUE_CHARS)
        and len(record.events) <= MAX_EVENTS
        and len(record.links) <= MAX_LINKS
        and _attributes_fit(record.attributes)
    ):
        return False
    for event in record.events:
        if not (_text_fits(event.name, MAX_NAME_CHARS) and _attributes_fit(event.attributes)):
            return False
    for link in record.links:
        if not _attributes_fit(link.attributes):
            return False
    return True


def bound_value(value: AttributeValue) -> tuple[AttributeValue, bool]:
    """``(value within the limits, whether anything was cut)``; lone surrogates repaired."""
    if isinstance(value, str):
        cut = len(value) > MAX_VALUE_CHARS
        return _clean_text(value[:MAX_VALUE_CHARS]), cut
    if isinstance(value, (bytes, bytearray)):
        return bytes(value[:MAX_VALUE_CHARS]), len(value) > MAX_VALUE_CHARS
    if isinstance(value, _PLAIN):
        return value, False
    if isinstance(value, Mapping):
        try:
            text = values.to_json(dict(value))
        except (RecursionError, ValueError):
            return "(map nested too deeply to store)", True
        if _text_fits(text, MAX_VALUE_CHARS):
            return value, False
        if len(text) <= MAX_VALUE_CHARS:
            return _bound_items(value)
        return _clean_text(text[:MAX_VALUE_CHARS]), True
    if isinstance(value, Sequence):
        return _bound_items(value)
    return bound_value(str(value))


def _bound_items(value: Sequence | Mapping) -> tuple[AttributeValue, bool]:
    """An array kept while the total size of its elements fits (a map: each value bounded)."""
    if isinstance(value, Mapping):
        kept: dict[str, Any] = {}
        cut = False
        for key, item in value.items():
            kept[_clean_text(str(key))], item_cut = bound_value(item)
            cut = cut or item_cut
        return kept, cut
    items: list[Any] = []
    budget = MAX_VALUE_CHARS
    for item in value:
        size = _size(item)
        if size > budget:
            if isinstance(item, (str, bytes, bytearray)) and budget > 0:
                items.append(bound_value(item[:budget])[0])
            return items, True
        budget -= size
        items.append(bound_value(item)[0])
    return items, False


def bound_attributes(
    attributes: Attributes, where: str, cuts: list[str]
) -> tuple[dict[str, AttributeValue], int]:
    """The attributes within the limits, and how many were dropped; cut keys go in ``cuts``."""
    kept: dict[str, AttributeValue] = {}
    dropped = 0
    for key, value in attributes.items():
        if len(kept) >= MAX_ATTRIBUTES or len(key) > MAX_KEY_CHARS:
            dropped += 1
            continue
        key = _clean_text(key)
        kept[key], cut = bound_value(value)
        if cut:
            cuts.append(f"{where}{key}")
    return kept, dropped


def _name(name: str, where: str, cuts: list[str]) -> str:
    if len(name) > MAX_NAME_CHARS:
        cuts.append(where)
    return _clean_text(name[:MAX_NAME_CHARS])


def _with_bounded_attributes(
    part: EventRecord | LinkRecord, where: str, cuts: list[str], **changes: Any
) -> Any:
    attributes, dropped = bound_attributes(part.attributes, f"{where}attributes.", cuts)
    return dataclasses.replace(
        part, attributes=attributes,
        dropped_attributes_count=part.dropped_attributes_count + dropped, **changes,
    )


def bounded(record: SpanRecord) -> SpanRecord:
    """``record`` itself when it is within every limit (the common case), else a bounded copy
    whose ``harness.truncated`` attribute names everything that was cut."""
    if _fits(record):
        return record
    cuts: list[str] = []
    name = _name(record.name, "name", cuts)
    status_message, cut = bound_value(record.status_message)
    if cut:
        cuts.append("status_message")
    events = [
        _with_bounded_attributes(
            event, f"events.{number}.", cuts, name=_name(event.name, f"events.{number}.name", cuts)
        )
        for number, event in enumerate(record.events[:MAX_EVENTS])
    ]
    links = [
        _with_bounded_attributes(link, f"links.{number}.", cuts)
        for number, link in enumerate(record.links[:MAX_LINKS])
    ]
    attributes, dropped = bound_attributes(record.attributes, "attributes.", cuts)
    if cuts:
        earlier = attributes.get(HARNESS_TRUNCATED)
        attributes[HARNESS_TRUNCATED] = [
            *(earlier if isinstance(earlier, list) else []), *cuts
        ]
    return dataclasses.replace(
        record,
        name=name,
        status_message=str(status_message),
        attributes=attributes,
        events=events,
        links=links,
        dropped_attributes_count=record.dropped_attributes_count + dropped,
        dropped_events_count=record.dropped_events_count + len(record.events) - len(events),
        dropped_links_count=record.dropped_links_count + len(record.links) - len(links),
    )
