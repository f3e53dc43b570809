"""Sources: the protocol, retries with backoff on transient errors, and the day cache."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.market.sources import (
    CachedSource,
    FileSource,
    MarketDataSource,
    RetryingSource,
    SyntheticSource,
    TransientDataError,
)
from zerodte.market.synthetic import SyntheticConfig

CFG = SyntheticConfig(seed=2, days=6, start=date(2024, 3, 4))


class Flaky:
    name = "flaky"

    def __init__(self, failures: int, error: type[Exception] = TransientDataError) -> None:
        self.failures, self.calls, self.error = failures, 0, error
        self.inner = SyntheticSource(CFG)

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("vendor timed out")
        return self.inner.fetch(symbol, start, end)


class Counting:
    name = "counting"

    def __init__(self) -> None:
        self.inner = SyntheticSource(CFG)
        self.requests: list[tuple[str, date, date]] = []

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        self.requests.append((symbol, start, end))
        return self.inner.fetch(symbol, start, end)


def test_synthetic_source_slices_one_market() -> None:
    src = SyntheticSource(CFG)
    assert isinstance(src, MarketDataSource)
    whole = src.fetch("SPY", date(2024, 3, 4), date(2024, 3, 11))
    part = src.fetch("SPY", date(2024, 3, 6), date(2024, 3, 6))
    assert len(whole) == 6 * 390 and len(part) == 390
    pd.testing.assert_frame_equal(part, whole.iloc[2 * 390 : 3 * 390].reset_index(drop=True))
    with pytest.raises(DataError):
        src.fetch("IWM", date(2024, 3, 4), date(2024, 3, 4))


def test_retry_on_transient_then_succeed() -> None:
    waits: list[float] = []
    flaky = Flaky(failures=2)
    src = RetryingSource(flaky, attempts=4, wait_base=1.0, sleep=waits.append)
    out = src.fetch("SPY", date(2024, 3, 4), date(2024, 3, 4))
    assert len(out) == 390 and flaky.calls == 3
    assert len(waits) == 2 and waits[1] > waits[0]  # exponential backoff


def test_retry_gives_up_and_does_not_retry_other_errors() -> None:
    src = RetryingSource(Flaky(failures=10), attempts=3, sleep=lambda _: None)
    with pytest.raises(TransientDataError):
        src.fetch("SPY", date(2024, 3, 4), date(2024, 3, 4))
    assert src.inner.calls == 3  # type: ignore[attr-defined]
    hard = Flaky(failures=10, error=DataError)
    with pytest.raises(DataError):
        RetryingSource(hard, attempts=3, sleep=lambda _: None).fetch(
            "SPY", date(2024, 3, 4), date(2024, 3, 4)
        )
    assert hard.calls == 1


def test_cache_fetches_each_day_once(tmp_path: Path) -> None:
    inner = Counting()
    cached = CachedSource(inner, tmp_path)
    a = cached.fetch("SPY", date(2024, 3, 4), date(2024, 3, 6))
    b = cached.fetch("SPY", date(2024, 3, 4), date(2024, 3, 6))
    assert len(inner.requests) == 1
    pd.testing.assert_frame_equal(a, b)
    cached.fetch("SPY", date(2024, 3, 5), date(2024, 3, 8))  # only 03-07, 03-08 missing
    assert inner.requests[-1] == ("SPY", date(2024, 3, 7), date(2024, 3, 8))
    assert (tmp_path / "counting" / "SPY" / "2024-03-07.parquet").exists()
    pd.testing.assert_frame_equal(a, inner.inner.fetch("SPY", date(2024, 3, 4), date(2024, 3, 6)))


def test_file_source(tmp_path: Path) -> None:
    bars = SyntheticSource(CFG).fetch("QQQ", date(2024, 3, 4), date(2024, 3, 5))
    path = tmp_path / "q.parquet"
    bars.to_parquet(path)
    src = FileSource(path, symbol="QQQ")
    pd.testing.assert_frame_equal(
        src.fetch("QQQ", date(2024, 3, 5), date(2024, 3, 5)), bars.iloc[390:].reset_index(drop=True)
    )
