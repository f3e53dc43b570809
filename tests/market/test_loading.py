"""load_market: explicit seed/edge -> in memory; store -> load; empty -> generate and store."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from zerodte.config import Settings
from zerodte.errors import ConfigError, DataError
from zerodte.market.loading import load_market
from zerodte.market.store import ParquetStore


def _settings(tmp_path: Path, days: int = 4) -> Settings:
    return Settings.model_validate(
        {
            "data": {
                "data_dir": tmp_path / "data",
                "synthetic_days": days,
                "synthetic_start": date(2024, 5, 1),
                "synthetic_seed": 9,
            }
        }
    )


def test_empty_named_store_is_an_error(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    with pytest.raises(DataError, match=r"holds no market data.*no data is generated"):
        load_market(s)
    assert not ParquetStore(s.data.data_dir).has_data()


def test_a_window_that_ends_before_it_starts_is_refused(tmp_path: Path) -> None:
    """--end before --start is a configuration error, for the synthetic market and a store
    alike, never a 'no SPY bars, import SPY' message; nothing is generated or stored."""
    s = _settings(tmp_path)
    for seed in (1, None):
        with pytest.raises(ConfigError, match="--end 2024-05-02 is before --start 2024-05-06"):
            load_market(s, start=date(2024, 5, 6), end=date(2024, 5, 2), seed=seed)
    assert not ParquetStore(s.data.data_dir).has_data()


def test_empty_default_store_generates_and_stores(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default, relative data dir ``data``
    s = _settings(tmp_path).model_copy(
        update={"data": _settings(tmp_path).data.model_copy(update={"data_dir": Path("data")})}
    )
    with caplog.at_level(logging.INFO, logger="zerodte.market.loading"):
        md = load_market(s)
    assert "generating the synthetic market" in caplog.text
    assert md.sessions[0] == date(2024, 5, 1) and len(md.sessions) == 4
    store = ParquetStore(s.data.data_dir)
    assert store.info().data_hash == md.data_hash
    assert md.data_source["kind"] == "synthetic" and md.data_source["seed"] == 9
    again = load_market(s)  # now from the store, same content
    assert again.source.startswith("store:") and again.data_hash == md.data_hash
    assert again.data_source["kind"] == "store" and again.data_source["synthetic"] is True
    last2 = load_market(s, days=2)
    assert last2.sessions == md.sessions[-2:]
    ranged = load_market(s, start=date(2024, 5, 2), end=date(2024, 5, 3))
    assert ranged.sessions == [date(2024, 5, 2), date(2024, 5, 3)]
    assert list(ranged.frame.columns[:2]) == ["spy_open", "spy_high"]


def test_seed_or_edge_generates_in_memory(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    md = load_market(s, seed=3, edge=0.0, days=2, start=date(2024, 6, 3))
    assert md.sessions == [date(2024, 6, 3), date(2024, 6, 4)]
    assert md.synthetic is not None and md.synthetic.edge == 0.0
    assert not ParquetStore(s.data.data_dir).has_data()
    assert (
        load_market(s, seed=3, edge=0.0, days=2, start=date(2024, 6, 3)).data_hash == md.data_hash
    )


def test_missing_symbols_raise_with_hint(tmp_path: Path, small_market: dict) -> None:
    s = _settings(tmp_path)
    store = ParquetStore(s.data.data_dir)
    store.write("QQQ", small_market["QQQ"], source="t")
    with pytest.raises(DataError, match="no SPY bars"):
        load_market(s)
    store.write("SPY", small_market["SPY"], source="t")
    with pytest.raises(DataError, match=r"VIX.*zerodte data import"):
        load_market(s)


def test_last_days_across_year_files_read_only_those_years(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--days N loads the year files of the last N sessions, and the data is what the whole
    store cut to those sessions gives."""
    from zerodte.market.synthetic import generate_market

    s = _settings(tmp_path)
    store = ParquetStore(s.data.data_dir)
    store.write_many(generate_market(date(2024, 12, 26), 6, 9, 1.0), source="synthetic:test")
    whole = load_market(s)
    assert {d.year for d in whole.sessions} == {2024, 2025}
    read: list[date | None] = []
    load = ParquetStore.load

    def spy(self: ParquetStore, symbols=None, start=None, end=None):  # type: ignore[no-untyped-def]
        read.append(start)
        return load(self, symbols, start, end)

    monkeypatch.setattr(ParquetStore, "load", spy)
    for n in (1, 2, 3, 6, 9):
        read.clear()
        got = load_market(s, days=n)
        want = whole.sessions[-n:]
        assert got.sessions == want
        assert got.frame.equals(whole.frame[whole.frame["session"].isin(want)])
        if n < len(whole.sessions):
            assert read[-1] == want[0]  # the bars were loaded from the first wanted day
    got = load_market(s, days=2, end=date(2024, 12, 31))
    assert got.sessions == [d for d in whole.sessions if d.year == 2024][-2:]
