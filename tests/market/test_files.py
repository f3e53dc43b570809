"""File import: mapping, timezones, bar-end labels, extended hours, long format."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.market.files import import_file, parse_mapping


def _raw(day: str = "2024-03-04", start: str = "09:30", n: int = 390) -> pd.DataFrame:
    ts = pd.date_range(f"{day} {start}", periods=n, freq="1min")
    px = 100.0 + np.arange(n) * 0.01
    return pd.DataFrame(
        {"Time": ts, "Open": px, "High": px + 0.1, "Low": px - 0.1, "Close": px, "Vol": 10.0}
    )


def test_mapping_naive_tz_and_aliases(tmp_path: Path) -> None:
    raw = _raw()
    raw["Time"] = raw["Time"].dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    raw["Time"] = raw["Time"].dt.tz_localize(None)  # naive UTC wall times
    path = tmp_path / "x.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError, match="--tz"):
        import_file(path, symbol="SPY", mapping="Time=timestamp,Vol=volume")
    res = import_file(path, symbol="spy", mapping="Time=timestamp,Vol=volume", tz="UTC")
    bars = res.bars["SPY"]
    assert str(bars["timestamp"].dt.tz) == "America/New_York"
    assert bars["timestamp"].iloc[0] == pd.Timestamp("2024-03-04 09:30", tz="America/New_York")
    assert len(bars) == 390
    assert parse_mapping("a=b, c=d") == {"a": "b", "c": "d"}
    with pytest.raises(DataError, match="source=canonical"):
        parse_mapping("nonsense")


def test_bar_end_labels_and_extended_hours(tmp_path: Path) -> None:
    raw = _raw(start="09:31")  # bar-end stamped: 09:31 .. 16:00
    ext = _raw(start="16:01", n=30)
    raw = pd.concat([raw, ext], ignore_index=True)
    raw["Time"] = raw["Time"].dt.tz_localize("America/New_York")
    path = tmp_path / "x.parquet"
    raw.rename(columns={"Vol": "volume"}).to_parquet(path)
    res = import_file(path, symbol="SPY", label="end")
    bars = res.bars["SPY"]
    assert len(bars) == 390 and res.dropped_extended == {"SPY": 30}
    assert bars["timestamp"].iloc[-1].strftime("%H:%M") == "15:59"
    with pytest.raises(DataError, match="outside the regular session"):
        import_file(path, symbol="SPY", label="end", keep_extended=True)


def test_long_format_and_half_day(tmp_path: Path) -> None:
    # 2024-07-03 closes at 13:00: bars after 12:59 are extended hours that day
    a = _raw(day="2024-07-03", n=300).assign(symbol="SPY")
    b = _raw(day="2024-07-03", n=300).assign(symbol="QQQ")
    raw = pd.concat([a, b], ignore_index=True).rename(columns={"Vol": "volume"})
    raw["Time"] = raw["Time"].dt.tz_localize("America/New_York")
    path = tmp_path / "long.csv"
    raw.to_csv(path, index=False)
    res = import_file(path)
    assert set(res.bars) == {"SPY", "QQQ"}
    assert len(res.bars["QQQ"]) == 210 and res.dropped_extended["QQQ"] == 90
    only = import_file(path, symbol="QQQ")
    assert set(only.bars) == {"QQQ"}


def test_non_numeric_cells_are_reported(tmp_path: Path) -> None:
    raw = _raw().rename(columns={"Vol": "volume"})
    raw["Time"] = raw["Time"].dt.tz_localize("America/New_York")
    raw["Close"] = raw["Close"].astype(object)
    raw.loc[2, "Close"] = "n/a?"
    path = tmp_path / "x.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"x.csv:3 \[close\] not a number"):
        import_file(path, symbol="SPY")


def test_an_epoch_column_with_a_few_other_values_names_them(tmp_path: Path) -> None:
    """Epoch seconds with one 'inf' (or any non-number) point at that row, not at the first
    row as an unreadable ISO time."""
    path = tmp_path / "ep.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "1704205800,470,471,469,470,100\n1704205860,470,471,469,470,100\n"
        "inf,470,471,469,470,100\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"holds Unix epoch numbers, but 1 value\(s\) are not "
                       r"\(row 3: 'inf'\)"):  # fmt: skip
        import_file(path, symbol="SPY", tz="UTC")


MAP = "Time=timestamp,Vol=volume"


def test_start_end_restrict_the_import_before_any_check(tmp_path: Path) -> None:
    days = ["2024-03-04", "2024-03-05", "2024-03-06"]
    frame = pd.concat([_raw(d) for d in days], ignore_index=True)
    frame["Time"] = frame["Time"].astype(str)
    frame["Close"] = frame["Close"].astype(object)
    frame.loc[0, "Time"] = "1990-01-02 09:30:00"  # before the calendar, outside the window
    frame.loc[len(frame) - 1, "Close"] = "junk"  # a bad cell outside the window
    path = tmp_path / "spy.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="outside the trading calendar"):
        import_file(path, symbol="SPY", tz="America/New_York", mapping=MAP)
    res = import_file(
        path,
        symbol="SPY",
        tz="America/New_York",
        mapping=MAP,
        start=date(2024, 3, 5),
        end=date(2024, 3, 5),
    )
    spy = res.bars["SPY"]
    assert len(spy) == 390 and set(spy["timestamp"].dt.date) == {date(2024, 3, 5)}
    assert any("left out 780 row(s) outside --start/--end" in n for n in res.report.notes)
    with pytest.raises(DataError, match=r"no row between 2025-01-02 and .*file holds 1990-01-02"):
        import_file(path, symbol="SPY", tz="America/New_York", mapping=MAP, start=date(2025, 1, 2))
