"""Fixtures for the settings tests: a process environment without any zerodte variables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from zerodte.config.aliases import ALIASES


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Remove every ZERODTE_* and legacy variable and work in an empty directory."""
    legacy = {alias.name for alias in ALIASES}
    for name in list(os.environ):
        if name.upper().startswith("ZERODTE_") or name in legacy:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
