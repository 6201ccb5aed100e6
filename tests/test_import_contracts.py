"""The import structure (docs/ARCHITECTURE.md), read from the source by grimp/import-linter.

Imports inside functions count like any other: a cycle hidden by a function-local import
is still a cycle.
"""

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("hms_site", "ops", "apm", "hms_apm", "hms_sdk", "ops_sdk")
# Cycles another branch removes; delete the entry when it has landed.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """Module -> the modules importing it runs: what it names, and the packages above
    those (``import a.b.c`` runs ``a/b/__init__.py``) unless the importer is inside them."""
    edges = {module: set() for module in graph.modules}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            edges[module].add(imported)
            parts = imported.split(".")
            for end in range(1, len(parts)):
                package = ".".join(parts[:end])
                if package in edges and not (module + ".").startswith(package + "."):
                    edges[module].add(package)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_the_cycle_finder_sees_a_cycle_through_a_package_init():
    edges = {
        "p": {"p.a"},  # p/__init__.py imports p.a
        "p.a": {"q.b"},
        "q": set(),
        "q.b": {"p.c"},  # runs p/__init__.py, which imports p.a
        "p.c": set(),
    }
    edges["q.b"].add("p")
    assert _cycles(edges) == [{"p", "p.a", "q.b"}]
    assert _cycles({"p": {"p.a"}, "p.a": {"p.b"}, "p.b": set()}) == []


def test_no_import_cycles_in_the_product():
    graph = grimp.build_graph(*PRODUCT, cache_dir=None)
    cycles = [c for c in _cycles(_edges(graph)) if frozenset(c) not in KNOWN_CYCLES]
    assert cycles == [], f"import cycles: {[sorted(c) for c in cycles]}"


def test_the_import_contracts_hold():
    """ops never imports apm; only a tasks module imports a tasks module (pyproject.toml)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in done.stdout
