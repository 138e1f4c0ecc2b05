"""W3C trace context in the environment (``TRACEPARENT`` / ``TRACESTATE``), without the SDK.

``exec`` and ``run start`` must start fast, so they parse and write the header themselves
(https://www.w3.org/TR/trace-context/#traceparent-header); the harness API uses the same
functions so that both sides agree on what a valid parent is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from otel_sqlite.conventions import ENV_TRACEPARENT, ENV_TRACESTATE

_HEADER = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<span_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?"
)
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16
SAMPLED = 0x01


@dataclass(frozen=True)
class TraceParent:
    """One span's place in a trace: ids as lower-case hex, flags as an int."""

    trace_id: str
    span_id: str
    flags: int = SAMPLED

    @property
    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"


def parse(header: str | None) -> TraceParent | None:
    """The parent a ``traceparent`` header names, or None when it is absent or invalid.

    Invalid headers are ignored, as the W3C spec asks, so a stale or mangled variable makes a
    new trace instead of an error. Versions after 00 may append fields, which are skipped.
    """
    match = _HEADER.fullmatch((header or "").strip())
    if match is None:
        return None
    version, trace_id, span_id = match["version"], match["trace_id"], match["span_id"]
    if version == "ff" or (version == "00" and match["rest"]):
        return None
    if trace_id == _INVALID_TRACE_ID or span_id == _INVALID_SPAN_ID:
        return None
    return TraceParent(trace_id, span_id, int(match["flags"], 16))


def new_trace_id() -> str:
    while (trace_id := os.urandom(16).hex()) == _INVALID_TRACE_ID:
        pass
    return trace_id


def new_span_id() -> str:
    while (span_id := os.urandom(8).hex()) == _INVALID_SPAN_ID:
        pass
    return span_id


def from_environment(env: Mapping[str, str] | None = None) -> tuple[TraceParent | None, str]:
    """The parent in ``TRACEPARENT`` (None if unset or invalid) and the ``TRACESTATE`` text."""
    env = os.environ if env is None else env
    parent = parse(env.get(ENV_TRACEPARENT))
    return parent, (env.get(ENV_TRACESTATE, "").strip() if parent is not None else "")


def child_environment(
    parent: TraceParent, tracestate: str = "", env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``env`` (default: ours) with TRACEPARENT / TRACESTATE naming ``parent``."""
    merged = dict(os.environ if env is None else env)
    merged[ENV_TRACEPARENT] = parent.header
    if tracestate:
        merged[ENV_TRACESTATE] = tracestate
    else:
        merged.pop(ENV_TRACESTATE, None)
    return merged
