"""The behave formatter's public path: ``behave -f otel_sqlite.behave:Recorder -o DB``.

For a project that picks its formatters in its configuration, ``environment.py`` can call
``record(context)`` in ``before_all`` instead: the run is then recorded when asked for with
``behave -D otel_sqlite=1`` (or ``=DB``, or ``OTEL_SQLITE_BEHAVE=1``). Importing
``otel_sqlite`` never imports behave; only this module does, when behave loads it.
"""

from __future__ import annotations

from otel_sqlite.plugins.behave_recorder import Recorder, record

__all__ = ["Recorder", "record"]
