"""The Parquet store: round trip, merging, refusing bad or conflicting data, hash, info."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.market.store import ParquetStore, data_hash_of


def test_round_trip_layout_and_info(tmp_path: Path, small_market: dict[str, pd.DataFrame]) -> None:
    store = ParquetStore(tmp_path)
    assert not store.has_data() and store.info().empty
    for sym, frame in small_market.items():
        store.write(sym, frame, source="synthetic")
    path = store.file_path("SPY", 2024)
    assert path is not None and path.relative_to(tmp_path / "bars").parts[1:] == (
        "symbol=SPY",
        "year=2024.parquet",
    )
    loaded = store.load()
    for sym, frame in small_market.items():
        pd.testing.assert_frame_equal(loaded[sym], frame)
    info = store.info()
    assert info.symbols["SPY"].trading_days == 5
    assert info.symbols["SPY"].first_day == date(2024, 7, 1)
    assert info.symbols["VIX"].rows == len(small_market["VIX"])
    assert info.symbols["SPY"].sources == ("synthetic",)
    assert info.data_hash == data_hash_of(small_market) == store.data_hash()
    part = store.load(["spy"], start=date(2024, 7, 3), end=date(2024, 7, 5))["SPY"]
    assert sorted(set(part["timestamp"].dt.date)) == [date(2024, 7, 3), date(2024, 7, 5)]
    assert store.verify().ok


def test_merge_years_and_idempotent_writes(tmp_path: Path) -> None:
    from zerodte.market.synthetic import generate_market

    bars = generate_market(date(2023, 12, 27), 6, seed=1)["SPY"]  # spans two years
    store = ParquetStore(tmp_path)
    first, second = bars.iloc[: 3 * 390], bars.iloc[2 * 390 :]  # whole days, one shared
    store.write("SPY", first, source="a")
    store.write("SPY", second, source="b")  # overlap identical -> accepted
    store.write("SPY", second, source="b")
    pd.testing.assert_frame_equal(store.load()["SPY"], bars)
    path = store.file_path("SPY", 2023)
    assert path is not None
    assert {p.name for p in path.parent.iterdir()} == {
        "year=2023.parquet",
        "year=2024.parquet",
    }
    assert store.info().symbols["SPY"].sources == ("a", "b")


def test_never_overwrites_good_data_with_bad(tmp_path: Path, small_market: dict) -> None:
    store = ParquetStore(tmp_path)
    spy = small_market["SPY"]
    store.write("SPY", spy, source="good")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")}
    bad = spy.copy()
    bad.loc[5, "high"] = bad.loc[5, "low"] - 1.0
    with pytest.raises(DataError, match="high below low"):
        store.write("SPY", bad, source="bad")
    changed = spy.copy()
    changed.loc[5:9, "close"] = changed.loc[5:9, "low"]  # valid, but differs from stored
    with pytest.raises(DataError, match="differ"):
        store.write("SPY", changed, source="other")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")} == before
    store.write("SPY", changed, source="other", replace=True)
    np.testing.assert_array_equal(store.load()["SPY"]["close"], changed["close"])


def test_data_hash_is_content_only(small_market: dict[str, pd.DataFrame]) -> None:
    h = data_hash_of(small_market)
    assert h == data_hash_of({k: small_market[k].copy() for k in reversed(list(small_market))})
    tweaked = dict(small_market)
    tweaked["VIX"] = small_market["VIX"].assign(close=small_market["VIX"]["close"] + 1e-9)
    assert data_hash_of(tweaked) != h


def test_verify_compares_every_symbol_with_every_other(tmp_path: Path, small_market: dict) -> None:
    store = ParquetStore(tmp_path)
    days = small_market["SPY"]["timestamp"].dt.date
    first = days.iloc[0]
    store.write_many(
        {
            "SPY": small_market["SPY"],
            "QQQ": small_market["QQQ"].loc[small_market["QQQ"]["timestamp"].dt.date != first],
            "VIX": small_market["VIX"],
        },
        source="synthetic",
    )
    report = store.verify()
    kinds = {(p.problem, p.file.rsplit("=", 1)[-1]) for p in report.problems}
    assert kinds == {
        ("trading days missing relative to SPY", "QQQ"),
        ("trading days missing relative to VIX", "QQQ"),
    }


def test_verify_refuses_a_stored_inf(tmp_path: Path, small_market: dict) -> None:
    store = ParquetStore(tmp_path)
    store.write_many(small_market, source="synthetic")
    path = store.file_path("SPY", 2024)
    assert path is not None
    frame = pd.read_parquet(path)
    frame.loc[12, ["close", "high"]] = np.inf  # written behind the store's back
    frame.to_parquet(path)
    report = store.verify()
    assert not report.ok and "non-finite value" in report.counts()


def test_a_refused_transaction_publishes_nothing(tmp_path: Path, small_market: dict) -> None:
    store = ParquetStore(tmp_path)
    store.write("SPY", small_market["SPY"], source="a")
    before = {p: p.read_bytes() for p in (tmp_path / "bars").rglob("*") if p.is_file()}
    bad = small_market["VIX"].copy()
    bad.loc[3, "close"] = -1.0
    with pytest.raises(DataError, match="non-positive"):
        store.write_many({"QQQ": small_market["QQQ"], "VIX": bad}, source="b")
    after = {p: p.read_bytes() for p in (tmp_path / "bars").rglob("*") if p.is_file()}
    assert after == before and store.symbols() == ["SPY"]
    assert not [p for p in (tmp_path / "bars").iterdir() if p.name.startswith(".staging")]


def test_flat_layout_becomes_generation_one(tmp_path: Path, small_market: dict) -> None:
    legacy = tmp_path / "bars" / "symbol=SPY" / "year=2024.parquet"
    legacy.parent.mkdir(parents=True)
    small_market["SPY"].to_parquet(legacy, index=False)
    store = ParquetStore(tmp_path)
    assert store.recovered and (tmp_path / "bars" / "CURRENT").read_text().strip() == "g000001"
    assert not legacy.exists()
    pd.testing.assert_frame_equal(store.load()["SPY"], small_market["SPY"])
