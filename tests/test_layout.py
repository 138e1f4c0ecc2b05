"""The tree is the architecture: each folder a layer, imports only pointing down (ARCHITECTURE.md).

Every ``import`` of the package counts, the ones inside functions too: a lazy import still
couples two modules, it only moves the cost.
"""

from __future__ import annotations

import ast
import graphlib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The layer of each module: its folder, or for the top of the package its role.
TOP_LEVEL = {
    "otel_sqlite": "base",  # the package itself: __version__, and the harness API by attribute
    "otel_sqlite.conventions": "base",
    "otel_sqlite.errors": "base",
    "otel_sqlite.records": "base",
    "otel_sqlite.exporter": "sdk",  # the public home of the SDK's exporter
    "otel_sqlite.harness": "api",
    "otel_sqlite.demo": "api",
    "otel_sqlite.pytest_plugin": "plugins",  # the pytest11 entry point, a public path
    "otel_sqlite.behave": "plugins",  # behave -f otel_sqlite.behave:Recorder, a public path
}
# What each layer may import (beside itself). The CLI may import everything.
ALLOWED = {
    "base": set(),
    "storage": {"base"},
    "sdk": {"base", "storage"},
    "capture": {"base", "storage", "sdk"},
    "queries": {"base", "storage"},
    "otlp": {"base", "storage", "queries"},
    "reports": {"base", "queries"},
    "ui": {"base", "storage", "queries", "reports", "otlp"},
    "api": {"base", "storage", "sdk", "capture"},
    "plugins": {"base", "storage", "sdk", "capture", "api"},
}


def module_files() -> dict[str, Path]:
    files = {}
    for path in sorted((ROOT / "otel_sqlite").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in sorted((ROOT / "cli").glob("*.py")):
        name = "otel_sqlite.cli" + ("" if path.stem == "__init__" else "." + path.stem)
        files[name] = path
    return files


MODULES = module_files()


def layer(module: str) -> str:
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    return module.split(".")[1]


def imported_modules(module: str, path: Path) -> set[str]:
    """The package's modules that ``module`` imports, at the top or inside a function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return {name for name in found if name in MODULES and name != module}


# The package's own lazy attribute (``otel_sqlite.run`` -> harness) is its public face, not a
# dependency of the modules that read ``__version__`` from it.
IMPORTS = {
    module: imported_modules(module, path) if module != "otel_sqlite" else set()
    for module, path in MODULES.items()
}


@pytest.mark.parametrize("module", [m for m in MODULES if layer(m) != "cli"])
def test_the_library_imports_only_the_layers_below_it(module):
    upward = {
        target for target in IMPORTS[module]
        if layer(target) != layer(module) and layer(target) not in ALLOWED[layer(module)]
    }
    assert not upward, f"{module} ({layer(module)}) imports {sorted(upward)}"


def test_every_library_module_sits_in_a_known_layer():
    assert {layer(m) for m in MODULES} <= {*ALLOWED, "cli"}


def test_the_library_never_imports_click():
    for module, path in MODULES.items():
        if layer(module) == "cli":
            continue
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "click" not in names, module


def test_no_two_modules_import_each_other_even_indirectly():
    graphlib.TopologicalSorter(IMPORTS).prepare()  # raises CycleError, naming the cycle


def test_the_top_of_the_package_keeps_only_what_users_import():
    top = sorted(p.stem for p in (ROOT / "otel_sqlite").glob("*.py"))
    assert top == ["__init__", "behave", "conventions", "demo", "errors", "exporter",
                   "harness", "pytest_plugin", "records"]


def test_every_documented_public_name_imports():
    import otel_sqlite
    from otel_sqlite import (  # noqa: F401 - importing them is the test
        CommandResult,
        __version__,
        api_call,
        command,
        configure,
        event,
        harness,
        run,
        step,
    )
    from otel_sqlite.conventions import HARNESS_KIND  # noqa: F401
    from otel_sqlite.errors import OtelSqliteError  # noqa: F401
    from otel_sqlite.exporter import InFlightSpanProcessor, SQLiteSpanExporter
    from otel_sqlite.records import SpanRecord  # noqa: F401

    assert set(otel_sqlite.__all__) >= {"configure", "run", "step", "command", "api_call",
                                        "event", "CommandResult", "__version__"}
    assert harness.configure is configure
    assert SQLiteSpanExporter.__module__ == "otel_sqlite.sdk.exporter"
    assert InFlightSpanProcessor.__module__ == "otel_sqlite.sdk.exporter"


def test_the_installed_entry_points_load():
    from otel_sqlite.exporter import SQLiteSpanExporter

    [exporter] = entry_points(group="opentelemetry_traces_exporter", name="sqlite")
    [plugin] = entry_points(group="pytest11", name="otel_sqlite")
    [script] = entry_points(group="console_scripts", name="otel-sqlite")
    assert exporter.load() is SQLiteSpanExporter
    assert plugin.load().__name__ == "otel_sqlite.pytest_plugin"
    assert callable(script.load())
