"""The backtest's speed and memory paths change no record: same bytes with and without them.

* ``plots=False`` (``zerodte backtest --no-plots``) skips only ``equity.png``;
* the feed's and the quote model's per-cycle columns are ``array('d')`` (8 bytes a float)
  where they were lists: a run on plain lists writes the same records, byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zerodte.engine import build, feed

from .helpers import Market, make_market, make_settings

RECORDS = ("trades.parquet", "equity.parquet", "decisions.parquet", "summary.json")


@pytest.fixture(scope="module")
def market() -> Market:
    return make_market(3, seed=2)


def _run(market: Market, tmp_path: Path, name: str, **kw: object) -> Path:
    from zerodte.engine.backtest import run_backtest

    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    out = tmp_path / name
    res = run_backtest(s, market, write=True, record=False, run_dir=out, n_boot=200, **kw)  # type: ignore[arg-type]
    assert len(res.trades) > 5, "too few trades to compare"
    return out


def _same_records(a: Path, b: Path) -> None:
    for name in RECORDS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_no_plots_writes_the_same_records(market: Market, tmp_path: Path) -> None:
    a = _run(market, tmp_path, "plots")
    b = _run(market, tmp_path, "no-plots", plots=False)
    _same_records(a, b)
    assert (a / "equity.png").exists() and not (b / "equity.png").exists()
    assert (b / "ANALYSIS.md").read_bytes() == (a / "ANALYSIS.md").read_bytes()


def test_array_columns_give_the_records_of_lists(
    market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _run(market, tmp_path, "arrays")
    assert type(feed.floats(market.frame["spy_close"].to_numpy())).__name__ == "array"
    with monkeypatch.context() as m:
        m.setattr(feed, "floats", lambda values: values.tolist())
        m.setattr(build, "floats", lambda values: values.tolist())
        plain = _run(market, tmp_path, "lists")
    _same_records(fast, plain)
