"""The package's layers, read from its imports (ast): imports only point down, and nothing imports
in a circle. docs/architecture.md draws the same layers.

An import inside a function counts like any other: hiding one there to break a circle is what this
test exists to stop. Imports inside functions are kept for optional or costly dependencies only
(torch in the CLI's help path, matplotlib, ray), and those are third-party, so they are not edges
here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ganbench"

# Lower number = lower layer. A module may import its own layer or lower ones (siblings of one layer
# may import each other as long as no circle forms).
LAYERS: dict[str, int] = {
    "ganbench": 0,  # the package root: version and lazy attributes only
    "ganbench.errors": 0,
    "ganbench.registry": 0,
    "ganbench.io": 0,
    "ganbench.cache": 0,
    "ganbench.devices": 0,
    "ganbench.registries": 1,
    "ganbench.records": 1,
    "ganbench.schema": 1,
    "ganbench.config": 2,
    "ganbench.data": 3,
    "ganbench.models": 3,
    "ganbench.objectives": 3,
    "ganbench.evaluation": 3,
    "ganbench.training": 4,
    "ganbench.runners": 5,
    "ganbench.reporting": 5,
    "ganbench.commands": 6,
    "ganbench.cli": 6,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of the longest LAYERS prefix of ``module``."""
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def ganbench_imports(path: Path, modules: set[str]) -> list[tuple[str, int]]:
    """(imported ganbench module, line) for every import in the file, at any depth."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from ganbench.x import y``: y may itself be a module
            names = [mod] + [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in modules]
        else:
            continue
        for name in names:
            if name.startswith("ganbench") and name != me:
                # the deepest ganbench module the name resolves to
                while name not in modules and "." in name:
                    name = name.rpartition(".")[0]
                if name in modules and name != me:
                    found.append((name, node.lineno))
    return found


def import_graph() -> dict[str, list[tuple[str, int]]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {m: ganbench_imports(p, modules) for m, p in files.items()}


def _is_package_of(parent: str, child: str) -> bool:
    return child.startswith(parent + ".")


def test_every_module_has_a_layer() -> None:
    for module in import_graph():
        assert any(module == p or module.startswith(p + ".") for p in LAYERS), module


def test_imports_only_point_down() -> None:
    wrong = []
    for module, imports in import_graph().items():
        for target, line in imports:
            if _is_package_of(target, module):
                continue  # a module may read its own package's __init__ (its siblings' registrations)
            if layer_of(target) > layer_of(module):
                wrong.append(
                    f"{module}:{line} imports {target} (layer {layer_of(target)} > {layer_of(module)})"
                )
    assert not wrong, "imports from a higher layer:\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    graph = {
        m: sorted({t for t, _ in imps if not _is_package_of(t, m) and not _is_package_of(m, t)})
        for m, imps in import_graph().items()
    }
    # Tarjan's strongly connected components: any component of two or more modules is a circle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_the_evaluation_core_imports_nothing_above_it() -> None:
    for module, imports in import_graph().items():
        if module.startswith("ganbench.evaluation"):
            above = [t for t, _ in imports if layer_of(t) > layer_of("ganbench.evaluation")]
            assert not above, f"{module} imports {above}"


@pytest.mark.parametrize(
    "module, target, expected",
    [
        ("ganbench.evaluation.images", "ganbench.training.trainer", False),
        ("ganbench.cli", "ganbench.io", True),
    ],
)
def test_layer_rule_itself(module: str, target: str, expected: bool) -> None:
    """The rule the tests above apply: a wrong mapping here would let every test pass."""
    assert (layer_of(target) <= layer_of(module)) is expected
