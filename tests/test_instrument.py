"""OTEL_TRACES_EXPORTER=sqlite works with the standard opentelemetry-instrument launcher."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

APP = """
from opentelemetry import trace
tracer = trace.get_tracer("plain.app")
with tracer.start_as_current_span("handle request"):
    with tracer.start_as_current_span("query db"):
        pass
"""


def test_opentelemetry_instrument_with_the_sqlite_exporter_records_an_apps_spans(
    tmp_path: Path, query
) -> None:
    launcher = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    if launcher is None:
        pytest.skip("opentelemetry-instrument (opentelemetry-distro) is not installed")
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "sqlite", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none", "OTEL_SERVICE_NAME": "plain-app"}
    subprocess.run([launcher, sys.executable, str(app)], env=env, check=True, timeout=60)
    assert query("SELECT name FROM spans ORDER BY start_ns") == [("handle request",),
                                                                ("query db",)]
    assert query("SELECT service_name FROM resources") == [("plain-app",)]
