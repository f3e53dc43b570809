"""Stored sentiment series: provenance, keep-first merges, coverage; the as-of join to the
minute grid (a truncation test at every minute); optional feature columns in load_market,
the features and the PPO state (absent, never zero, when not stored)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings
from zerodte.errors import DataError
from zerodte.features import compute_features
from zerodte.market.loading import load_market
from zerodte.market.sentiment.join import join_series
from zerodte.market.sentiment.series import normalize
from zerodte.market.sentiment.store import MARKET, SentimentStore, StoredSeries
from zerodte.market.store import ParquetStore
from zerodte.policy.controllers.ppo_state import state_features

NY = "America/New_York"
DAYS = (date(2024, 7, 1), date(2024, 7, 8))


def _fear_greed(days: list[date]) -> pd.DataFrame:
    closes = [pd.Timestamp(f"{d} 16:00", tz=NY) for d in days]
    return pd.DataFrame(
        {
            "known_at": closes,
            "time": [pd.Timestamp(d, tz="UTC") for d in days],
            "value": np.linspace(20, 80, len(days)),
            "rating": "neutral",
            "source": "cnn:graphdata",
        }
    )


def _news(start: pd.Timestamp, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    published = start + pd.to_timedelta(np.sort(rng.uniform(0, 5 * 24 * 60, n)), unit="min")
    return pd.DataFrame(
        {
            "known_at": published,
            "published": published,
            "score": rng.choice([-1.0, 0.0, 1.0], n),
            "id": [f"a{i}" for i in range(n)],
            "publisher": "wire",
            "source": "polygon:news",
        }
    )


def _put_call(times: pd.DatetimeIndex) -> pd.DataFrame:
    known = times[::7] + pd.Timedelta(seconds=20)
    vol = np.arange(1, len(known) + 1, dtype=float)
    return pd.DataFrame(
        {
            "known_at": known,
            "put_volume": vol * 3,
            "call_volume": vol * 2,
            "put_oi": 10.0,
            "call_oi": 20.0,
            "ratio": 1.5 + np.sin(vol),
            "ratio_oi": 0.5,
            "contracts": 4.0,
            "source": "tradier:chains",
        }
    )


def _stored(name: str, rows: pd.DataFrame, first: date, last: date) -> StoredSeries:
    return StoredSeries(normalize(name, rows, "test"), ("test",), ((first, last),))


def test_store_merges_keeping_the_first_value_and_records_provenance(tmp_path: Path) -> None:
    store = SentimentStore(tmp_path)
    rows = _fear_greed([date(2024, 7, 1), date(2024, 7, 2)])
    assert (
        store.write("fear-greed", MARKET, rows, first=date(2024, 7, 1), last=date(2024, 7, 2)) == 2
    )
    revised = rows.assign(value=99.0, source="cnn:revised")
    later = _fear_greed([date(2024, 7, 3)])
    both = pd.concat([revised, later])
    assert (
        store.write("fear-greed", MARKET, both, first=date(2024, 7, 1), last=date(2024, 7, 3)) == 1
    )
    got = store.load("fear-greed", MARKET)
    assert got is not None
    assert list(got.rows["value"][:2]) == list(rows["value"])  # what was known stays
    assert got.coverage == ((date(2024, 7, 1), date(2024, 7, 3)),)
    assert set(got.sources) == {"cnn:graphdata", "cnn:revised"}
    assert got.covers(date(2024, 7, 2), date(2024, 7, 3)) and not got.covers(
        date(2024, 6, 28), date(2024, 7, 1)
    )
    assert list(store.describe()) == ["fear-greed/MARKET"]


def test_store_refuses_bad_rows_and_leaves_the_file_unchanged(tmp_path: Path) -> None:
    store = SentimentStore(tmp_path)
    day = date(2024, 7, 1)
    store.write("fear-greed", MARKET, _fear_greed([day]), first=day, last=day)
    before = store.path("fear-greed", MARKET).read_bytes()
    bad = _fear_greed([date(2024, 7, 2)]).assign(value=np.nan)
    with pytest.raises(DataError, match=r"row 1 \[value\]"):
        store.write("fear-greed", MARKET, bad, first=day, last=day)
    assert store.path("fear-greed", MARKET).read_bytes() == before
    with pytest.raises(DataError, match="not a symbol"):
        store.path("polygon-news", "../x")
    with pytest.raises(DataError, match="unknown sentiment series"):
        store.path("tweets", "SPY")


def _times(bars: dict[str, pd.DataFrame]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(bars["SPY"]["timestamp"])


def test_join_is_as_of_what_was_known_at_every_minute(
    small_market: dict[str, pd.DataFrame],
) -> None:
    times = _times(small_market)
    first, last = DAYS
    full = {
        "fear-greed": _stored(
            "fear-greed",
            _fear_greed(list(pd.bdate_range("2024-06-27", "2024-07-08").date)),
            date(2024, 6, 27),
            last,
        ),
        "polygon-news": _stored(
            "polygon-news", _news(pd.Timestamp("2024-06-29", tz=NY), 400), date(2024, 6, 29), last
        ),
        "put-call": _stored("put-call", _put_call(times), first, last),
    }
    cols, described = join_series(times, full)
    assert set(cols) == {
        "fear_greed",
        "news_sentiment",
        "news_articles",
        "put_call_ratio",
        "put_call_ratio_oi",
        "sentiment",
    }
    assert described["column"] == "polygon-news"
    np.testing.assert_array_equal(cols["sentiment"], cols["news_sentiment"])
    decision = times.as_unit("ns").asi8 + 60 * 10**9
    # the 07-01 session sees the 06-28 close (a Friday), then 07-01's own after its close
    assert cols["fear_greed"][0] == full["fear-greed"].rows["value"].iloc[1]
    # truncate after each minute of the first two sessions: nothing at or before it changes
    known = {
        n: s.rows["known_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        for n, s in full.items()
    }
    for i in range(2 * 390):
        cut = {
            name: StoredSeries(
                s.rows.iloc[: int(np.searchsorted(known[name], decision[i], side="right"))],
                s.sources,
                s.coverage,
            )
            for name, s in full.items()
        }
        part, _ = join_series(times[: i + 1], cut)
        for name, values in part.items():
            np.testing.assert_array_equal(
                values, cols[name][: i + 1], err_msg=f"{name} at {times[i]}"
            )


def test_a_series_that_does_not_cover_the_frame_is_left_out(
    small_market: dict[str, pd.DataFrame],
) -> None:
    times = _times(small_market)
    some = {
        "fear-greed": _stored(
            "fear-greed", _fear_greed([date(2024, 7, 2)]), date(2024, 7, 2), date(2024, 7, 5)
        )
    }
    cols, described = join_series(times, some, choice="fear-greed")
    assert cols == {} and described["column"] is None
    info = described["fear-greed"]
    assert (
        isinstance(info, dict) and info["joined"] is False and "data fetch" in str(info["reason"])
    )


def _settings(data_dir: Path, **data: object) -> Settings:
    return Settings.model_validate({"data": {"data_dir": data_dir, **data}})


def test_load_market_adds_sentiment_columns_only_when_stored(
    tmp_path: Path, small_market: dict[str, pd.DataFrame]
) -> None:
    ParquetStore(tmp_path).write_many(small_market, source="synthetic:seed=3:edge=1.0")
    plain = load_market(_settings(tmp_path))
    assert not {"sentiment", "fear_greed", "put_call_ratio"} & set(plain.frame.columns)
    assert "sentiment" not in plain.data_source
    feats = compute_features(plain.frame, "default")
    assert "sentiment" not in feats.columns and "sentiment" not in state_features(feats.columns)

    days = list(pd.bdate_range("2024-06-27", "2024-07-08").date)
    SentimentStore(tmp_path).write(
        "fear-greed", MARKET, _fear_greed(days), first=days[0], last=days[-1]
    )
    data = load_market(_settings(tmp_path))
    assert list(data.frame.columns[-2:]) == ["session", "minute"]
    assert data.data_source["sentiment"]["column"] == "fear-greed"  # type: ignore[index]
    sent = data.frame["sentiment"].to_numpy()
    np.testing.assert_allclose(sent, (data.frame["fear_greed"].to_numpy() - 50) / 50)
    assert np.isfinite(sent).all()
    feats = compute_features(data.frame, "default")
    assert {"sentiment", "sentiment_change_15m"} <= set(feats.columns)
    assert state_features(feats.columns)[-2:] == ("sentiment", "sentiment_change_15m")
    assert data.data_source["bars_hash"] == plain.data_hash != data.data_hash
    assert data.data_source["data_hash"] == data.data_hash
    # synthetic bars are unchanged by the join
    pd.testing.assert_frame_equal(data.frame[plain.frame.columns], plain.frame)
    off = load_market(_settings(tmp_path, sentiment_source="none"))
    assert "sentiment" not in off.frame.columns and "fear_greed" in off.frame.columns
