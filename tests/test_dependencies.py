"""Dependencies as declared (issue 17, finding 6): every distribution the package imports
is declared in pyproject.toml, every declared one is imported, and the lock files pin
each declared distribution (requirements.lock and requirements-dev.lock, made by scripts/lock;
README, "Install")."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = ("villagegraph", "schema", "resolvers", "tenants")
# Declared but never imported by name, each with why.
NOT_IMPORTED = {
    "bench": {"py-spy": "a profiler the benchmark runs as a program"},
    "test": {
        "ruff": "the linter scripts/test runs",
        "mypy": "the type checker scripts/test runs",
        "pytest-asyncio": "a pytest plugin, loaded by pytest",
    },
}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imports(paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names}


def _distributions(modules: set[str], local: set[str]) -> dict[str, set[str]]:
    """Each third-party module's distributions (lower-case, dashes)."""
    known = importlib.metadata.packages_distributions()
    result = {}
    for module in modules - local:
        names = known.get(module)
        assert names, f"{module} is imported but installed by no distribution"
        result[module] = {n.lower().replace("_", "-") for n in names}
    return result


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_import_of_the_package_is_declared_and_every_declared_one_imported():
    runtime = {_name(r) for r in _project()["dependencies"]}
    files = [p for d in PACKAGE_DIRS for p in (ROOT / d).rglob("*.py")]
    used = _distributions(_imports(files), {"villagegraph"})
    undeclared = {m: d for m, d in used.items() if not d & runtime}
    assert undeclared == {}
    imported = set().union(*used.values())
    assert sorted(runtime - imported) == []


def test_the_tests_import_only_declared_distributions():
    project = _project()
    declared = {_name(r) for r in project["dependencies"]}
    declared |= {_name(r) for r in project["optional-dependencies"]["test"]}
    local = {"villagegraph", "tests", "bench"}
    files = [p for p in (ROOT / "tests").rglob("*.py") if "node_modules" not in p.parts]
    used = _distributions(_imports(files), local)
    assert {m: d for m, d in used.items() if not d & declared} == {}
    test_only = {_name(r) for r in project["optional-dependencies"]["test"]}
    imported = set().union(*used.values())
    assert sorted(test_only - imported - set(NOT_IMPORTED["test"])) == []


def _pinned(lock_file: str) -> set[str]:
    lock = (ROOT / lock_file).read_text()
    assert "--generate-hashes" in lock.splitlines()[1], f"{lock_file} is not made by scripts/lock"
    return {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}


def test_the_lock_files_pin_every_declared_distribution():
    project = _project()
    runtime = {_name(r) for r in project["dependencies"]}
    test = {_name(r) for r in project["optional-dependencies"]["test"]}
    assert sorted(runtime - _pinned("requirements.lock")) == []
    assert sorted((runtime | test) - _pinned("requirements-dev.lock")) == []
    tools = {"pytest", "ruff", "mypy", "hypothesis"}
    assert tools <= test and not tools & _pinned("requirements.lock"), "test tools in the image"
