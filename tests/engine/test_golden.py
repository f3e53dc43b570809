"""Golden backtests: the pinned figures of two small runs, and how to regenerate them.

* ``real_model``: ``run_backtest`` with what the settings build (modelled option quotes of
  ``zerodte.options``, ``options.selection`` contract choice), as the CLI runs it.
* ``simple_model``: the same market and controller on the crude quote model and ATM
  selection of ``helpers.py``. It does not move when the option model is recalibrated, so a
  change here points at the engine, the broker or the exits; a change in ``real_model``
  only points at the option model.

Both paths (vectorised and streaming) must reproduce the same file. After a deliberate
change of behaviour, regenerate the files and review their diff::

    ZERODTE_TEST_REGEN_GOLDEN=1 .venv/bin/pytest -q tests/engine/test_golden.py
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from zerodte.engine.backtest import Path_, run_backtest

from .helpers import AtmSelector, make_market, make_settings, simple_books

GOLDEN_DIR = Path(__file__).parent / "golden"
REGEN_ENV = "ZERODTE_TEST_REGEN_GOLDEN"
REGEN_COMMAND = f"{REGEN_ENV}=1 .venv/bin/pytest -q tests/engine/test_golden.py"

MARKET: dict[str, Any] = {"days": 3, "seed": 7, "edge": 1.0}
ENTRY: dict[str, Any] = {"controller": "momentum", "momentum_threshold_pct": 0.08}
SUMMARY_KEYS = (
    "trades",
    "wins",
    "losses",
    "cycles",
    "entries_sent",
    "open_at_end",
    "pnl",
    "fees_paid",
    "exit_reasons",
    "vetoes",
)
TRADE_KEYS = (
    "entry_time",
    "exit_time",
    "symbol",
    "qty",
    "entry_price",
    "exit_price",
    "fees",
    "pnl",
    "exit_reason",
)
DECIMALS = 6
"""Floats are pinned to 1e-6 dollars: far below a cent, far above rounding noise."""


def _plain(value: Any) -> Any:
    """A JSON value: ISO times, floats rounded to :data:`DECIMALS`, numpy scalars unboxed."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value


def _run(case: str, path: Path_, tmp: Path) -> dict[str, Any]:
    market = make_market(MARKET["days"], seed=MARKET["seed"], edge=MARKET["edge"])
    settings = make_settings(tmp, **ENTRY)
    quotes: dict[str, Any] = {}
    if case == "simple_model":
        quotes = {"quote_books": simple_books(market.frame), "selector": AtmSelector()}
    result = run_backtest(
        settings, market, path=path, write=False, record=False, n_boot=200, **quotes
    )
    summary = {k: _plain(result.summary[k]) for k in SUMMARY_KEYS}
    trades = [
        {k: _plain(row[k]) for k in TRADE_KEYS} for row in result.trades.to_dict(orient="records")
    ]
    return {"summary": summary, "trades": trades}


def _golden_file(case: str) -> Path:
    return GOLDEN_DIR / f"backtest_{case}.json"


@pytest.mark.parametrize("path", ["vectorised", "streaming"])
@pytest.mark.parametrize("case", ["real_model", "simple_model"])
def test_golden_backtest(case: str, path: Path_, tmp_path: Path) -> None:
    """Both paths reproduce the pinned summary and every pinned trade."""
    got = _run(case, path, tmp_path)
    file = _golden_file(case)
    if os.environ.get(REGEN_ENV) == "1":
        if path != "vectorised":
            pytest.skip(f"{REGEN_ENV}=1: the golden files are written from the vectorised path")
        pinned = {
            "about": f"golden backtest '{case}' (see tests/engine/test_golden.py)",
            "regenerate": REGEN_COMMAND,
            "market": MARKET,
            "entry": ENTRY,
            **got,
        }
        file.parent.mkdir(exist_ok=True)
        file.write_text(json.dumps(pinned, indent=1) + "\n")
        pytest.skip(f"{REGEN_ENV}=1: rewrote {file}; review its diff before committing")
    if not file.exists():
        pytest.fail(f"{file} is missing; create it with: {REGEN_COMMAND}")
    expected = json.loads(file.read_text())
    hint = f"the {case} golden backtest changed; if intended, run {REGEN_COMMAND} and review"
    assert got["summary"] == expected["summary"], hint
    assert got["trades"] == expected["trades"], hint


@pytest.mark.parametrize("case", ["real_model", "simple_model"])
def test_golden_files_add_up(case: str) -> None:
    """The pinned trades obey ``pnl = (exit - entry) * 100 * qty - fees`` and sum to the P&L."""
    pinned = json.loads(_golden_file(case).read_text())
    trades = pinned["trades"]
    assert len(trades) == pinned["summary"]["trades"] > 0
    step = 10.0**-DECIMALS
    for t in trades:
        expect = (t["exit_price"] - t["entry_price"]) * 100 * t["qty"] - t["fees"]
        # each pinned price is rounded by up to step / 2, and the P&L multiplies it by 100
        rounding = 100 * t["qty"] * step + 2 * step
        assert math.isclose(t["pnl"], expect, abs_tol=rounding), t
    assert math.isclose(sum(t["pnl"] for t in trades), pinned["summary"]["pnl"], abs_tol=1e-4)
    assert math.isclose(
        sum(t["fees"] for t in trades), pinned["summary"]["fees_paid"], abs_tol=1e-4
    )
