"""``otel-sqlite ui`` as a user runs it, and what it must not cost the other commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from ui_support import write_run

from otel_sqlite.cli.main import cli

ROOT = Path(__file__).parent.parent
OTEL_SQLITE = shutil.which("otel-sqlite", path=str(Path(sys.executable).parent))


def test_ui_on_a_missing_database_is_one_line_and_creates_nothing(tmp_path):
    db = tmp_path / "missing.db"
    result = CliRunner().invoke(cli, ["ui", "--db", str(db)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no database at")
    assert len(result.output.strip().splitlines()) == 1
    assert not db.exists()


def test_ui_prints_its_url_and_serves_the_database(tmp_path):
    db = tmp_path / "traces.db"
    write_run(db, "nightly", "a" * 32)
    server = subprocess.Popen(
        [OTEL_SQLITE, "ui", "--db", str(db), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline()
        assert f"otel-sqlite UI for {db}" in line
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/runs", timeout=10) as response:
            assert [r["name"] for r in json.load(response)["runs"]] == ["nightly"]
    finally:
        server.terminate()
        server.wait(10)


def test_other_commands_never_import_the_ui(tmp_path):
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from otel_sqlite.cli.main import cli\n"
        f"result = CliRunner().invoke(cli, ['init', '--db', {str(tmp_path / 'x.db')!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.startswith('otel_sqlite.ui')))\n"
    )
    # Outside the checkout, so the installed package is imported, not the source folder.
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=tmp_path)
    assert done.stdout.strip() == "[]"


def test_a_regular_install_ships_every_static_file(tmp_path):
    """``pip install .`` (not editable) from a clean copy: no stale build/ can hide a gap."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "docs", "tests"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
         str(target), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    shipped = subprocess.run(
        [sys.executable, "-c",
         "import otel_sqlite.ui.server as s; print(s.__file__); "
         "print('\\n'.join(s.static_files()))"],
        env={**os.environ, "PYTHONPATH": str(target)}, cwd=tmp_path,
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert shipped.pop(0).startswith(str(target))
    static = ROOT / "otel_sqlite" / "ui" / "static"
    expected = {"/static/" + p.relative_to(static).as_posix()
                for p in static.rglob("*") if p.is_file()}
    assert set(shipped) == expected


def test_the_page_preloads_every_script_module():
    """Preloading fetches the modules side by side instead of one import level at a time."""
    static = ROOT / "otel_sqlite" / "ui" / "static"
    index = (static / "index.html").read_text()
    for module in (static / "js").glob("*.js"):
        assert f'src="/static/js/{module.name}"' in index or (
            f'<link rel="modulepreload" href="/static/js/{module.name}">' in index), module.name


def test_serve_with_ui_receives_spans_and_shows_them_in_one_process(tmp_path):
    from interop_support import read_start_lines

    from otel_sqlite.otlp import codec
    from otel_sqlite.records import SpanRecord

    db = tmp_path / "served.db"
    process = subprocess.Popen(
        # --ack committed: the answer comes once the span can be read back.
        [OTEL_SQLITE, "serve", "--port", "0", "--grpc-port", "0", "--ui", "--ui-port", "0",
         "--ack", "committed", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        said = read_start_lines(process)
        receiver, ui = said["OTLP/HTTP"], said["web UI"]
        body = codec.records_to_request(
            [SpanRecord("ab" * 16, "cd" * 8, "via-otlp", 10, 20)]).SerializeToString()
        posted = urllib.request.Request(receiver, data=body,
                                        headers={"Content-Type": codec.MEDIA_PROTOBUF})
        with urllib.request.urlopen(posted, timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(ui + "api/runs", timeout=10) as response:
            assert [r["name"] for r in json.load(response)["runs"]] == ["via-otlp"]
    finally:
        process.terminate()
        process.wait(20)
