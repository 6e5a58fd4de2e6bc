"""The data flows one way: scenario + adapter -> worker -> results database -> report.

Read from the sources (every import, inside functions and under TYPE_CHECKING too) and from
what a fresh interpreter actually loads.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each package may import of the project (besides the standard library and its extras).
MAY_IMPORT = {
    "tracker": {"tracker"},
    "adapters": {"adapters", "tracker"},
    "results": {"results", "tracker"},
    "scenarios": {"scenarios", "adapters", "results", "tracker"},
    "reports": {"reports", "results"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The project modules a file imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return {name for name in found if name.partition(".")[0] in MAY_IMPORT}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_its_own_layer_and_those_below(module: str) -> None:
    allowed = MAY_IMPORT[module.partition(".")[0]]
    assert {name for name in GRAPH[module] if name.partition(".")[0] not in allowed} == set()


def _cycle() -> list[str]:
    """One import cycle among the project's modules, or [] when there is none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return []
        path.append(name)
        for target in sorted(GRAPH.get(name, ())):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(name)
        return []

    for name in sorted(GRAPH):
        found = visit(name)
        if found:
            return found
    return []


def test_no_import_cycles_anywhere() -> None:
    """A lazy or TYPE_CHECKING import that closes a loop is still a loop."""
    assert _cycle() == []


def test_the_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAPH, "tracker.errors", {"tracker.database"})
    assert _cycle()[0] == _cycle()[-1]


def _loaded_by(code: str) -> list[str]:
    """The modules a fresh interpreter loads for `code`, beyond what it loaded at start."""
    probe = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return list(json.loads(out.splitlines()[-1]))


def _not_stdlib(names: list[str]) -> list[str]:
    return [n for n in names if n.partition(".")[0] not in sys.stdlib_module_names]


def test_the_worker_loads_the_stdlib_adapters_workloads_and_the_schema_only() -> None:
    loaded = _loaded_by("import scenarios.worker")
    # the watchdog reads /proc for the workloads that measure the writer's own processes
    own = {"scenarios", "scenarios.worker", "scenarios.fidelity", "scenarios.bitwise",
           "scenarios.watchdog", "results", "results.schema", "results.errors"}  # fmt: skip
    outside = [
        name
        for name in _not_stdlib(loaded)
        if name not in own
        and name.partition(".")[0] != "adapters"
        and not name.startswith("scenarios.workloads")
    ]
    assert outside == []
    assert "results.schema" in loaded and "scenarios.workloads" in loaded


def test_the_reports_load_neither_scenarios_nor_adapters() -> None:
    reports = [name for name in MODULES if name.partition(".")[0] == "reports"]
    loaded = _loaded_by("\n".join(f"import {name}" for name in reports))
    assert [n for n in loaded if n.partition(".")[0] in ("scenarios", "adapters")] == []


def test_results_load_the_standard_library_only() -> None:
    own = [name for name in MODULES if name.partition(".")[0] == "results"]
    loaded = _loaded_by("\n".join(f"import {name}" for name in own))
    assert [n for n in _not_stdlib(loaded) if n.partition(".")[0] != "results"] == []
