"""Exporter selection parity: only OTEL_TRACES_EXPORTER changes, never the instrumentation.

(``OTEL_TRACES_EXPORTER=sqlite`` alone under opentelemetry-instrument: tests/test_instrument.py.)
"""

from __future__ import annotations

import subprocess
import sys

from interop_support import BIN, env, served, serving, snapshot

APP = """
from opentelemetry import trace

tracer = trace.get_tracer("app")
with tracer.start_as_current_span("handle request") as span:
    span.set_attribute("answer", 42)
    with tracer.start_as_current_span("query db"):
        pass
"""

HARNESS = """
from otel_sqlite import configure, run, step

configure(service_name="suite")
with run("nightly"):
    with step("build", number=1):
        pass
"""


def instrumented(app: str, tmp_path, **settings: str) -> subprocess.CompletedProcess:
    (tmp_path / "app.py").write_text(app)
    return subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, str(tmp_path / "app.py")],
        capture_output=True, text=True, timeout=60,
        env=env(OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none", **settings),
    )


def names_and_parents(db) -> list[tuple]:  # noqa: ANN001
    spans = snapshot(db)["spans"]
    by_id = {row[1]: row[3] for row in spans}
    return sorted((row[3], by_id.get(row[2]), row[15]) for row in spans)


def test_sqlite_and_otlp_fan_out_to_both(tmp_path):
    with serving(tmp_path / "served.db") as (_, url):
        result = instrumented(
            APP, tmp_path, OTEL_TRACES_EXPORTER="sqlite,otlp", OTEL_SERVICE_NAME="app",
            OTEL_SQLITE_DB=str(tmp_path / "app.db"), OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=url,
        )
    assert result.returncode == 0, result.stderr
    local, served = snapshot(tmp_path / "app.db"), snapshot(tmp_path / "served.db")
    assert len(local["spans"]) == 2
    assert names_and_parents(tmp_path / "served.db") == names_and_parents(tmp_path / "app.db")
    assert [row[:2] for row in served["spans"]] == [row[:2] for row in local["spans"]]
    assert served["attributes"] == local["attributes"]


def test_the_harness_api_fans_out_by_the_same_variable(tmp_path):
    # No OTEL_EXPORTER_OTLP_PROTOCOL: the SDK's default, gRPC, to serve's gRPC port.
    with served(tmp_path / "served.db") as (_, said):
        (tmp_path / "suite.py").write_text(HARNESS)
        result = subprocess.run(
            [sys.executable, str(tmp_path / "suite.py")], capture_output=True, text=True,
            timeout=60, env=env(OTEL_TRACES_EXPORTER="sqlite,otlp",
                                OTEL_SQLITE_DB=str(tmp_path / "suite.db"),
                                OTEL_EXPORTER_OTLP_ENDPOINT=said["OTLP/gRPC"]),
        )
    assert result.returncode == 0, result.stderr
    expected = [("build", "nightly", "suite"), ("nightly", None, "suite")]
    assert names_and_parents(tmp_path / "suite.db") == expected
    assert names_and_parents(tmp_path / "served.db") == expected
