"""The benchmarks import what they measure inside their functions (Django is set up
first), so a rename in the product breaks ``make bench`` only when it runs. Every
``from X import name`` in bench/, at any depth, must name something X has."""

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
FILES = sorted(BENCH.glob("*.py"))


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                yield node.lineno, node.module, alias.name


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_name_a_benchmark_imports_exists(path):
    missing = []
    for line, module, name in _imports(path):
        imported = importlib.import_module(module)
        if not hasattr(imported, name):
            try:
                importlib.import_module(f"{module}.{name}")  # a submodule
            except ImportError:
                missing.append(f"{path.name}:{line}: from {module} import {name}")
    assert not missing


def test_the_list_of_benchmarks_names_modules_that_exist():
    from bench.__main__ import BENCHMARKS

    assert {p.stem for p in FILES} >= set(BENCHMARKS)
