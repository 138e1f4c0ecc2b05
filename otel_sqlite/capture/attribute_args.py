"""``KEY=VALUE`` attribute arguments (``--attr``), typed as OTel attributes are.

A value that reads as an integer is an int, as a decimal number a float, ``true`` / ``false``
(any case) a bool; anything else stays a string. Integers keep their text when they would not
fit SQLite's 64-bit integers or have leading zeros (``007`` is a code, not the number 7).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from otel_sqlite.records import AttributeValue
from otel_sqlite.storage.values import INT64_MAX, INT64_MIN

_INT = re.compile(r"[+-]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?(([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)")


def typed_value(text: str) -> AttributeValue:
    if _INT.fullmatch(text) and INT64_MIN <= int(text) <= INT64_MAX:
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_attribute(argument: str) -> tuple[str, AttributeValue]:
    """``"retries=3"`` -> ``("retries", 3)``; ValueError with a sentence when malformed."""
    key, sep, value = argument.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"'{argument}' is not KEY=VALUE")
    return key.strip(), typed_value(value)


def parse_attributes(arguments: Iterable[str]) -> dict[str, AttributeValue]:
    return dict(parse_attribute(argument) for argument in arguments)
