"""VIX at 1-minute, 5-minute or daily interval: stored at its own interval, joined as of
what was known, never filled from the future; QQQ optional; SPY-only stores."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings
from zerodte.errors import DataError
from zerodte.features.compute import compute_features
from zerodte.market.calendar import TradingCalendar
from zerodte.market.feeds import check_feed
from zerodte.market.files import import_file
from zerodte.market.intervals import asof_values, infer_interval
from zerodte.market.loading import load_market
from zerodte.market.schema import market_frame
from zerodte.market.store import ParquetStore
from zerodte.market.synthetic import generate_market
from zerodte.market.validation import repair_bars

CAL = TradingCalendar()


@pytest.fixture(scope="module")
def market() -> dict[str, pd.DataFrame]:
    return generate_market(date(2024, 3, 4), 2, seed=11)


def _resample(vix: pd.DataFrame, interval: str) -> pd.DataFrame:
    """5-minute or daily bars from 1-minute ones (start-stamped)."""
    ts = vix["timestamp"]
    if interval == "1day":
        key = ts.dt.normalize()
    else:
        local = ts.dt.tz_localize(None)
        key = (local.dt.floor("5min")).dt.tz_localize("America/New_York")
    grouped = vix.groupby(key.to_numpy())
    out = pd.DataFrame(
        {
            "timestamp": [ts[g.index[0]] for _, g in grouped],
            "open": grouped["open"].first().to_numpy(),
            "high": grouped["high"].max().to_numpy(),
            "low": grouped["low"].min().to_numpy(),
            "close": grouped["close"].last().to_numpy(),
            "volume": 0.0,
        }
    )
    return out.reset_index(drop=True)


def _known_by(bars: pd.DataFrame, interval: str, t: pd.Timestamp) -> pd.DataFrame:
    """Bars as a vendor could have served them at the close of minute ``t``: later bars
    deleted, and the unfinished part of a bar (or a daily bar's high/low/close) scrambled."""
    out = bars[bars["timestamp"] <= t].copy()
    if interval == "1day":
        today = out["timestamp"].dt.date == t.date()
        out.loc[today, ["high", "low", "close"]] = 1e3
    else:
        step = pd.Timedelta(minutes=5 if interval == "5min" else 1)
        running = out["timestamp"] + step > t + pd.Timedelta(minutes=1)
        out.loc[running, ["open", "high", "low", "close"]] = 1e3
    return out


@pytest.mark.parametrize("interval", ["1min", "5min", "1day"])
def test_no_value_at_t_changes_when_later_data_is_deleted(
    market: dict[str, pd.DataFrame], interval: str
) -> None:
    vix = market["VIX"] if interval == "1min" else _resample(market["VIX"], interval)
    grid = pd.DatetimeIndex(market["SPY"]["timestamp"])
    full = asof_values(vix, grid, interval, CAL)  # type: ignore[arg-type]
    for i in range(len(grid)):  # every minute of both sessions
        t = grid[i]
        cut = asof_values(_known_by(vix, interval, t), grid[: i + 1], interval, CAL)  # type: ignore[arg-type]
        np.testing.assert_array_equal(cut.to_numpy(), full.iloc[: i + 1].to_numpy(), err_msg=str(t))
    # and through the market frame and the features the backtest uses
    bars = {"SPY": market["SPY"], "VIX": vix}
    frame = market_frame(bars, {"VIX": interval})
    feats = compute_features(frame, "flow")
    t = grid[500]
    cut_bars = {
        "SPY": market["SPY"][market["SPY"]["timestamp"] <= t],
        "VIX": _known_by(vix, interval, t),
    }
    cut = compute_features(market_frame(cut_bars, {"VIX": interval}), "flow")
    np.testing.assert_array_equal(cut.to_numpy(), feats.loc[:t].to_numpy())


def test_asof_semantics(market: dict[str, pd.DataFrame]) -> None:
    grid = pd.DatetimeIndex(market["SPY"]["timestamp"])
    five = _resample(market["VIX"], "5min")
    v = asof_values(five, grid, "5min", CAL)
    # 09:30 and 09:31..09:33 decisions: no 5-minute bar has ended yet on the first day
    assert v["close"].iloc[:4].isna().all()
    # the 09:34 decision (close 09:35) sees the 09:30 bar's close
    assert v["close"].iloc[4] == five["close"].iloc[0]
    daily = _resample(market["VIX"], "1day")
    d = asof_values(daily, grid, "1day", CAL)
    assert (d["close"].iloc[:390] == daily["open"].iloc[0]).all()  # the open, never the close
    assert d["volume"].isna().all()
    # day 2 opens with day 1's last 5-minute close carried over (known then)
    assert v["close"].iloc[390] == five["close"].iloc[77]


def test_infer_interval(market: dict[str, pd.DataFrame]) -> None:
    assert infer_interval(market["VIX"]["timestamp"]) == "1min"
    assert infer_interval(_resample(market["VIX"], "5min")["timestamp"]) == "5min"
    assert infer_interval(_resample(market["VIX"], "1day")["timestamp"]) == "1day"


def _csv(frame: pd.DataFrame, path: Path, *, volume: bool = True, daily: bool = False) -> Path:
    out = frame.copy()
    if daily:
        out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%d")
        out = out.rename(columns={"timestamp": "date"})
    if not volume:
        out = out.drop(columns=["volume"])
    out.to_csv(path, index=False)
    return path


def test_daily_vix_without_volume_imports_at_the_open(
    market: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    daily = _resample(market["VIX"], "1day")
    res = import_file(_csv(daily, tmp_path / "vix.csv", volume=False, daily=True), symbol="VIX")
    assert res.interval == "1day"
    bars = res.bars["VIX"]
    assert len(bars) == 2 and (bars["timestamp"].dt.strftime("%H:%M") == "09:30").all()
    store = ParquetStore(tmp_path / "s")
    store.write_many({"SPY": market["SPY"]}, "file:spy.csv")
    store.write_many(res.bars, "file:vix.csv", interval=res.interval)
    assert store.intervals() == {"SPY": "1min", "VIX": "1day"}
    assert store.verify().ok
    s = Settings.model_validate({"data": {"data_dir": tmp_path / "s"}})
    md = load_market(s)
    assert md.data_source["vix"] == "1day" and md.data_source["qqq"] is False
    assert "qqq_close" not in md.frame.columns
    assert (md.frame["vix_close"].iloc[:390] == daily["open"].iloc[0]).all()


def test_five_minute_vix_imports_and_bar_end_labels_shift_by_five(
    market: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    five = _resample(market["VIX"], "5min")
    res = import_file(_csv(five, tmp_path / "v5.csv", volume=False), symbol="VIX")
    assert res.interval == "5min" and len(res.bars["VIX"]) == 156
    ended = five.assign(timestamp=five["timestamp"] + pd.Timedelta(minutes=5))
    res_end = import_file(_csv(ended, tmp_path / "v5e.csv"), symbol="VIX", label="end")
    pd.testing.assert_frame_equal(res_end.bars["VIX"], res.bars["VIX"])
    with pytest.raises(DataError, match="fill-missing applies to 1-minute bars only"):
        import_file(tmp_path / "v5.csv", symbol="VIX", repairs="fill-missing")
    gap = _csv(five.drop(index=[10, 11]), tmp_path / "gap.csv")
    holey = import_file(gap, symbol="VIX")  # an index gap: the last value known is used
    assert any("2 5min bar(s) missing in 1 gap(s)" in n for n in holey.report.notes)
    grid = pd.DatetimeIndex(market["SPY"]["timestamp"])
    v = asof_values(holey.bars["VIX"], grid, "5min", CAL)
    # bar 9 (10:15-10:20) stays the last known from the 10:19 to the 10:33 decision
    assert (v["close"].iloc[49:64] == five["close"].iloc[9]).all()


def test_a_traded_symbol_still_needs_volume(
    market: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    path = _csv(market["SPY"].head(390), tmp_path / "spy.csv", volume=False)
    with pytest.raises(DataError, match=r"missing column\(s\) \['volume'\]"):
        import_file(path, symbol="SPY")


def test_missing_whole_trading_day_is_refused(tmp_path: Path) -> None:
    bars = generate_market(date(2024, 3, 4), 3, seed=2)["SPY"]
    holey = bars[bars["timestamp"].dt.date != date(2024, 3, 5)]
    with pytest.raises(DataError, match=r"missing trading days.*2024-03-05"):
        import_file(_csv(holey, tmp_path / "h.csv"), symbol="SPY")


def test_fill_missing_never_copies_a_later_bar_backwards(market: dict[str, pd.DataFrame]) -> None:
    spy = market["SPY"]
    day2 = spy[spy["timestamp"].dt.date == date(2024, 3, 5)].index
    holey = spy.drop(index=[*day2[:3], *spy.index[:2]]).reset_index(drop=True)
    out, notes = repair_bars(holey, "SPY", ["fill-missing"], calendar=CAL)
    # the first day's opening minutes have no earlier close: left missing, not back-filled
    assert out["timestamp"].iloc[0] == spy["timestamp"].iloc[2]
    assert any("left missing" in n for n in notes)
    # day 2's opening gap takes day 1's last close (known then), not day 2's first open
    opening = out[out["timestamp"].dt.date == date(2024, 3, 5)].iloc[:3]
    assert (
        opening["close"] == spy[spy["timestamp"].dt.date == date(2024, 3, 4)]["close"].iloc[-1]
    ).all()


def test_store_keeps_synthetic_and_real_apart(
    market: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    real = ParquetStore(tmp_path / "real")
    real.write_many({"SPY": market["SPY"]}, "file:spy.csv")
    before = real.data_hash()
    with pytest.raises(DataError, match="synthetic and real data never share a store"):
        real.write_many(generate_market(date(2024, 3, 6), 1, seed=1), "synthetic:seed=1:edge=1.0")
    assert real.data_hash() == before
    fake = ParquetStore(tmp_path / "fake")
    fake.write_many(market, "synthetic:seed=11:edge=1.0")
    with pytest.raises(DataError, match="refusing to write real bars"):
        fake.write("SPY", market["SPY"], "file:spy.csv")


def test_store_refuses_another_interval_and_another_volume_scale(
    market: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    store = ParquetStore(tmp_path / "s")
    store.write("VIX", market["VIX"], "file:v.csv")
    with pytest.raises(DataError, match="holds 1min bars and these are 5min"):
        store.write("VIX", _resample(market["VIX"], "5min"), "file:v5.csv")
    day1 = market["SPY"][market["SPY"]["timestamp"].dt.date == date(2024, 3, 4)]
    day2 = market["SPY"][market["SPY"]["timestamp"].dt.date == date(2024, 3, 5)]
    store.write("SPY", day1, "file:sip.csv", feed="sip")
    iex = day2.assign(volume=(day2["volume"] / 20).round().clip(lower=1))
    with pytest.raises(DataError, match=r"different feeds.*--mix-feeds"):
        store.write("SPY", iex, "file:iex.csv", feed="iex")
    store.write("SPY", iex, "file:iex.csv", feed="iex", mix_feeds=True)
    assert store.provenance()["SPY"]["feeds"] == ["iex", "sip"]
    before = store.data_hash()
    for feed in ("", "sip,", "../x", "a" * 33, "SIP IEX"):
        with pytest.raises(DataError, match=f"feed {feed!r} is not a feed name"):
            store.write("SPY", day2, "file:odd.csv", feed=feed, mix_feeds=True)
    assert store.data_hash() == before
    assert check_feed(" IEX,sip,iex ") == "iex,sip"  # a mixed series as the data manager serves it


def test_spy_only_store_needs_vix_or_the_proxy(
    market: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    ParquetStore(tmp_path / "s").write("SPY", market["SPY"], "file:spy.csv")
    s = Settings.model_validate({"data": {"data_dir": tmp_path / "s"}})
    with pytest.raises(DataError, match=r"no VIX bars.*--vix-proxy"):
        load_market(s)
    md = load_market(
        Settings.model_validate({"data": {"data_dir": tmp_path / "s", "vix_proxy": True}})
    )
    assert md.data_source["vix"] == "proxy" and "VIX proxy" in md.source
    vix = md.frame["vix_close"].to_numpy()
    assert np.isnan(vix[:30]).all() and np.isfinite(vix[30:]).all()
    assert 5 < np.nanmedian(vix) < 80


def test_vix_days_missing_relative_to_spy(market: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "s")
    vix = market["VIX"]
    store.write_many(
        {"SPY": market["SPY"], "VIX": vix[vix["timestamp"].dt.date == date(2024, 3, 4)]}, "file:x"
    )
    s = Settings.model_validate({"data": {"data_dir": tmp_path / "s"}})
    with pytest.raises(DataError, match=r"VIX lacks 1 SPY day.*--skip-missing-days"):
        load_market(s)
    md = load_market(
        Settings.model_validate({"data": {"data_dir": tmp_path / "s", "skip_missing_days": True}})
    )
    assert md.sessions == [date(2024, 3, 4)]
    assert md.data_source["skipped_days"] == ["2024-03-05"]


def test_features_needing_absent_data_are_left_out(market: dict[str, pd.DataFrame]) -> None:
    from zerodte.features.sets import get_feature_set

    frame = market_frame({"SPY": market["SPY"], "VIX": market["VIX"]})  # no QQQ columns
    feats = compute_features(frame, "default")
    assert not [c for c in feats.columns if "qqq" in c]
    full = get_feature_set("default")
    assert set(full.columns) - set(feats.columns) == set(full.resolve(["qqq_close"]).columns) - set(
        feats.columns
    )
    assert full.resolve(frame.columns).schema_hash != full.schema_hash  # a model would refuse
    daily = market_frame(
        {"SPY": market["SPY"], "VIX": _resample(market["VIX"], "1day")}, {"VIX": "1day"}
    )
    minimal = compute_features(daily, "minimal")
    assert "vix_change_5m" not in minimal.columns and "vix_level" in minimal.columns
    empty = frame.assign(qqq_open=np.nan, qqq_high=np.nan, qqq_low=np.nan, qqq_close=np.nan)
    with pytest.raises(DataError, match=r"needs QQQ \(qqq_close.*every qqq_close value is missing"):
        compute_features(empty.assign(qqq_volume=np.nan), "default")


def test_asof_frames_have_the_grid_the_columns_and_float_values(
    market: dict[str, pd.DataFrame],
) -> None:
    grid = pd.DatetimeIndex(market["SPY"]["timestamp"])
    cols = ["open", "high", "low", "close", "volume"]
    for interval, bars in (("1min", market["VIX"]), ("5min", _resample(market["VIX"], "5min"))):
        v = asof_values(bars, grid, interval, CAL)
        assert v.index.equals(grid) and list(v.columns) == cols
        assert (v.dtypes == np.float64).all()
    empty = asof_values(market["VIX"].iloc[:0], grid, "1min", CAL)
    assert empty.index.equals(grid) and empty.isna().all().all()


def test_market_frame_takes_spy_as_it_is(market: dict[str, pd.DataFrame]) -> None:
    frame = market_frame(market)
    spy = market["SPY"]
    assert frame.index.equals(pd.DatetimeIndex(spy["timestamp"], name="timestamp"))
    for col in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(frame[f"spy_{col}"].to_numpy(), spy[col].to_numpy(dtype=float))


def test_minute_bars_on_the_grid_give_what_the_join_gives(
    market: dict[str, pd.DataFrame],
) -> None:
    """A minute series stamped exactly on the grid's minutes is taken as it is; the same
    series with one more bar before it goes through the as-of join: the values agree."""
    grid = pd.DatetimeIndex(market["SPY"]["timestamp"])
    vix = market["VIX"]
    assert np.array_equal(vix["timestamp"].to_numpy(), grid.to_numpy())
    earlier = vix.iloc[:1].assign(timestamp=vix["timestamp"].iloc[0] - pd.Timedelta(days=1))
    joined = asof_values(pd.concat([earlier, vix], ignore_index=True), grid, "1min", CAL)
    taken = asof_values(vix, grid, "1min", CAL)
    pd.testing.assert_frame_equal(taken, joined)
    first = float(vix["close"].iloc[0])
    taken.iloc[0, 3] = -1.0  # the frame owns its values: the bars are not changed
    assert float(vix["close"].iloc[0]) == first > 0.0
