"""Real quotes in the broker and the ghosts, the model as the logged fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config.root import Settings
from zerodte.engine.backtest import run_backtest
from zerodte.options.model import ModelledQuoteBook, OptionModel
from zerodte.options.real_book import RealQuoteBook, RealQuotes
from zerodte.qscorer.ghosts import GhostTradeEvaluator
from zerodte.types import OptionContract, Right

from .helpers import make_market, make_settings


@dataclass
class QuotedMarket:
    frame: pd.DataFrame
    data_hash: str
    option_quotes: pd.DataFrame | None = None
    source: str = "test"


def _quotes(frame: pd.DataFrame, settings: Settings, widen: float, every: int) -> pd.DataFrame:
    """Model quotes of the strikes near spot on every ``every``-th bar, widened by ``widen``."""
    model = OptionModel(settings.options)
    times = pd.DatetimeIndex(frame.index)
    keep = np.arange(len(frame)) % every == 0
    close = pd.DatetimeIndex(
        [pd.Timestamp(d).tz_localize("America/New_York") for d in frame["session"]]
    ) + pd.Timedelta(hours=16)
    rows = []
    for right in ("C", "P"):
        for off in (-2.0, -1.0, 0.0, 1.0, 2.0):
            strike = np.round(frame["spy_open"].to_numpy()) + off
            out = {}
            for at, t in (("open", times), ("close", times + pd.Timedelta(minutes=1))):
                mte = (close - t).total_seconds().to_numpy() / 60.0
                q = model.price(
                    frame[f"spy_{at}"].to_numpy(),
                    strike,
                    right == "C",
                    mte,
                    frame[f"vix_{at}"].to_numpy(),
                )
                out[f"bid_{at}"] = np.maximum(q["bid"] - widen, 0.0)
                out[f"ask_{at}"] = q["ask"] + widen
            rows.append(
                pd.DataFrame(
                    {
                        "timestamp": times,
                        "root": "SPY",
                        "underlying": "SPY",
                        "style": "american",
                        "right": right,
                        "strike": strike,
                        "expiry": list(frame["session"]),
                        **out,
                        "bid_size": 10,
                        "ask_size": 10,
                    }
                ).loc[keep]
            )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def market() -> QuotedMarket:
    m = make_market(days=2, seed=3)
    return QuotedMarket(m.frame, m.data_hash)


def test_book_answers_real_where_covered_and_logs_the_fallback(
    market: QuotedMarket, caplog: pytest.LogCaptureFixture
) -> None:
    s = Settings()
    quotes = _quotes(market.frame, s, widen=0.05, every=2)
    real = RealQuotes(quotes, "SPY")
    f = market.frame
    session = f["session"].iloc[0]
    row = quotes.iloc[0]
    contract = OptionContract("SPY", session, Right.CALL, float(row["strike"]))
    for i, covered in ((0, True), (1, False)):
        t = pd.Timestamp(f.index[i])
        model = ModelledQuoteBook(
            OptionModel(s.options),
            time=t,
            spot_open=f["spy_open"].iloc[i],
            spot_close=f["spy_close"].iloc[i],
            vix_open=f["vix_open"].iloc[i],
            vix_close=f["vix_close"].iloc[i],
        )
        book = RealQuoteBook(real, model, model.time_open, model.time_close, session, set())
        with caplog.at_level(logging.INFO, logger="zerodte.options.real_book"):
            got = book.quote(contract, at="open")
        base = model.quote(contract, at="open")
        assert got is not None and base is not None
        if covered:
            assert got.source == "real" and got.ask == pytest.approx(row["ask_open"])
            assert got.delta == base.delta  # the model's greeks stay
        else:
            assert got.source == "model" and got.ask == base.ask
            assert "using the option model" in caplog.text
    # another root is never covered
    other = OptionContract("SPXW", session, Right.CALL, float(row["strike"]))
    assert np.isnan(real.bid_ask(other, int(pd.Timestamp(f.index[0]).value), "open")[0])


def test_overlay_equals_the_scalar_lookup(market: QuotedMarket) -> None:
    quotes = _quotes(market.frame, Settings(), widen=0.05, every=3)
    real = RealQuotes(quotes, "SPY")
    sample = quotes.sample(50, random_state=1)
    calls = sample[sample["right"] == "C"]
    t_ns = pd.DatetimeIndex(calls["timestamp"]).as_unit("ns").asi8
    ords = np.array([d.toordinal() for d in calls["expiry"]])
    nan = np.full(len(calls), np.nan)
    bid, ask, hit = real.overlay(t_ns, ords, True, calls["strike"].to_numpy(), "close", nan, nan)
    assert hit.all()
    for (_, r), b, a in zip(calls.iterrows(), bid, ask, strict=True):
        c = OptionContract("SPY", r["expiry"], Right.CALL, float(r["strike"]))
        assert real.bid_ask(c, int(r["timestamp"].value), "close") == (b, a)


def test_backtest_fills_on_real_quotes_batch_equals_stream(
    market: QuotedMarket, tmp_path: Path
) -> None:
    s = make_settings(tmp_path, controller="random", random_p_call=0.05, random_p_put=0.05)
    quoted = QuotedMarket(
        market.frame, market.data_hash, _quotes(market.frame, s, widen=0.05, every=2)
    )
    a = run_backtest(s, quoted, path="vectorised", write=False, record=False, n_boot=50)
    b = run_backtest(s, quoted, path="streaming", write=False, record=False, n_boot=50)
    pd.testing.assert_frame_equal(a.trades, b.trades)
    assert a.summary == b.summary
    src = a.summary["quote_sources"]
    assert src["entry_real"] > 0 and src["entry_model"] > 0, src
    assert src["entry_real"] + src["entry_model"] == len(a.trades)
    assert src["exit_real"] + src["exit_model"] + src["settled"] == len(a.trades)
    assert a.trades["spread_cost"].notna().all() and (a.trades["spread_cost"] > 0).all()
    assert a.summary["spread_cost"] == pytest.approx(a.trades["spread_cost"].sum())
    # widened real quotes cost more than the model: same decisions, lower P&L
    plain = run_backtest(s, market, path="vectorised", write=False, record=False, n_boot=50)
    assert plain.summary["quote_sources"]["entry_real"] == 0
    assert a.trades["pnl"].sum() < plain.trades["pnl"].sum()


def test_ghosts_price_from_the_same_real_quotes(market: QuotedMarket, tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    rows = np.arange(0, len(market.frame), 7)
    plain = GhostTradeEvaluator(s).rewards(market.frame, rows)
    same = _quotes(market.frame, s, widen=0.0, every=1)
    exact = GhostTradeEvaluator(s, real_quotes=RealQuotes(same, "SPY")).rewards(market.frame, rows)
    pd.testing.assert_frame_equal(plain, exact)  # real == model quotes: the same rewards
    wide = _quotes(market.frame, s, widen=0.10, every=1)
    worse = GhostTradeEvaluator(s, real_quotes=RealQuotes(wide, "SPY")).rewards(market.frame, rows)
    both = plain.notna() & worse.notna()
    assert both.to_numpy().sum() > 20
    assert (worse[both] <= plain[both] + 1e-9).to_numpy()[both.to_numpy()].all()
    assert (worse[both] < plain[both] - 1).to_numpy().sum() > 10
    assert date(2024, 1, 2) <= market.frame["session"].iloc[0]
