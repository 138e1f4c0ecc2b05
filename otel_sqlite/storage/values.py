"""Typed attribute values: how an OTel attribute becomes one SQLite value plus a type name.

Scalars keep their SQLite type so that ``key = ? AND value = ?`` compares like with like
(``process.exit.code = 1`` finds the integer 1, not the text '1'); booleans are 0/1 and arrays
are JSON, with the type column keeping what SQLite cannot.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from otel_sqlite.records import AttributeValue

_SCALAR_TYPES = ((bool, "bool"), (int, "int"), (float, "double"), (str, "string"), (bytes, "bytes"))


def _scalar_type(value: object) -> str:
    for python_type, name in _SCALAR_TYPES:
        if isinstance(value, python_type):
            return name
    return "string"


def _json_default(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_json_default, separators=(",", ":"))
# JSONEncoder.encode builds a new C encoder on every call, which cost more than the encoding
# of a span's event attributes (0.92 us a call against 0.27 for this one, built once). It
# skips the check for circular containers: attribute values cannot hold themselves, and the C
# encoder still stops a runaway recursion with RecursionError.
_C_ENCODER = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, _json_default, json.encoder.encode_basestring, None, ":", ",", False, False, True
)


def to_json(value: object) -> str:
    """JSON for attribute maps (events, links, resources); bytes become base64 text."""
    if not value and isinstance(value, dict):
        return "{}"
    if _C_ENCODER is None:  # an interpreter without the json module's C accelerator
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what SQLite (and OTLP) integers hold
# Scalars SQLite stores as they are (it binds True as 1): the hot path of every write.
SCALAR_TYPE_NAMES: dict[type, str] = {str: "string", bool: "bool", int: "int", float: "double"}


def native(value: object) -> bool:
    """Whether SQLite (and JSON) keep ``value`` as it is: text, booleans, 64-bit integers and
    finite doubles. Anything else is stored encoded (see ``encode``)."""
    kind = type(value)
    if kind is str or kind is bool:
        return True
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX  # type: ignore[operator]
    return kind is float and value - value == 0.0  # type: ignore[operator]


def encode(value: AttributeValue) -> tuple[Any, str]:
    """``(stored value, type name)`` for one attribute value."""
    name = SCALAR_TYPE_NAMES.get(type(value))
    if name is not None:
        if native(value):
            return value, name
        # an int beyond what SQLite (and OTLP) integers hold; NaN and the infinities
        return (str(value) if name == "int" else repr(value)), name
    if value is None:
        return None, "null"
    if type(value) is tuple or type(value) is list:  # the SDK's arrays: skip the ABC checks
        first: object = ""
        for first in value:
            if first is not None:
                break
        element = SCALAR_TYPE_NAMES.get(type(first)) or _scalar_type(first)
        return to_json(value), element + "[]"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value), "bytes"
    if isinstance(value, Mapping):
        return to_json(dict(value)), "map"
    if isinstance(value, Sequence) and not isinstance(value, str):
        element = next((_scalar_type(v) for v in value if v is not None), "string")
        return to_json(list(value)), element + "[]"
    return encode(_coerce(value))


def _coerce(value: object) -> AttributeValue:
    """Subclasses (an IntEnum, a str subclass) as their base type; anything else as text."""
    for python_type, _ in _SCALAR_TYPES:
        if isinstance(value, python_type):
            return python_type(value)
    return str(value)


def decode(value: Any, type_name: str) -> AttributeValue:
    """The attribute value ``encode`` stored, with its original type."""
    if type_name == "bool":
        return bool(value)
    if isinstance(value, str) and type_name in ("int", "double"):
        return int(value) if type_name == "int" else float(value)
    if type_name == "map" or type_name.endswith("[]"):
        decoded = json.loads(value)
        if type_name == "bool[]":
            return [bool(v) for v in decoded]
        if type_name == "bytes[]":
            return [base64.b64decode(v) for v in decoded]
        return decoded
    return value
