"""Layering (DESIGN.md §4): storage/ ← handlers/ ← bot/, checked on the import graph.

Besides the layers: no import cycle anywhere in bot/, handlers/ or storage/ (counting imports
inside functions too, which is how cycles used to hide), the audiences of handlers/ (parent,
staff, admin) never import one another, and bot/ runs no SQL of its own (it may hold a
session factory, never build a query).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
FORBIDDEN = {
    "storage": {"aiogram", "handlers", "bot"},
    "handlers": {"sqlalchemy", "bot"},
}
AUDIENCES = ("handlers.parent", "handlers.staff", "handlers.admin")
# bot/ may name the session types it passes around; building or running a query is storage's.
BOT_SQLALCHEMY_ALLOWED = {"sqlalchemy.ext.asyncio"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` (imports for annotations only)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                pending.extend(child.orelse)
                continue
            pending.append(child)


def _imported(
    path: Path, *, runtime_only: bool = False, modules: frozenset[str] = frozenset()
) -> set[str]:
    """Full dotted names this module imports. ``from a import b`` imports the module ``a.b``
    when that is one of ``modules``, else the name ``b`` from ``a`` (as import-linter counts)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree) if runtime_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return found


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _graph() -> dict[str, set[str]]:
    """Module → the project modules it imports at run time (at the top or in a function)."""
    paths = {_module_name(path): path for path in _sources()}
    modules = frozenset(paths)
    return {
        name: {
            target
            for target in _imported(path, runtime_only=True, modules=modules)
            if target in modules
        }
        - {name}
        for name, path in paths.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan), as a readable path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_does_not_import_upwards(layer: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_top_level(_imported(path)) & FORBIDDEN[layer])
        for path in (ROOT / layer).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """The check itself: a three-module ring and a self-contained tail."""
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _cycles(ring) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_audiences_do_not_import_one_another() -> None:
    """parent, staff and admin screens share only the modules above them (ui, callbacks,
    texts): the folders are the access map, and one audience's screens never depend on
    another's."""
    offenders = {}
    for name, targets in _graph().items():
        mine = next((a for a in AUDIENCES if name == a or name.startswith(a + ".")), None)
        if mine is None:
            continue
        foreign = sorted(
            t for t in targets for a in AUDIENCES if a != mine and (t == a or t.startswith(a + "."))
        )
        if foreign:
            offenders[name] = foreign
    assert offenders == {}


def test_shared_handler_modules_do_not_import_audiences() -> None:
    """ui, callbacks, texts and the registry are below every audience."""
    offenders = {
        name: sorted(t for t in targets if t.startswith(AUDIENCES))
        for name, targets in _graph().items()
        if name.startswith("handlers.") and not name.startswith(AUDIENCES)
    }
    offenders.pop("handlers", None)  # the package builds the root router from the audiences
    assert {k: v for k, v in offenders.items() if v} == {}


SESSION_CALLS = {"execute", "scalar", "scalars", "commit", "flush", "rollback", "add", "refresh"}


def test_bot_runs_no_sql() -> None:
    """bot/ names session types (``sqlalchemy.ext.asyncio``) and hands sessions to ``Storage``;
    it never imports a query builder nor drives a session itself."""
    imports, calls = {}, []
    for path in (ROOT / "bot").rglob("*.py"):
        where = str(path.relative_to(ROOT))
        names = {
            name
            for name in _imported(path)
            if name.split(".")[0] == "sqlalchemy" and name not in BOT_SQLALCHEMY_ALLOWED
        }
        if names:
            imports[where] = sorted(names)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_CALLS
                and "session" in ast.unparse(node.func.value).lower()
            ):
                calls.append(f"{where}:{node.lineno}")
    assert imports == {}
    assert calls == []


def test_no_global_bot_or_engine() -> None:
    """Bots and engines are built in bot/factory.py and injected, never module globals."""
    offenders = []
    for path in ROOT.glob("[bhs]*/**/*.py"):
        if path.parts[len(ROOT.parts)] not in {"bot", "handlers", "storage"}:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in {"Bot", "create_async_engine", "create_engine", "Dispatcher"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
