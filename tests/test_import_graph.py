"""No import circles in proteomics/: the graph of every import statement (module level, inside functions and
under ``if TYPE_CHECKING``) built with ast, and a search for its strongly connected components."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "proteomics"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    base = current if is_package else current.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    if node.level == 0:
        return node.module or ""
    return f"{base}.{node.module}" if node.module else base


def import_graph() -> dict[str, set[str]]:
    """{module: modules of this package it imports}, every import statement counted wherever it stands."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(name, path.name == "__init__.py", node)
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
                targets = subs if len(subs) == len(node.names) else [target, *subs]
            for t in targets:
                while t and t not in mods:  # `import a.b.c` of a name inside a module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_function_level_and_type_checking_imports(tmp_path, monkeypatch):
    """The graph builder itself, on a hand-made package with a circle hidden in a function and one behind
    TYPE_CHECKING."""
    pkg = tmp_path / "proteomics"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .a import f\n")
    (pkg / "sub" / "a.py").write_text("def f():\n    from .b import g\n    return g\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
                                      "def g():\n    return 1\n")
    (pkg / "c.py").write_text("from .sub import a\nimport proteomics.sub.b\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PKG"]), "PKG", pkg)
    graph = import_graph()
    assert graph["proteomics.sub.a"] == {"proteomics.sub.b"} and graph["proteomics.sub.b"] == {"proteomics.sub.a"}
    assert graph["proteomics.c"] == {"proteomics.sub.a", "proteomics.sub.b"}
    assert cycles(graph) == [["proteomics.sub.a", "proteomics.sub.b"]]


def test_no_import_circles():
    found = cycles(import_graph())
    assert not found, "import circles (every import counted, in functions and under TYPE_CHECKING too): " + \
        "; ".join(" ↔ ".join(c) for c in found)
