"""Repo-wide rules, as tests."""

from __future__ import annotations

import ast
from pathlib import Path

from resolvers.schema import sdl

ROOT = Path(__file__).resolve().parents[1]

# Imports point down only: api -> resolvers -> services -> his_clients / store. The simulator stands
# apart (a hospital of its own); only the CLI starts it.
LAYERS = {"api": 4, "resolvers": 3, "services": 2, "his_clients": 1, "store": 1, "simulator": 0}
ALLOWED_ACROSS = {("api", "simulator")}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(LAYERS)


def test_schema_graphql_is_current() -> None:
    assert (ROOT / "schema.graphql").read_text(encoding="utf-8") == sdl(), "run: make schema"


def test_imports_point_down_only() -> None:
    wrong = []
    for package, level in LAYERS.items():
        for path in (ROOT / package).rglob("*.py"):
            for imported in imported_packages(path):
                if imported == package or (package, imported) in ALLOWED_ACROSS:
                    continue
                if package == "simulator" or imported == "simulator" or LAYERS[imported] >= level:
                    wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert wrong == []


def test_nothing_above_his_clients_imports_httpx() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("resolvers", "services", "store")
        for path in (ROOT / package).rglob("*.py")
        if "httpx" in {n.split(".")[0] for n in _all_imports(path)}
    ]
    assert offenders == []


def _all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names
