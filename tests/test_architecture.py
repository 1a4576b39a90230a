"""The rules of docs/architecture.md, checked on the source: who may import whom, and
that every commit goes through videocoach.transaction."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("videocoach", "workers")
# Put together everything else; nothing imports them back (checked below).
COMPOSITION_ROOT = {"videocoach", "videocoach.app", "videocoach.cli", "videocoach.wsgi"}
# Shared rooms: every feature imports them, so they import no feature.
FEATURES = (
    "videocoach.accounts",
    "videocoach.admin",
    "videocoach.clips",
    "videocoach.comments",
    "videocoach.exports",
    "videocoach.meetings",
    "videocoach.notifications",
    "videocoach.partnerships",
)
SHARED_ROOMS = (
    "videocoach.api",
    "videocoach.bodies",
    "videocoach.db",
    "videocoach.errors",
    "videocoach.jobs",
    "videocoach.limits",
    "videocoach.live",
    "videocoach.media",
    "videocoach.observability",
    "videocoach.storage",
    "videocoach.tokens",
    "videocoach.transaction",
)


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int


def _modules(root: Path) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _project_module(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(root: Path = ROOT) -> list[Import]:
    """Every import between project modules, at module level or inside a function."""
    modules = _modules(root)
    found = []
    for source, path in modules.items():
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                # `from a import b` imports the module a.b when there is one, else a.
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = _project_module(name, modules)
                if target is not None and target != source:
                    found.append(Import(source, target, node.lineno))
    return found


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in imports:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _within(module: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_no_import_cycles_counting_imports_inside_functions() -> None:
    assert import_cycles(imports_of()) == []


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    (tmp_path / "videocoach").mkdir()
    (tmp_path / "workers").mkdir()
    (tmp_path / "videocoach" / "__init__.py").write_text("")
    (tmp_path / "workers" / "__init__.py").write_text("")
    (tmp_path / "videocoach" / "a.py").write_text("from videocoach import b\n")
    (tmp_path / "videocoach" / "b.py").write_text("def f():\n    from workers.c import x\n")
    (tmp_path / "workers" / "c.py").write_text("from videocoach.a import y\n")
    assert import_cycles(imports_of(tmp_path)) == [["videocoach.a", "videocoach.b", "workers.c"]]


def test_the_domain_never_imports_the_workers() -> None:
    wrong = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in imports_of()
        if edge.source.startswith("videocoach")
        and edge.target.startswith("workers")
        and edge.source not in COMPOSITION_ROOT
    ]
    assert wrong == []


def test_nothing_imports_the_composition_root_but_itself() -> None:
    wrong = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in imports_of()
        if edge.target in COMPOSITION_ROOT - {"videocoach"}
        and edge.source not in COMPOSITION_ROOT
        # migrate finds the packaged migrations through app.resource_dir
        and edge.source != "videocoach.migrate"
    ]
    assert wrong == []


@pytest.mark.parametrize("room", SHARED_ROOMS)
def test_shared_rooms_import_no_feature(room: str) -> None:
    wrong = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for edge in imports_of()
        if _within(edge.source, (room,)) and _within(edge.target, FEATURES)
    ]
    assert wrong == []


def raw_commits(root: Path = ROOT) -> list[str]:
    """`.commit()` or `.begin()` anywhere but in videocoach/transaction.py."""
    found = []
    for path in _modules(root).values():
        if path == root / "videocoach" / "transaction.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"commit", "begin"}
                and not (
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "transaction"
                )
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_every_commit_goes_through_the_one_helper() -> None:
    assert raw_commits() == []


def test_the_commit_check_finds_a_raw_commit(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "videocoach" / "routes.py").write_text(
        "def view():\n    transaction.commit()\n    db.session.commit()\n"
    )
    (tmp_path / "workers" / "job.py").write_text("def run(e):\n    with e.begin():\n        pass\n")
    assert sorted(raw_commits(tmp_path)) == ["videocoach/routes.py:3", "workers/job.py:2"]
