#!/usr/bin/env python3
"""Set up a virtual environment and run zerodte's main job or its tests.

    python3 dev.py demo     # install into .venv, then run the main job on the synthetic market
    python3 dev.py test     # install into .venv (with dev tools), then ruff, mypy and pytest

Needs only Python 3.11+. Installs are skipped when pyproject.toml has not changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _run(cmd: list[str | os.PathLike[str]], **kw: object) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def ensure_env(extra: str) -> None:
    """Create .venv and install zerodte (editable) with ``extra``, once per pyproject change."""
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may be run by an older python3)
        sys.exit(f"zerodte needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    stamp = VENV / f".installed-{extra or 'base'}"
    if not (stamp.exists() and stamp.read_text() == digest):
        _install(extra)
        stamp.write_text(digest)
    # An editable install leaves zerodte's own modules uncompiled, and where
    # PYTHONDONTWRITEBYTECODE is set every process would compile them again (~0.1 s of
    # each command's start-up). compileall writes only what is missing or stale.
    _run([PY, "-m", "compileall", "-q", "src"])


def _install(extra: str) -> None:
    # torch is pinned (==2.13.0) in pyproject.toml so pip takes the CPU wheel instead of
    # resolving a newer multi-GB CUDA build.
    target = f".[{extra}]" if extra else "."
    _run([PY, "-m", "pip", "install", "--quiet", "-e", target])


def main() -> int:
    """Entry point: ``demo`` or ``test`` followed by optional arguments."""
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "demo":
        ensure_env("")
        _run([BIN / "zerodte", "demo", *rest])
        return 0
    ensure_env("dev")
    _run([BIN / "ruff", "check", "src", "tests", "benchmarks", "dev.py"])
    _run([BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "dev.py"])
    _run([BIN / "mypy"])
    workers = os.environ.get("ZERODTE_TEST_WORKERS", "2")
    _run([PY, "-m", "pytest", "-n", workers, *rest])
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except subprocess.CalledProcessError as exc:
        raise SystemExit(exc.returncode) from None
