"""Warnings a host application sees once per cause, however often the cause repeats.

A harness that records ten thousand spans onto a full disk must not print ten thousand lines:
each distinct cause is logged once (``logging.WARNING``, prefixed ``otel-sqlite:``).
"""

from __future__ import annotations

import logging
import threading


class WarnOnce:
    """Calling it logs ``message`` unless a message with the same ``key`` was logged before."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, message: str, key: str | None = None) -> None:
        key = key or message
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        self._logger.warning("otel-sqlite: %s", message)
