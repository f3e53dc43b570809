"""Imports point one way: a package may import only packages above it in LAYERS."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "zerodte"

LAYERS: tuple[str, ...] = (
    "config",
    "market",
    "options",
    "features",
    "regime",
    "models",
    "policy",
    "exits",
    "broker",
    "research",
    "store",
    "engine",
    "qscorer",
    "rl",
    "learning",
    "experiments",
    "dashboard",
    "cli",
)
ROOT_MODULES = {"types", "errors", "io", "net", "records"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, mod) for line, mod in found if mod.split(".")[0] == "zerodte"]


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_package_is_layered() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and not p.name.startswith("_")}
    packages.discard("__pycache__")
    assert packages <= set(LAYERS), f"packages missing from LAYERS: {packages - set(LAYERS)}"


@pytest.mark.parametrize("package", LAYERS)
def test_imports_point_up_the_layers(package: str) -> None:
    rank = LAYERS.index(package)
    violations = []
    for path in sorted((SRC / package).rglob("*.py")):
        for line, module in _imports(path):
            target = _layer_of(module)
            if target is None or target in ROOT_MODULES or target == package:
                continue
            if target not in LAYERS or LAYERS.index(target) > rank:
                violations.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_root_modules_import_no_packages() -> None:
    for name in ROOT_MODULES:
        path = SRC / f"{name}.py"
        for line, module in _imports(path):
            target = _layer_of(module)
            assert target in ROOT_MODULES, f"{name}.py:{line} imports {module}"
