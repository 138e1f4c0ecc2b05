"""Jaeger's query parameters, read the way Jaeger's query service reads them.

Go's duration strings (``1.2s``, ``100ms``, ``1h30m``; ``lookback`` also takes Jaeger UI's
``2d``/``7d``), times as integer microseconds (``start``, ``end``) or milliseconds (``endTs``,
``lookback`` of ``/api/dependencies``), RFC 3339 times with nanoseconds (``/api/v3``), search
tags as a JSON object (``tags``) or ``key:value`` pairs (``tag``), trace ids as hex (up to 32
digits, left-padded as Jaeger pads them) or base64. A value that does not parse raises
``ParamError`` naming the parameter: the API answers 400, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from calendar import timegm
from datetime import datetime

from otel_sqlite.errors import OtelSqliteError

Query = dict[str, list[str]]

_GO_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
                "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_LOOKBACK_UNITS_NS = {**_GO_UNITS_NS, "d": 86_400 * 10**9, "w": 7 * 86_400 * 10**9}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-fA-F]{1,32}")


class ParamError(OtelSqliteError):
    """A query parameter that does not parse, or parameters that contradict each other."""


def first(query: Query, *names: str) -> tuple[str | None, str]:
    """The first non-empty value among ``names`` (a canonical name, then its aliases), and the
    name it came from."""
    for name in names:
        for value in query.get(name, ()):
            if value.strip():
                return value.strip(), name
    return None, names[0]


def _units(text: str, units: dict[str, int], name: str) -> int:
    """Nanoseconds in a Go-style duration over ``units`` (a sign, then number-unit pairs)."""
    alternatives = "|".join(sorted(map(re.escape, units), key=len, reverse=True))
    part = re.compile(rf"({_NUMBER})({alternatives})")
    sign, body = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
    if body == "0":
        return 0
    if not body or not re.fullmatch(rf"(?:{part.pattern})+", body):
        raise ParamError(
            f"unable to parse param '{name}': {text!r} is not a duration "
            f"(a number and a unit among {', '.join(units)}, e.g. 1.2s, 100ms, 1h30m)")
    return sign * round(sum(float(number) * units[unit] for number, unit in part.findall(body)))


def duration_ns(query: Query, *names: str) -> int | None:
    """A Go duration (``minDuration=1.2s``) in nanoseconds, None when absent."""
    text, name = first(query, *names)
    return None if text is None else _units(text, _GO_UNITS_NS, name)


def lookback_ns(query: Query, name: str = "lookback") -> int | None:
    """Jaeger UI's ``lookback`` (``1h``, ``2d``; ``custom`` means start and end say it)."""
    text, _ = first(query, name)
    if text is None or text == "custom":
        return None
    return _units(text, _LOOKBACK_UNITS_NS, name)


def epoch_ns(query: Query, name: str, unit_ns: int) -> int | None:
    """An integer count of ``unit_ns`` since the epoch, in nanoseconds; None when absent."""
    text, _ = first(query, name)
    if text is None:
        return None
    try:
        return int(text) * unit_ns
    except ValueError:
        what = "microseconds" if unit_ns == 1_000 else "milliseconds"
        raise ParamError(
            f"unable to parse param '{name}': {text!r} is not a whole number of {what} "
            "since the epoch") from None


def whole_number(query: Query, *names: str, default: int, low: int = 0,
                 high: int = 1 << 62) -> int:
    """A whole number from the first of ``names`` present, else ``default``."""
    text, name = first(query, *names)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ParamError(f"unable to parse param '{name}': {text!r} is not a whole number") \
            from None
    if not low <= value <= high:
        raise ParamError(f"param '{name}' must be between {low} and {high}, not {value}")
    return value


def rfc3339_ns(query: Query, *names: str) -> int | None:
    """An RFC 3339 time with up to nanoseconds (``2026-01-31T08:00:00.123456789Z``)."""
    text, name = first(query, *names)
    if text is None:
        return None
    # a '+' offset left unescaped in a URL arrives as a space
    match = _RFC3339.fullmatch(re.sub(r" (\d\d:\d\d)$", r"+\1", text))
    try:
        if match is None:
            raise ValueError
        seconds = timegm(datetime.fromisoformat(match.group(1).upper()).timetuple())
    except ValueError:
        raise ParamError(
            f"malformed parameter {name}: {text!r} is not an RFC 3339 time "
            "(e.g. 2026-01-31T08:00:00Z)") from None
    zone = match.group(3).upper()
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (
        int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    fraction = int((match.group(2) or "0").ljust(9, "0"))
    return (seconds - offset) * 10**9 + fraction


def tags(query: Query, json_name: str = "tags", pairs_name: str | None = "tag") -> dict[str, str]:
    """Search tags from ``tag=key:value`` pairs and ``tags={"key": "value"}`` objects."""
    found: dict[str, str] = {}
    for pair in query.get(pairs_name, ()) if pairs_name else ():
        key, colon, value = pair.partition(":")
        if not colon:
            raise ParamError(
                f"malformed '{pairs_name}' parameter, expecting key:value, received: {pair}")
        found[key] = value
    for text in query.get(json_name, ()):
        if not text.strip():
            continue
        try:
            decoded = json.loads(text)
        except ValueError as exc:
            raise ParamError(
                f"malformed '{json_name}' parameter, cannot parse JSON: {exc}") from None
        if not isinstance(decoded, dict) or not all(
                isinstance(value, str) for value in decoded.values()):
            raise ParamError(
                f"malformed '{json_name}' parameter: expected a JSON object of strings, "
                f"e.g. {{\"http.status_code\": \"500\"}}, received: {text}")
        found.update(decoded)
    return found


def trace_id(text: str) -> str:
    """A trace id as the database keeps it (32 lower-case hex digits), from hex or base64."""
    if _HEX.fullmatch(text):
        return text.lower().rjust(32, "0")
    if len(text) <= 24:
        padded = text + "=" * (-len(text) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decode(padded.encode("ascii"))
            except (binascii.Error, ValueError, UnicodeEncodeError):
                continue
            if len(raw) == 16:
                return raw.hex()
    raise ParamError(f"malformed parameter trace ID: {text!r} is not a trace id "
                     "(up to 32 hex digits, or 16 bytes in base64)")
