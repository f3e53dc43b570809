"""Ghost rewards: broker-identical friction, null horizons never drop records, no look-ahead."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from zerodte.broker.fills import build_execution_model
from zerodte.config import Settings
from zerodte.config.settings import CostsSettings
from zerodte.qscorer.ghost_fills import fill_prices
from zerodte.qscorer.ghosts import GhostTradeEvaluator
from zerodte.qscorer.missed import compare_estimates, read_missed, write_missed
from zerodte.records import MISSED_KEY_COLUMNS, ghost_column
from zerodte.types import Observation, OptionContract, OptionQuote, Right, Side

from .conftest import FakePricer, fake_selector


def _evaluator(settings: Settings | None = None) -> GhostTradeEvaluator:
    return GhostTradeEvaluator(settings or Settings(), pricer=FakePricer(), selector=fake_selector)


def _decisions(frame: pd.DataFrame, enter_every: int = 50) -> pd.DataFrame:
    n = len(frame)
    action = np.zeros(n, dtype=np.int64)
    action[::enter_every] = 1
    executed = action.copy()
    executed[:: 2 * enter_every] = 0  # half of the entries vetoed
    vetoes = np.where((action == 1) & (executed == 0), "max_positions:one open", "")
    return pd.DataFrame(
        {
            "cycle": np.arange(n),
            "timestamp": frame.index,
            "session": frame["session"].to_numpy(),
            "action": action,
            "vetoes": vetoes,
            "executed_action": executed,
            "flat": np.arange(n) % 3 != 0,
        }
    )


def test_reward_matches_scalar_broker_arithmetic(small_frame: pd.DataFrame) -> None:
    s = Settings()
    ev = _evaluator(s)
    rows = np.array([10, 100, 200, 391])
    out = ev.rewards(small_frame, rows)
    execu = build_execution_model(s.costs, tick=s.options.tick)
    geo = ev.geometry(small_frame, rows)
    pricer = FakePricer()
    for r_i, row in enumerate(rows):
        for right, label in ((Right.CALL, "call"), (Right.PUT, "put")):
            k = fake_selector(small_frame["spy_close"].to_numpy()[[row]], right, None, None)[0]
            e = geo.entry[r_i]
            assert e == row + 1

            def quote(pos: int, k: float = k, right: Right = right) -> OptionQuote:
                q = pricer.price(
                    small_frame["spy_open"].to_numpy()[[pos]],
                    np.array([k]),
                    right is Right.CALL,
                    geo.minutes_to_expiry[[pos]],
                    small_frame["vix_open"].to_numpy()[[pos]],
                )
                c = OptionContract("SPY", date(2024, 3, 4), right, k)
                return OptionQuote(
                    c, small_frame.index[pos], float(q["bid"][0]), float(q["ask"][0]), 0.0
                )

            p_in, _ = execu.price(Side.BUY, quote(e))
            for j, h in enumerate(ev.horizons):
                x = geo.exits[r_i, j]
                got = out[ghost_column(label, h)].iloc[r_i]
                if x < 0:
                    assert np.isnan(got)
                    continue
                assert x == row + h
                p_out, _ = execu.price(Side.SELL, quote(x))
                want = (p_out - p_in) * 100 - 2 * execu.fees.fee(1)
                assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


@hsettings(max_examples=60, deadline=None)
@given(
    bid=st.floats(0, 20, allow_nan=False),
    spread=st.floats(0, 5, allow_nan=False),
    pct=st.floats(0, 50),
    ticks=st.integers(0, 3),
)
def test_vectorised_fill_equals_scalar(bid: float, spread: float, pct: float, ticks: int) -> None:
    execu = build_execution_model(
        CostsSettings(slippage_pct_of_spread=pct, slippage_min_ticks=ticks), tick=0.01
    )
    ask = bid + spread
    q = OptionQuote(
        OptionContract("SPY", date(2024, 1, 2), Right.CALL, 1.0), pd.Timestamp(0), bid, ask, 1.0
    )
    for side in (Side.BUY, Side.SELL):
        want, _ = execu.price(side, q)
        got = fill_prices(execu, side, np.array([bid]), np.array([ask]))[0]
        assert got == want


def test_missing_horizon_still_writes_record(small_frame: pd.DataFrame, tmp_path) -> None:
    """The predecessor's bug: cycles lacking the 60-minute horizon were silently dropped."""
    ev = _evaluator()
    dec = _decisions(small_frame)
    rec = ev.missed_records(small_frame, dec)
    not_entered = int((dec["executed_action"] == 0).sum())
    assert len(rec) == not_entered  # every held/vetoed cycle has a record
    assert list(rec.columns[:4]) == list(MISSED_KEY_COLUMNS)
    last = rec.groupby("session").tail(80)  # late cycles of each session
    assert last[ghost_column("call", 60)].isna().all()
    # Cycles with 60m missing but 15m present exist and are kept.
    mid = rec[rec[ghost_column("call", 60)].isna() & rec[ghost_column("call", 15)].notna()]
    assert len(mid) > 0
    path = write_missed(tmp_path, rec)
    assert path.name == "missed.parquet"
    back = read_missed(tmp_path)
    assert len(back) == len(rec)
    assert back[ghost_column("put", 60)].isna().sum() == rec[ghost_column("put", 60)].isna().sum()
    assert set(back["reason"]) >= {"hold", "veto: max_positions:one open"}


def test_label_modes(small_frame: pd.DataFrame) -> None:
    ev = _evaluator()
    dec = _decisions(small_frame)
    n_flat = len(ev.missed_records(small_frame, dec, "flat_only"))
    n_hold = len(ev.missed_records(small_frame, dec, "hold_only"))
    n_all = len(ev.missed_records(small_frame, dec, "all"))
    assert n_flat == int(((dec.executed_action == 0) & dec.flat).sum())
    assert n_hold == int((dec.action == 0).sum())
    assert n_all > n_hold


@pytest.mark.parametrize("apply_exit_rules", [False, True])
def test_no_label_looks_past_t_plus_h(small_frame: pd.DataFrame, apply_exit_rules: bool) -> None:
    ev = GhostTradeEvaluator(
        Settings(), pricer=FakePricer(), selector=fake_selector, apply_exit_rules=apply_exit_rules
    )
    full = ev.rewards(small_frame)
    for row, h in ((30, 15), (120, 60), (400, 10)):
        cut = small_frame.iloc[: row + h + 1]  # bars through the one starting at t + h
        part = ev.rewards(cut, np.array([row]))
        for label in ("call", "put"):
            col = ghost_column(label, h)
            assert part[col].iloc[0] == full[col].iloc[row]
        # And the bar at t + h is really needed: without it the horizon is null.
        shorter = ev.rewards(small_frame.iloc[: row + h], np.array([row]))
        assert np.isnan(shorter[ghost_column("call", h)].iloc[0])


def test_missing_bar_makes_horizon_null_not_shifted(small_frame: pd.DataFrame) -> None:
    ev = _evaluator()
    gap = small_frame.drop(small_frame.index[45])  # bar t=30 + 15 is missing
    out = ev.rewards(gap, np.array([30]))
    assert np.isnan(out[ghost_column("call", 15)].iloc[0])
    assert np.isfinite(out[ghost_column("call", 10)].iloc[0])


def test_expiry_guard(small_frame: pd.DataFrame) -> None:
    s = Settings()
    ev = _evaluator(s)
    out = ev.rewards(small_frame)
    minute = small_frame["minute"].to_numpy()
    for h in ev.horizons:
        col = out[ghost_column("call", h)].to_numpy()
        late = minute + h > 390 - s.exits.expiry_exit_minutes
        assert np.isnan(col[late]).all()
        assert np.isfinite(col[~late]).all()


def test_simplified_and_compare(small_frame: pd.DataFrame) -> None:
    ev = _evaluator()
    full = ev.rewards(small_frame)
    simple = ev.simplified(small_frame)
    assert (full.isna() == simple.isna()).all().all()
    gap = compare_estimates(full, simple)
    assert set(gap["horizon"]) == set(ev.horizons)
    assert (gap["n"] > 0).all()
    # Both estimates follow the same price path: clearly positively correlated.
    assert (gap["corr"] > 0.3).all()


def test_default_evaluator_matches_broker_objects(small_frame: pd.DataFrame) -> None:
    """Real option model + contract selection: equal to the engine's scalar quote path."""
    from zerodte.engine.build import ModelContractSelector, modelled_quote_books

    s = Settings()
    ev = GhostTradeEvaluator(s)
    rows = np.array([20, 150, 300, 420])
    out = ev.rewards(small_frame, rows)
    books = modelled_quote_books(s, small_frame)
    selector = ModelContractSelector(s.options)
    execu = build_execution_model(s.costs, tick=s.options.tick)
    minute = small_frame["minute"].to_numpy()
    for r_i, row in enumerate(rows):
        t = small_frame.index[row]
        obs = Observation(
            index=int(row),
            time=t,
            session=small_frame["session"].iloc[row],
            minutes_since_open=float(minute[row] + 1),
            minutes_to_close=float(390 - minute[row] - 1),
            spy=float(small_frame["spy_close"].iloc[row]),
            qqq=0.0,
            vix=float(small_frame["vix_close"].iloc[row]),
            features={},
        )
        for right, label in ((Right.CALL, "call"), (Right.PUT, "put")):
            contract = selector.select(obs, right, books(int(row)))
            assert contract is not None
            q_in = books(int(row) + 1).quote(contract, at="open")
            assert q_in is not None
            p_in, _ = execu.price(Side.BUY, q_in)
            for h in ev.horizons:
                got = out[ghost_column(label, h)].iloc[r_i]
                if np.isnan(got):
                    continue
                q_out = books(int(row) + h).quote(contract, at="open")
                assert q_out is not None
                p_out, _ = execu.price(Side.SELL, q_out)
                want = (p_out - p_in) * 100 - 2 * execu.fees.fee(1)
                assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize(
    "exits",
    [
        {},  # the defaults: stop, take profit and trailing stop close most paths early
        {"use_trailing_stop": False, "stop_loss_pct": 40.0, "take_profit_pct": 60.0},
        {"use_partial_take_profit": True, "partial_take_profit_pct": 6.0, "max_hold_minutes": 9},
        {
            "use_partial_take_profit": True,
            "use_trailing_stop": False,
            "partial_take_profit_pct": 5.0,
        },
        {"max_loss_per_trade": 15.0, "stop_loss_pct": 90.0},
    ],
)
def test_exit_rules_equal_the_exit_manager(small_frame: pd.DataFrame, exits: dict) -> None:
    """With apply_exit_rules every ghost equals a position run through the ExitManager."""
    from zerodte.engine.build import ModelContractSelector, modelled_quote_books
    from zerodte.exits.manager import ExitManager
    from zerodte.types import Position

    base = Settings()
    s = base.model_copy(update={"exits": base.exits.model_copy(update=exits)})
    ev = GhostTradeEvaluator(s, apply_exit_rules=True)
    fixed = GhostTradeEvaluator(s, apply_exit_rules=False)
    rows = np.arange(5, 330, 7)
    out = ev.rewards(small_frame, rows)
    plain = fixed.rewards(small_frame, rows)
    books = modelled_quote_books(s, small_frame)
    selector = ModelContractSelector(s.options)
    execu = build_execution_model(s.costs, tick=s.options.tick)
    fee = execu.fees.fee(1)
    minute = small_frame["minute"].to_numpy()
    session = small_frame["session"].to_numpy()

    def observation(pos: int) -> Observation:
        return Observation(
            index=pos,
            time=small_frame.index[pos],
            session=session[pos],
            minutes_since_open=float(minute[pos] + 1),
            minutes_to_close=float(390 - minute[pos] - 1),
            spy=float(small_frame["spy_close"].iloc[pos]),
            qqq=0.0,
            vix=float(small_frame["vix_close"].iloc[pos]),
            features={},
        )

    moved = 0
    for r_i, row in enumerate(rows):
        for right, label in ((Right.CALL, "call"), (Right.PUT, "put")):
            contract = selector.select(observation(int(row)), right, books(int(row)))
            assert contract is not None
            e = int(row) + 1
            p_in, _ = execu.price(Side.BUY, books(e).quote(contract, at="open"))
            position = Position(contract, 1, p_in, small_frame.index[e], entry_fees=fee)
            manager = ExitManager.from_settings(s.exits)
            exit_bar = None
            for d in range(e, int(row) + max(ev.horizons)):
                _, signal = manager.step(position, books(d).quote(contract), observation(d))
                if signal is not None:
                    exit_bar = d + 1
                    break
            for h in ev.horizons:
                got = out[ghost_column(label, h)].iloc[r_i]
                if np.isnan(plain[ghost_column(label, h)].iloc[r_i]):
                    assert np.isnan(got)  # availability is the fixed horizon's
                    continue
                x = int(row) + h if exit_bar is None else min(exit_bar, int(row) + h)
                moved += x < int(row) + h
                p_out, _ = execu.price(Side.SELL, books(x).quote(contract, at="open"))
                want = (p_out - p_in) * 100 - 2 * fee
                assert got == pytest.approx(want, abs=1e-6), (row, label, h, x)
    assert moved > 0  # the rules really closed some paths early


class _ZeroBidPricer(FakePricer):
    """FakePricer whose open bid is 0 at the bars whose minutes-to-close are listed."""

    def __init__(self, zero_at: set[float]) -> None:
        self.zero_at = zero_at

    def price(self, spot, strike, is_call, minutes_to_expiry, vix, minutes_to_close=None):  # type: ignore[no-untyped-def,override]  # noqa: PLR0917
        q = dict(super().price(spot, strike, is_call, minutes_to_expiry, vix, minutes_to_close))
        mtc = np.broadcast_to(np.asarray(minutes_to_close, float), np.shape(q["bid"]))
        q["bid"] = np.where(np.isin(mtc, list(self.zero_at)), 0.0, q["bid"])
        return q


def test_zero_bid_exit_is_retried_like_the_broker(small_frame: pd.DataFrame) -> None:
    """A sale into a zero bid is refused by the paper broker and sent again next bar; with
    no positive bid left in the session the contract settles at intrinsic, without fee."""
    s = Settings()
    one = small_frame[small_frame["session"] == small_frame["session"].iloc[0]]
    row, h = 100, 15
    plain = GhostTradeEvaluator(s, pricer=FakePricer(), selector=fake_selector, horizons=(h,))
    ev_open = plain.geometry(one, np.array([row]))
    x = int(ev_open.exits[0, 0])
    mtc_x = float(ev_open.minutes_to_close[x])
    execu = build_execution_model(s.costs, tick=s.options.tick)
    fee = execu.fees.fee(1)
    strike = float(np.round(one["spy_close"].iloc[row]))
    p_in = plain.rewards(one, np.array([row]))  # reference entry through the plain path
    # two zero-bid bars: the sale fills at the open of x + 2
    retried = GhostTradeEvaluator(
        s, pricer=_ZeroBidPricer({mtc_x, mtc_x - 1}), selector=fake_selector, horizons=(h,)
    ).rewards(one, np.array([row]))
    ref = FakePricer()

    def sale(pos: int) -> float:
        q = ref.price(
            np.array([one["spy_open"].iloc[pos]]), np.array([strike]), True,
            np.array([ev_open.minutes_to_expiry[pos]]), np.array([one["vix_open"].iloc[pos]]),
        )  # fmt: skip
        return float(fill_prices(execu, Side.SELL, q["bid"], q["ask"])[0])

    entry = sale(x) - (p_in[ghost_column("call", h)].iloc[0] + 2 * fee) / 100.0
    want = (sale(x + 2) - entry) * 100 - 2 * fee
    assert retried[ghost_column("call", h)].iloc[0] == pytest.approx(want, abs=1e-9)
    # no positive bid until the close: settlement at intrinsic from the last close, no fee
    rest = {float(m) for m in ev_open.minutes_to_close[x:]}
    settled = GhostTradeEvaluator(
        s, pricer=_ZeroBidPricer(rest), selector=fake_selector, horizons=(h,)
    ).rewards(one, np.array([row]))
    intrinsic = max(float(one["spy_close"].iloc[-1]) - strike, 0.0)
    want = (intrinsic - entry) * 100 - fee
    assert settled[ghost_column("call", h)].iloc[0] == pytest.approx(want, abs=1e-9)
