"""The import graph: layers import one way, and no package's modules import each other in a
cycle (every import counts, including lazy ones inside functions and typing-only ones)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "ledger", "projections", "commands")
# What each layer may import of ours (itself included).
ALLOWED = {
    "schemas": {"schemas"},
    "ledger": {"schemas", "ledger"},
    "projections": {"schemas", "ledger", "projections"},
    "commands": {"schemas", "ledger", "projections", "commands"},
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The modules of ours that ``name`` imports (``from pkg import mod`` counts as ``pkg`` and
    ``pkg.mod``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)  # ``from pkg import mod`` runs ``pkg`` first
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if target in MODULES:
                    out.add(target)
    return {target for target in out if target in MODULES and target != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_graph_covers_the_packages() -> None:
    assert {"ledger.store", "projections.engine", "commands.runner.batch"} <= GRAPH.keys()
    assert "ledger.writer" in GRAPH["ledger.store"]


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_layers_import_one_way(name: str) -> None:
    layer = name.split(".")[0]
    wrong = sorted(t for t in GRAPH[name] if t.split(".")[0] not in ALLOWED[layer])
    assert not wrong, f"{name} imports {wrong} against the layering"


def test_runner_never_imports_the_cli() -> None:
    for name, targets in GRAPH.items():
        if name.startswith("commands.runner"):
            assert not [t for t in targets if t.startswith("commands.cli")], name


# The CLI reference is rendered from the click group itself, which the package defines; the
# package never imports ``docs`` back, so this is no cycle.
OWN_PACKAGE_ALLOWED = {("commands.cli.docs", "commands.cli")}


def test_no_module_imports_its_own_package_back() -> None:
    offenders = [
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        if name.startswith(target + ".") and (name, target) not in OWN_PACKAGE_ALLOWED
    ]
    assert not offenders


def test_no_import_cycles() -> None:
    """Depth-first search over the whole graph; any back edge is a cycle."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


# structlog is imported only where logging is configured and where loggers are handed out:
# a module importing it directly could log before the CLI's configuration applies.
STRUCTLOG_IMPORTERS = {"ledger.logs", "commands.cli.logs"}


def test_every_module_logs_through_ledger_logs() -> None:
    def imported(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        return [node.module or ""] if isinstance(node, ast.ImportFrom) else []

    importers = {
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if any(module.split(".")[0] == "structlog" for module in imported(node))
    }
    assert importers == STRUCTLOG_IMPORTERS
