"""Validation names every problem with its file row; repairs are explicit and reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.market.files import import_file
from zerodte.market.validation import parse_repairs, repair_bars, validate_bars


def _day(n: int = 390, day: str = "2024-03-04") -> pd.DataFrame:
    ts = pd.date_range(f"{day} 09:30", periods=n, freq="1min", tz="America/New_York")
    px = 500.0 + np.arange(n) * 0.01
    return pd.DataFrame(
        {
            "timestamp": ts,
            "open": px,
            "high": px + 0.05,
            "low": px - 0.05,
            "close": px,
            "volume": 1000.0,
        }
    )


def test_clean_day_has_no_problems() -> None:
    assert validate_bars(_day(), "SPY", "x").ok


def test_every_problem_kind_with_rows() -> None:
    f = _day()
    f.loc[4, "close"] = np.nan  # row 5
    f.loc[9, "low"] = -1.0  # row 10
    f.loc[14, ["high", "low"]] = [499.0, 501.0]  # row 15: high < low
    f.loc[19, "open"] = 600.0  # row 20: open above high
    f.loc[24, "volume"] = 0.0  # row 25
    f.loc[29, "timestamp"] = f.loc[28, "timestamp"]  # row 30: duplicate
    f = f.drop(index=[100, 101, 102]).reset_index(drop=True)  # missing 11:10..11:12
    extra = _day(1).assign(timestamp=pd.Timestamp("2024-03-04 17:00", tz="America/New_York"))
    f = pd.concat([f, extra], ignore_index=True)  # last row: outside session
    swapped = f.iloc[[200, 199]].to_numpy()
    f.iloc[[199, 200]] = swapped  # rows 200/201 out of order
    report = validate_bars(f, "SPY", "bars.csv")
    seen = {(p.problem, p.row) for p in report.problems}
    assert ("missing value (NaN)", 5) in seen
    assert ("non-positive price", 10) in seen
    assert ("high below low", 15) in seen
    assert ("open outside [low, high]", 20) in seen
    assert ("zero volume", 25) in seen
    assert ("duplicate timestamp", 30) in seen
    assert ("out of order", 201) in seen
    assert ("outside the regular session", len(f)) in seen
    gaps = [p for p in report.problems if p.problem == "missing minutes"]
    assert any("11:10" in p.value and "(3 min)" in p.value for p in gaps)
    assert all(p.fix for p in report.problems)
    with pytest.raises(DataError, match=r"bars\.csv:5"):
        report.raise_if_bad("import")


def test_vix_zero_volume_is_fine_and_timezone_checks() -> None:
    f = _day().assign(volume=0.0)
    assert validate_bars(f, "VIX", "x").ok
    naive = f.assign(timestamp=f["timestamp"].dt.tz_localize(None))
    assert validate_bars(naive, "VIX", "x").problems[0].problem == "missing timezone"
    utc = f.assign(timestamp=f["timestamp"].dt.tz_convert("UTC"))
    assert validate_bars(utc, "VIX", "x").problems[0].problem == "wrong timezone"


def test_repairs_are_explicit_and_reported() -> None:
    f = _day()
    f.loc[3, "close"] = np.nan
    f = pd.concat([f, f.iloc[[10]]], ignore_index=True)  # duplicate at the end (unsorted)
    f = f.drop(index=[50]).reset_index(drop=True)
    fixed, notes = repair_bars(f, "SPY", ["drop-nan", "sort", "drop-duplicates", "fill-missing"])
    text = " ".join(notes)
    assert "dropped 1 row(s) with NaN" in text and "forward-filled 2 missing" in text
    assert len(fixed) == 390 and fixed["timestamp"].is_unique
    assert validate_bars(fixed, "SPY", "x", zero_volume="note").ok
    with pytest.raises(DataError, match="unknown repair"):
        parse_repairs("make-it-good")


def test_import_refuses_then_repairs(tmp_path: Path) -> None:
    f = _day()
    f.loc[7, "close"] = np.nan
    path = tmp_path / "spy.csv"
    f.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        import_file(path, symbol="SPY")
    assert "spy.csv:8 [close] missing value (NaN)" in str(err.value)
    res = import_file(path, symbol="SPY", repairs="drop-nan,fill-missing")
    assert len(res.bars["SPY"]) == 390
    assert not res.bars["SPY"].isna().any().any()
    filled = res.bars["SPY"].iloc[7]
    assert filled["volume"] == 0.0 and filled["close"] == f.loc[6, "close"]
