"""The xunit2 schema (Jenkins xUnit's ``junit-10.xsd``), as pytest's own sdist ships it.

pytest validates its ``--junitxml`` against this file in its own test suite
(``testing/example_scripts/junit-10.xsd``); we take it from the sdist of the pytest that is
installed, downloaded once from the package index into a cache, instead of keeping a copy.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from functools import cache
from pathlib import Path

import pytest

CACHE = Path.home() / ".cache" / "otel-sqlite-tests"
MEMBER = "testing/example_scripts/junit-10.xsd"


@cache
def junit_schema():  # noqa: ANN201 - an xmlschema.XMLSchema
    """The schema, or a skip with one line saying why it could not be had."""
    import xmlschema

    version = pytest.__version__
    path = CACHE / f"junit-10-pytest-{version}.xsd"
    if not path.exists():
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--no-binary", ":all:", "--dest", folder, f"pytest=={version}"],
                capture_output=True, text=True, timeout=300,
            )
            sdists = list(Path(folder).glob("pytest-*.tar.gz"))
            if done.returncode or not sdists:
                pytest.skip(f"pytest's sdist (for junit-10.xsd) could not be downloaded: "
                            f"{(done.stderr.strip().splitlines() or ['no sdist'])[-1]}")
            with tarfile.open(sdists[0]) as sdist:
                member = sdist.extractfile(f"pytest-{version}/{MEMBER}")
                assert member is not None
                CACHE.mkdir(parents=True, exist_ok=True)
                path.write_bytes(member.read())
    return xmlschema.XMLSchema(path)
