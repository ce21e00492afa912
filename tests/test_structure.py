"""The layering rules of DESIGN.md section 6, checked from the source so they cannot rot.

Every module under ``src/framepick`` is parsed with ``ast`` (nothing is imported). A *floor* is a
top-level entry of the package: a subpackage (``select/``, ``train/`` ...) or a top-level module
(``api.py``, ``types.py`` ...); the package's own ``__init__.py`` is the floor ``framepick``.
Every import counts, including the lazy ones inside functions and those under ``TYPE_CHECKING``:
a lazy import still ties the two floors together.

- No loop between floors: the floor graph is acyclic.
- No floor uses another floor's private names: no ``framepick.x._mod`` import, no
  ``from framepick.x import _name`` and no ``module._name`` through a module imported from another
  floor.
- No module is over 600 lines.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = "framepick"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE
MAX_LINES = 600


@dataclass
class Module:
    name: str  # dotted, e.g. "framepick.select.topk"
    path: Path
    is_package: bool
    tree: ast.Module

    @property
    def floor(self) -> str:
        return floor_of(self.name)


@dataclass
class Findings:
    edges: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(dict))
    private: list[str] = field(default_factory=list)

    def add_edge(self, module: Module, target: str, where: str) -> None:
        if target != module.floor:
            self.edges[module.floor].setdefault(target, []).append(where)


def floor_of(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def load_modules(source: Path = SOURCE) -> dict[str, Module]:
    modules = {}
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source.parent).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        modules[name] = Module(name, path, is_package, tree)
    return modules


def resolve_relative(module: Module, level: int, target: str | None) -> str:
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_part(dotted: str, start: int) -> str | None:
    """The first private component of ``dotted`` from position ``start`` on, if any."""
    for part in dotted.split(".")[start:]:
        if is_private(part):
            return part
    return None


def scan(modules: dict[str, Module]) -> Findings:
    findings = Findings()
    for module in modules.values():
        # Local names bound to modules of other floors, for ``alias._private`` look-ups.
        module_aliases: dict[str, str] = {}
        for node in ast.walk(module.tree):
            where = f"{module.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name != PACKAGE and not alias.name.startswith(PACKAGE + "."):
                        continue
                    target = floor_of(alias.name)
                    findings.add_edge(module, target, where)
                    if target != module.floor:
                        bad = private_part(alias.name, 2)
                        if bad:
                            findings.private.append(f"{where} imports {alias.name}")
                        if alias.asname:
                            module_aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    source = resolve_relative(module, node.level, node.module)
                elif node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
                    source = node.module
                else:
                    continue
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    # ``from framepick import api`` names the floor ``api``; a lazily
                    # re-exported function names the package floor itself.
                    name = full if full in modules else source
                    target = floor_of(name)
                    findings.add_edge(module, target, where)
                    if target == module.floor:
                        continue
                    bad = private_part(full, 2)
                    if bad:
                        findings.private.append(f"{where} imports {full}")
                    if full in modules:
                        module_aliases[alias.asname or alias.name] = full
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and is_private(node.attr)
            ):
                findings.private.append(
                    f"{module.name}:{node.lineno} uses {module_aliases[node.value.id]}.{node.attr}"
                )
    return findings


def find_cycles(edges: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one floor (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    nodes = sorted(set(edges) | {t for targets in edges.values() for t in targets})

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, {})):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return components


def describe_cycle(component: list[str], edges: dict[str, dict[str, list[str]]]) -> str:
    members = set(component)
    lines = [" <-> ".join(component)]
    for source in component:
        for target, places in sorted(edges.get(source, {}).items()):
            if target in members:
                lines.append(f"  {source} -> {target}: {', '.join(places[:4])}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return load_modules()


def test_the_source_tree_is_found(modules):
    assert "framepick.api" in modules and "framepick.select" in modules


def test_no_import_loop_between_floors(modules):
    findings = scan(modules)
    cycles = find_cycles(findings.edges)
    assert not cycles, "import loops between floors:\n" + "\n".join(
        describe_cycle(c, findings.edges) for c in cycles
    )


def test_no_floor_uses_another_floors_private_names(modules):
    findings = scan(modules)
    assert not findings.private, "private names used across floors:\n" + "\n".join(findings.private)


def test_no_module_over_600_lines(modules):
    long = {
        str(m.path.relative_to(SOURCE)): n
        for m in modules.values()
        if (n := len(m.path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# The checker itself, on small made-up trees, so a green run means something.


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    root = tmp_path / PACKAGE
    for relative, text in {"__init__.py": "", **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return load_modules(root)


def test_checker_finds_a_loop_through_a_lazy_import(tmp_path):
    modules = _tree(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/x.py": "from framepick.b.y import f\n",
            "b/__init__.py": "",
            "b/y.py": "def f():\n    from ..a import x\n    return x\n",
            "c.py": "import framepick.a.x\n",
        },
    )
    assert find_cycles(scan(modules).edges) == [["a", "b"]]


def test_checker_finds_private_imports_and_attributes(tmp_path):
    modules = _tree(
        tmp_path,
        {
            "a/__init__.py": "",
            "a/_common.py": "def f(): ...\n",
            "a/x.py": "from ._common import f\n",  # same floor: fine
            "api.py": "def _cache(): ...\n",
            "b.py": (
                "from framepick.a._common import f\n"
                "from framepick import api\n"
                "from framepick.api import _cache\n"
                "api._cache()\n"
            ),
        },
    )
    private = scan(modules).private
    assert len(private) == 3, private
    assert all(p.startswith("framepick.b:") for p in private)
