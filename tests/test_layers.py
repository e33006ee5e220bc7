"""The package's structure: no import cycle anywhere, and data flows one way between the layers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fake_leaf"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Every fake_leaf module each module imports, wherever the import stands (functions and
    TYPE_CHECKING blocks included): ``from pkg import name`` counts as ``pkg.name`` when that is a module."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], base]).strip(".")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_module_of_the_package_imports_in_a_circle() -> None:
    graph = _imports(_modules())
    # a package's __init__ only gathers names of its own modules: follow edges from modules, not faces
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in path:
            cycle = [*path[path.index(module):], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        path.append(module)
        for target in sorted(graph[module]):
            if not (module + ".").startswith(target + "."):  # importing its own package is not a cycle of code
                visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_data_flows_one_way_adapter_router_handler_engine_clock() -> None:
    graph = _imports(_modules())
    for module, targets in graph.items():
        if module.startswith("fake_leaf.engine"):
            upward = ("fake_leaf.http", "fake_leaf.adapters", "fake_leaf._fake")
            assert not {t for t in targets if t.startswith(upward)}, module
        if module.startswith("fake_leaf.http"):
            assert not {t for t in targets if t.startswith(("fake_leaf.adapters", "fake_leaf._fake"))}, module
    for path in (PACKAGE / "http").rglob("*.py"):
        assert "import responses" not in path.read_text(), path
        assert "from responses" not in path.read_text(), path
