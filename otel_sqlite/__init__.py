"""otel-sqlite: OpenTelemetry spans of harness runs, stored in one SQLite file.

The harness API (``configure``, ``run``, ``step``, ``skip``, ``command``, ``api_call``,
``event``) is imported on first use, so ``import otel_sqlite`` stays cheap for the CLI's hot
paths.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_HARNESS_NAMES = (
    "configure", "run", "step", "skip", "command", "api_call", "event", "CommandResult",
)
__all__ = ["__version__", *_HARNESS_NAMES]


def __getattr__(name: str) -> Any:
    if name in _HARNESS_NAMES:
        from otel_sqlite import harness

        return getattr(harness, name)
    raise AttributeError(f"module 'otel_sqlite' has no attribute {name!r}")
