"""The package import graph: no cycles, and the layers import only downwards (issue 21, "no import cycle").

The graph is read from the source with ``ast`` (no module is imported, so this is fast and sees imports that
only run inside functions). An edge ``a → b`` is an import of module ``b`` (or of a name from it) anywhere in
``a``. Two graphs are checked:

* **import time** (module-level statements only): a cycle here can break ``import`` itself, for any package;
* **every import** (function bodies too): a lazy import that closes a cycle still ties two modules into one
  unit. Checked for the layers under the theorems — ``primitives``, ``estimators``, ``learning`` — the
  report, and the commands the issue named (``verify_chain`` ↔ ``verify_chain_reference``, now
  ``tiltproof.byo.chain`` ↔ ``chain_reference``; ``cli`` ↔ ``mutants_command`` / ``sweep`` over
  ``_git_commit``). The theorem modules and their proof modules (``theorems.X`` ↔ ``theorems.proofs.X``,
  a deliberate lazy pair) are outside this check.

Layers: ``primitives`` < ``estimators`` < ``learning`` < ``theorems`` / ``tiltproof``; a module imports only
from its own layer and those below.
"""
from __future__ import annotations

import ast
import functools
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("primitives", "estimators", "learning", "theorems", "tiltproof", "reports")
LAZY_CHECKED = ("primitives", "estimators", "learning", "reports", "tiltproof.byo", "tiltproof.cli",
                "tiltproof.mutants_command", "tiltproof.sweep", "tiltproof.stamp", "tiltproof.verify_command")
FORBIDDEN = {
    "primitives": ("estimators", "learning", "theorems", "tiltproof", "reports"),
    "estimators": ("learning", "theorems", "tiltproof", "reports"),
    "learning": ("theorems", "tiltproof", "reports"),
}


def module_files(root: Path, packages) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file under the packages (``pkg/__init__.py`` is ``pkg``)."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _imported(node: ast.AST, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")[:len(package.split(".")) - node.level + 1]
            base = ".".join(parts + ([base] if base else []))
        return [f"{base}.{alias.name}" for alias in node.names] + [base]
    return []


def import_graph(root: Path, packages, *, lazy: bool) -> dict[str, set[str]]:
    """Module → the modules of ``packages`` it imports (module-level statements only unless ``lazy``)."""
    files = module_files(root, packages)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in (ast.walk(tree) if lazy else tree.body):
            for target in _imported(node, package):
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):   # a package's own parent
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (stdlib ``graphlib``), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def _within(graph: dict[str, set[str]], prefixes) -> dict[str, set[str]]:
    inside = lambda name: any(name == p or name.startswith(p + ".") for p in prefixes)
    return {name: {t for t in targets if inside(t)} for name, targets in graph.items() if inside(name)}


@functools.lru_cache(maxsize=None)
def _repository_graph(lazy: bool) -> dict[str, set[str]]:
    return import_graph(ROOT, PACKAGES, lazy=lazy)


def test_no_import_cycle_at_import_time():
    assert find_cycle(_repository_graph(False)) is None


def test_no_cycle_even_through_lazy_imports_in_the_lower_layers_report_and_commands():
    graph = _within(_repository_graph(True), LAZY_CHECKED)
    assert "tiltproof.byo.chain_reference" in graph and "estimators.dkw" in graph    # the walk saw them
    assert find_cycle(graph) is None


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer):
    graph = _repository_graph(True)
    upward = {(name, target) for name, targets in graph.items() if name.split(".")[0] == layer
              for target in targets if target.split(".")[0] in FORBIDDEN[layer]}
    assert not upward


def test_the_walk_finds_a_lazy_cycle_and_an_upward_import(tmp_path):
    """The checks can fail: a planted lazy cycle and an upward import are seen."""
    (tmp_path / "estimators").mkdir()
    (tmp_path / "theorems").mkdir()
    (tmp_path / "estimators" / "__init__.py").write_text("")
    (tmp_path / "theorems" / "__init__.py").write_text("")
    (tmp_path / "estimators" / "a.py").write_text("from estimators.b import f\n")
    (tmp_path / "estimators" / "b.py").write_text("def f():\n    from . import a\n    from theorems.t import x\n")
    (tmp_path / "theorems" / "t.py").write_text("x = 1\n")
    lazy = import_graph(tmp_path, ("estimators", "theorems"), lazy=True)
    assert sorted(set(find_cycle(lazy))) == ["estimators.a", "estimators.b"]
    assert find_cycle(import_graph(tmp_path, ("estimators", "theorems"), lazy=False)) is None
    assert "theorems.t" in lazy["estimators.b"]
