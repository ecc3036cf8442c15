"""Imports flow one way: no module of ``hotline`` reaches itself again through imports,
and the pure cores (``crypto``, ``triage_rules``) never import the service.

The graph is built from the source with ``ast`` (nothing is imported), counting every
import wherever it stands: at the top, inside a function, under ``if TYPE_CHECKING``.
A deferred import is still a dependency; hiding a cycle inside a function only moves the
failure from start-up to the first request that takes that path.

Edges follow what Python runs: ``from .a.b import c`` runs ``a/__init__``, ``a/b`` and,
when ``c`` is a submodule, ``a/b/c``. A module's own enclosing packages are not edges
(they are already loading when it loads), and ``hotline/__init__`` is skipped for the same
reason: every module is inside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported_names(module: str, path: Path) -> set[str]:
    """Every dotted module name an import statement of ``module`` may run."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, one level up per extra dot
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)  # submodules
    return names


def _with_packages(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_graph(package: str) -> dict[str, set[str]]:
    """module → the modules of ``package`` whose loading its imports run."""
    modules = _modules(package)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        own_packages = set(_with_packages(module))
        graph[module] = {
            target
            for name in _imported_names(module, path)
            for target in _with_packages(name)
            if target in modules and target not in own_packages and target != package
        }
    return graph


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected parts of more than one module: each module of one reaches
    every other through imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.add(w)
                if w == v:
                    break
            if len(part) > 1:
                parts.append(part)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return parts


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each tangle."""
    return [shortest_cycle(graph, part) for part in tangles(graph)]


def shortest_cycle(graph: dict[str, set[str]], part: set[str]) -> list[str]:
    best: list[str] = []
    for start in sorted(part):  # breadth-first back to start, inside the part
        paths = {start: [start]}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & part):
                    if w == start:
                        found = [*paths[v], start]
                        break
                    if w not in paths:
                        paths[w] = [*paths[v], w]
                        nxt.append(w)
                if found:
                    break
            frontier = nxt
        if found and (not best or len(found) < len(best)):
            best = found
    return best


def test_the_graph_sees_relative_function_level_and_package_imports() -> None:
    """The walker itself: a deferred relative import is an edge, and so is a package's
    ``__init__`` that a ``from pkg.sub import x`` runs."""
    graph = import_graph("hotline")
    assert "hotline.store" in graph["hotline.services"]  # from .store import Database
    assert "hotline.store.database" in graph["hotline.store"]  # from .database import ...
    assert "hotline.twilio" in graph["hotline.services"]  # runs twilio/__init__ first
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_hotline_has_no_import_cycles() -> None:
    graph = import_graph("hotline")
    report = [
        f"{' -> '.join(shortest_cycle(graph, part))}\n  (one of the cycles through these "
        f"{len(part)} modules: {', '.join(sorted(part))})"
        for part in tangles(graph)
    ]
    assert not report, "import cycles inside hotline/ (docs/architecture.md, Layers):\n" + "\n".join(report)


def test_the_pure_cores_never_import_hotline() -> None:
    offending = []
    for package in ("crypto", "triage_rules"):
        for module, path in _modules(package).items():
            for name in sorted(_imported_names(module, path)):
                if name == "hotline" or name.startswith("hotline."):
                    offending.append(f"{module} imports {name}")
    assert not offending, "\n".join(offending)
