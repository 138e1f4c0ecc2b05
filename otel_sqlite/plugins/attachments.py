"""Files a test runner hands us (captured output, screenshots) kept as artifacts of a span.

The bytes go to a file in the span's folder beside the database, and an ``artifact`` event
says where, with its sha256 and size, so the store indexes it and any OTLP backend sees it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from opentelemetry.trace import Span

from otel_sqlite import conventions as c
from otel_sqlite import harness
from otel_sqlite.capture.command_span import artifact_attributes
from otel_sqlite.capture.process import CapturedFile


def attach_bytes(
    span: Span, role: str, name: str, data: bytes, media_type: str | None = None
) -> Path:
    """Write ``data`` as ``name`` (made safe for a file name) under ``span``; its path."""
    folder = harness.artifact_dir(span)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / re.sub(r"[^\w.-]", "_", name)
    path.write_bytes(data)
    attributes = artifact_attributes(
        CapturedFile(role, path, len(data), hashlib.sha256(data).hexdigest()))
    if media_type is not None:
        attributes[c.ARTIFACT_MEDIA_TYPE] = media_type
    span.add_event(c.ARTIFACT_EVENT, attributes)
    return path
