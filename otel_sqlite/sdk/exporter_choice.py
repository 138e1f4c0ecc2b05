"""Which exporters ``OTEL_TRACES_EXPORTER`` asks for, decided without importing the SDK.

``exec`` and ``run`` read this first: when SQLite is the only exporter they write records
straight to the store and never pay for the SDK's import.
"""

from __future__ import annotations

import os

ENV_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
DEFAULT_EXPORTER = "sqlite"


def exporter_names() -> list[str]:
    raw = os.environ.get(ENV_TRACES_EXPORTER, DEFAULT_EXPORTER)
    return [name.strip() for name in raw.split(",") if name.strip()]


def sqlite_is_the_only_exporter() -> bool:
    return exporter_names() == [DEFAULT_EXPORTER]
