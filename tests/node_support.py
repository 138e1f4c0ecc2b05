"""The official Node.js OTel SDK and OTLP exporters, from npm, for the interop tests.

Installed once into the user's cache directory (``~/.cache/otel-sqlite-tests/node``) with
``npm install``; later runs reuse it. Without node, npm or the registry the tests skip with
one line saying which.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# One generation of the JS SDK (2.x, with its 0.2xx exporters), pinned so every run tests the
# same code; @opentelemetry/resources comes with sdk-trace-base.
PACKAGES = {
    "@opentelemetry/api": "1.9.1",
    "@opentelemetry/sdk-trace-base": "2.12.1",
    "@opentelemetry/exporter-trace-otlp-http": "0.223.1",
    "@opentelemetry/exporter-trace-otlp-proto": "0.223.1",
    "@opentelemetry/exporter-trace-otlp-grpc": "0.223.1",
}
SCRIPT = Path(__file__).parent / "node" / "send_spans.js"
MIN_NODE = 18


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "otel-sqlite-tests" / "node"


def node_modules() -> Path:
    """The installed packages' folder; skips the calling test when they cannot be had."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node or npm is not installed: the Node.js exporter tests need both")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    if int(version.lstrip("v").split(".")[0] or 0) < MIN_NODE:
        pytest.skip(f"node {version.strip()} is older than the exporters need ({MIN_NODE})")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps({"name": "otel-sqlite-node-exporters", "private": True,
                           "dependencies": PACKAGES}, indent=1)
    stamp = folder / "installed.json"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers install once between them
        if not stamp.exists() or stamp.read_text() != manifest:
            (folder / "package.json").write_text(manifest)
            try:
                result = subprocess.run(
                    [npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                     "--fetch-timeout=30000", "--fetch-retries=1",
                     "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=5000"],
                    cwd=folder, capture_output=True, text=True, timeout=180,
                )
            except subprocess.TimeoutExpired:
                pytest.skip("npm install of the Node.js OTel exporters timed out")
            if result.returncode:
                said = [line for line in result.stderr.splitlines()
                        if line.strip() not in ("", "npm error") and "complete log" not in line]
                reason = " / ".join(said[:2]) or f"exit status {result.returncode}"
                pytest.skip(f"npm install of the Node.js OTel exporters failed: {reason}")
            stamp.write_text(manifest)
    return folder / "node_modules"


def send_spans(modules: Path, protocol: str, url: str, compression: str) -> list[dict]:
    """Run ``node/send_spans.js``; the spans its InMemorySpanExporter saw."""
    result = subprocess.run(
        ["node", str(SCRIPT), protocol, url, compression], capture_output=True, text=True,
        timeout=60, env={**os.environ, "NODE_PATH": str(modules)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
