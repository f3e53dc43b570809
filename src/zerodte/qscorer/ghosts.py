"""Counterfactual ("ghost") rewards of the trades a run did not take.

For every cycle ``t`` (bar start label, decision at the close of bar ``t``) and horizon ``h``
minutes, the ghost reward of a right is the dollar P&L of ONE contract bought and sold with
exactly the paper broker's assumptions::

    contract  K = select(spot_close_t, right)                 # same rule as the broker
    entry     bar e = first bar at or after latency.due_time(t) (same session)
              P_in  = ask_e(open) + slip_e                    # fill + slippage models
    exit      bar x = the bar starting at t + h minutes (same session, must exist)
              P_out = max(bid_x(open) - slip_x, 0)   (bid_x > 0; a zero bid is retried
                                                      as the broker does: ghost_retry)
    reward    = (P_out - P_in) * 100 - fee(1) * 2  (no exit fee when it settled)

Quotes are the modelled OPEN quotes of the bar (spot ``spy_open``, ``vix_open``, time to
expiry from the bar start), i.e. what an order arriving then could trade against. The exit
uses the quote at wall time ``t + h``, so no label looks past ``t + h``.

A horizon is *unavailable* (null, never a dropped record) when the entry or exit bar is
missing, the exit falls in another session, the exit would come after the broker's forced
exit before expiry (``exits.expiry_exit_minutes`` for same-day expiry, else
``exits.eod_flatten_minutes``) or the option model gave no usable quote.

With ``qscorer.apply_exit_rules`` the configured exit rules run along every ghost path, as
the exit manager runs them on a real position: at each decision bar ``d`` from the entry bar
on, the contract is marked at the BID of bar ``d``'s close quote; the first rule that fires
(in :data:`~zerodte.exits.rules.EXIT_RULE_ORDER`) sells at the open quote of the bar its
order fills at (the same latency as entries), unless ``t + h`` comes first::

    exit bar x_h = min(fill bar of the first rule firing at d < t + h, bar at t + h)

The marks of bar ``d`` are known at wall time ``d + 1 <= t + h``, so these labels do not
look past ``t + h`` either.

Everything is vectorised over the whole run: ``n_cycles x n_horizons x 2`` prices in a few
NumPy calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

import numpy as np
import pandas as pd

from zerodte.broker.fills import ExecutionModel, build_execution_model
from zerodte.config.root import Settings
from zerodte.io import atomic_write
from zerodte.options.params import apply_model_params
from zerodte.qscorer.ghost_exits import GhostPath, first_exit_step
from zerodte.qscorer.ghost_quotes import overlay_frame
from zerodte.qscorer.ghost_retry import BarArrays, retry_zero_bid_exits
from zerodte.records import MISSED_KEY_COLUMNS, ghost_column
from zerodte.types import CONTRACT_MULTIPLIER, Action, OptionContract, OptionQuote, Right, Side

if TYPE_CHECKING:
    from zerodte.options.real_book import RealQuotes

logger = logging.getLogger(__name__)

MISSED_FILE = "missed.parquet"
RIGHTS: tuple[tuple[str, Right], ...] = (("call", Right.CALL), ("put", Right.PUT))


class VectorPricer(Protocol):
    """A vectorised option pricer (``zerodte.options.model.OptionModel``)."""

    def price(  # noqa: PLR0917 (OptionModel.price signature)
        self,
        spot: np.ndarray,
        strike: np.ndarray,
        is_call: np.ndarray | bool,
        minutes_to_expiry: np.ndarray,
        vix: np.ndarray,
        minutes_to_close: np.ndarray | None = None,
    ) -> Mapping[str, np.ndarray]:
        """Return at least ``bid`` and ``ask`` arrays (premium per share)."""
        ...


StrikeSelector = Callable[[np.ndarray, Right, np.ndarray, np.ndarray], np.ndarray]
"""``(spot, right, vix, minutes_to_expiry) -> strikes``: the broker's contract selection,
vectorised, evaluated with what the decision saw (bar close)."""


# --------------------------------------------------------------------------------------
# friction, vectorised with the broker's own objects
# --------------------------------------------------------------------------------------
def slippage_array(execution: ExecutionModel, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """Slippage per share of the execution model's slippage object, element-wise.

    Uses the object's ``slippage_array`` when it has one; otherwise evaluates the scalar
    ``slippage(quote)`` of the same object on every element (identical semantics, slower).
    """
    model = execution.slippage
    vec = getattr(model, "slippage_array", None)
    if callable(vec):
        return np.asarray(vec(bid, ask), dtype=np.float64)
    pct = getattr(model, "pct_of_spread", None)
    min_ticks = getattr(model, "min_ticks", None)
    tick = getattr(model, "tick", None)
    if type(model).__name__ == "SpreadFractionSlippage" and None not in (pct, min_ticks, tick):
        # Same formula as SpreadFractionSlippage.slippage: max(pct% * spread, ticks * tick).
        spread = ask - bid
        with np.errstate(invalid="ignore"):
            slip = np.where(spread > 0, float(pct) * 0.01 * spread, 0.0)  # type: ignore[arg-type]
        floor = float(min_ticks) * float(tick)  # type: ignore[arg-type]
        return np.where(slip > floor, slip, floor)
    return _scalar_slippage(execution, bid, ask)


def _scalar_slippage(execution: ExecutionModel, bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    contract = OptionContract("SPY", date(2000, 1, 3), Right.CALL, 0.0)
    stamp = pd.Timestamp("2000-01-03 09:30", tz="America/New_York")
    out = np.full(bid.shape, np.nan)
    for i, (b, a) in enumerate(zip(bid.tolist(), ask.tolist(), strict=True)):
        if np.isfinite(b) and np.isfinite(a):
            q = OptionQuote(contract, stamp, b, a, 0.0)
            out[i] = execution.slippage.slippage(q)
    return out


def fill_prices(
    execution: ExecutionModel, side: Side, bid: np.ndarray, ask: np.ndarray
) -> np.ndarray:
    """Element-wise :meth:`ExecutionModel.price` for marketable orders (price only)."""
    base = ask if side is Side.BUY else bid
    fill_base = getattr(execution.fill, "name", "")
    if fill_base != "ask_bid":
        # Another fill model: evaluate its scalar base price (identical semantics).
        contract = OptionContract("SPY", date(2000, 1, 3), Right.CALL, 0.0)
        stamp = pd.Timestamp("2000-01-03 09:30", tz="America/New_York")
        base = np.array(
            [
                execution.fill.base_price(side, OptionQuote(contract, stamp, b, a, 0.0))
                for b, a in zip(bid.tolist(), ask.tolist(), strict=True)
            ]
        )
    slip = slippage_array(execution, bid, ask)
    if side is Side.BUY:
        return base + slip
    price = base - slip
    return np.where(price < 0.0, 0.0, price)


def latency_bars(execution: ExecutionModel) -> int:
    """Whole bars between a decision bar and the bar whose open its order fills at."""
    t0 = pd.Timestamp("2000-01-03 09:30", tz="America/New_York")
    due = execution.latency.due_time(t0)
    return max(round((due - t0).total_seconds() / 60.0), 1)


# --------------------------------------------------------------------------------------
# geometry: which bars an order at t would enter and exit at
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GhostGeometry:
    """Entry and exit bar positions of every cycle (``-1`` where unavailable)."""

    entry: np.ndarray  # (n,) positions into the frame
    exits: np.ndarray  # (n, n_horizons) positions into the frame, -1 = unavailable
    horizons: tuple[int, ...]
    minutes_to_close: np.ndarray  # (len(frame),) at each bar START (wall time)
    minutes_to_expiry: np.ndarray  # (len(frame),) at each bar START


def session_closes(sessions: Sequence[date] | np.ndarray) -> dict[date, pd.Timestamp]:
    """Regular-session close of each distinct session."""
    from zerodte.market.calendar import TradingCalendar

    cal = TradingCalendar()
    return {d: cal.session_close(d) for d in sorted(set(sessions))}


def _expiry_closes(sessions: Sequence[date], expiry_days: int) -> dict[date, pd.Timestamp]:
    """Close of the expiry session of contracts bought on each session."""
    from zerodte.market.calendar import TradingCalendar

    cal = TradingCalendar()
    out: dict[date, pd.Timestamp] = {}
    for d in sorted(set(sessions)):
        expiry = cal.sessions_from(d, expiry_days + 1)[-1] if expiry_days > 0 else d
        out[d] = cal.session_close(expiry)
    return out


def ghost_geometry(
    frame: pd.DataFrame,
    horizons: Sequence[int],
    *,
    latency: int,
    guard_minutes: float,
    expiry_days: int = 0,
    rows: np.ndarray | None = None,
) -> GhostGeometry:
    """Entry/exit bar positions for ``rows`` of ``frame`` (all rows by default).

    Parameters
    ----------
    frame
        Market frame indexed by bar-start timestamps with a ``session`` column.
    horizons
        Exit horizons in minutes after the decision bar's start.
    latency
        Bars from the decision bar to the entry bar (1 for sub-minute latency).
    guard_minutes
        The broker force-exits positions this many minutes before the close; an exit
        later than that is unavailable.
    """
    ts = pd.DatetimeIndex(frame.index)
    n_all = len(ts)
    rows = np.arange(n_all) if rows is None else np.asarray(rows, dtype=np.int64)
    session = frame["session"].to_numpy()
    closes = session_closes(list(pd.unique(session)))
    close_ns = np.array([closes[d].value for d in session], dtype=np.int64)
    if expiry_days > 0:
        exp = _expiry_closes(list(pd.unique(session)), expiry_days)
        expiry_ns = np.array([exp[d].value for d in session], dtype=np.int64)
    else:
        expiry_ns = close_ns
    t_ns = ts.asi8
    mtc = (close_ns - t_ns) / 60e9
    mte = (expiry_ns - t_ns) / 60e9
    minute_ns = np.int64(60_000_000_000)
    t_rows = t_ns[rows]
    s_rows = session[rows]
    # Entry: first bar at or after the due time, within the same session.
    entry = np.searchsorted(t_ns, t_rows + latency * minute_ns, side="left")
    ok = entry < n_all
    entry_c = np.minimum(entry, n_all - 1)
    ok &= session[entry_c] == s_rows
    entry = np.where(ok, entry_c, -1)
    exits = np.full((len(rows), len(horizons)), -1, dtype=np.int64)
    for j, h in enumerate(horizons):
        target = t_rows + int(h) * minute_ns
        pos = np.searchsorted(t_ns, target, side="left")
        pos_c = np.minimum(pos, n_all - 1)
        good = (pos < n_all) & (t_ns[pos_c] == target) & (session[pos_c] == s_rows)
        good &= entry >= 0
        good &= pos_c > entry  # the exit must come after the fill
        good &= mtc[pos_c] >= guard_minutes
        exits[:, j] = np.where(good, pos_c, -1)
    return GhostGeometry(entry, exits, tuple(int(h) for h in horizons), mtc, mte)


# --------------------------------------------------------------------------------------
# the evaluator
# --------------------------------------------------------------------------------------
def guard_minutes(settings: Settings) -> float:
    """Minutes before the close after which the broker holds no position.

    Same-day expiry: ``exits.expiry_exit_minutes``; later expiries: ``exits.eod_flatten_minutes``.
    """
    exits = settings.exits
    if settings.options.expiry_days == 0:
        return float(exits.expiry_exit_minutes)
    return float(exits.eod_flatten_minutes)


def _default_pricer(settings: Settings) -> VectorPricer:
    from zerodte.options.model import OptionModel

    return OptionModel(settings.options)


def _default_selector(settings: Settings) -> StrikeSelector:
    from zerodte.options.chain import select_strikes

    opts = settings.options

    def select(spot: np.ndarray, right: Right, vix: np.ndarray, mte: np.ndarray) -> np.ndarray:
        # Same call as select_contract makes for the engine's ModelContractSelector.
        return np.asarray(
            select_strikes(spot, right, opts, vix=vix, minutes_to_expiry=mte), dtype=np.float64
        )

    return select


class GhostTradeEvaluator:
    """Ghost rewards with the paper broker's option model, contract selection and friction.

    Parameters
    ----------
    settings
        Uses ``options`` (pricing, selection), ``costs`` (fill, slippage, fee, latency),
        ``exits`` (the expiry guard; every rule with ``apply_exit_rules``) and ``qscorer``
        (horizons, label mode, simplified-estimate parameters).
    pricer, selector, execution
        Injected for tests; default to ``OptionModel(settings.options)``,
        ``select_strikes`` and :func:`~zerodte.broker.fills.build_execution_model`, the
        very objects the paper broker uses.
    horizons
        Ghost horizons in minutes (default ``qscorer.horizons``).
    apply_exit_rules
        Run the ``exits`` rules along each ghost path, so that a rule firing before
        ``t + h`` closes the ghost (default ``qscorer.apply_exit_rules``).
    real_quotes
        Real option quotes (:class:`~zerodte.options.real_book.RealQuotes`): where they
        cover a contract at a minute they replace the modelled bid and ask, as the paper
        broker's :class:`~zerodte.options.real_book.RealQuoteBook` does.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        pricer: VectorPricer | None = None,
        selector: StrikeSelector | None = None,
        execution: ExecutionModel | None = None,
        horizons: Sequence[int] | None = None,
        apply_exit_rules: bool | None = None,
        real_quotes: RealQuotes | None = None,
    ) -> None:
        self.settings = settings
        self.real_quotes = real_quotes if real_quotes is not None and len(real_quotes) else None
        self.horizons = tuple(int(h) for h in (horizons or settings.qscorer.horizons))
        if not self.horizons or min(self.horizons) < 1:
            raise ValueError(f"ghost horizons must be positive minutes, got {self.horizons}")
        self.pricer = pricer if pricer is not None else _default_pricer(settings)
        self.selector = selector if selector is not None else _default_selector(settings)
        self.execution = execution or build_execution_model(
            settings.costs, tick=settings.options.tick
        )
        self.apply_exit_rules = (
            settings.qscorer.apply_exit_rules if apply_exit_rules is None else apply_exit_rules
        )
        exits = settings.exits
        self.guard_minutes = (
            exits.expiry_exit_minutes
            if settings.options.expiry_days == 0
            else exits.eod_flatten_minutes
        )

    @classmethod
    def for_market(cls, settings: Settings, market_data: object, **kwargs: object) -> Self:
        """The evaluator of ``market_data``: with its real option quotes when it has any."""
        settings, _ = apply_model_params(settings)  # the very model the broker runs
        quotes = getattr(market_data, "option_quotes", None)
        real = None
        if quotes is not None and not quotes.empty and settings.options.real_quotes == "auto":
            from zerodte.options.real_book import RealQuotes

            real = RealQuotes(quotes, settings.options.underlying)
        return cls(settings, real_quotes=real, **kwargs)  # type: ignore[arg-type]

    def _real(  # noqa: PLR0917 (private step of rewards)
        self,
        frame: pd.DataFrame,
        pos: np.ndarray,
        strike: np.ndarray,
        right: Right,
        at: str,
        quote: Mapping[str, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pricer's ``quote`` at bars ``pos``, real where real quotes cover it."""
        bid = np.asarray(quote["bid"], np.float64)
        ask = np.asarray(quote["ask"], np.float64)
        if self.real_quotes is None:
            return bid, ask
        days = self.settings.options.expiry_days
        return overlay_frame(self.real_quotes, frame, pos, strike, right, at, bid, ask, days)

    # -- full repricing ----------------------------------------------------------------
    def geometry(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> GhostGeometry:
        """Entry and exit bars of ``rows`` (see :func:`ghost_geometry`)."""
        return ghost_geometry(
            frame,
            self.horizons,
            latency=latency_bars(self.execution),
            guard_minutes=self.guard_minutes,
            expiry_days=self.settings.options.expiry_days,
            rows=rows,
        )

    def rewards(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Ghost rewards (dollars per contract, net of friction) of ``rows`` of ``frame``.

        Returns a frame indexed by the rows' timestamps with one column per right and
        horizon (:func:`~zerodte.records.ghost_column`), NaN where unavailable.
        """
        rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=np.int64)
        geo = self.geometry(frame, rows)
        fee = 2.0 * float(self.execution.fees.fee(1))
        spot_close = frame["spy_close"].to_numpy(np.float64)
        spot_open = frame["spy_open"].to_numpy(np.float64)
        vix_open = frame["vix_open"].to_numpy(np.float64)
        vix_close = frame["vix_close"].to_numpy(np.float64)
        out: dict[str, np.ndarray] = {}
        bars = BarArrays(
            session_code=pd.factorize(frame["session"])[0],
            spot_open=spot_open,
            spot_close=spot_close,
            vix_open=vix_open,
            minutes_to_expiry=geo.minutes_to_expiry,
            minutes_to_close=geo.minutes_to_close,
        )
        has_entry = geo.entry >= 0
        e_rows = np.flatnonzero(has_entry)
        e_pos = geo.entry[e_rows]
        d_pos = rows[e_rows]
        # What the decision saw: the close of bar t, one minute after its start; the
        # engine's selector uses minutes_to_close + 1440 * expiry_days as time to expiry.
        mte_decision = (
            geo.minutes_to_close[d_pos] - 1.0 + 1440.0 * self.settings.options.expiry_days
        )
        for label, right in RIGHTS:
            strike_all = np.full(len(rows), np.nan)
            strike_all[e_rows] = self.selector(
                spot_close[d_pos], right, vix_close[d_pos], mte_decision
            )
            q_in = self.pricer.price(
                spot_open[e_pos],
                strike_all[e_rows],
                right is Right.CALL,
                geo.minutes_to_expiry[e_pos],
                vix_open[e_pos],
                geo.minutes_to_close[e_pos],
            )
            bid_in, ask_in = self._real(
                frame,
                e_pos,
                strike_all[e_rows],
                right,
                "open",
                q_in,
            )
            usable_in = np.isfinite(ask_in) & np.isfinite(bid_in) & (ask_in > 0)
            entry_price = np.full(len(rows), np.nan)
            entry_price[e_rows] = np.where(
                usable_in, fill_prices(self.execution, Side.BUY, bid_in, ask_in), np.nan
            )
            exits = geo.exits
            if self.apply_exit_rules:
                exits = self._rule_exits(frame, geo, rows, right, strike_all, entry_price)
            # Exits of every (row, horizon) pair in one pricing call.
            r_idx, h_idx = np.nonzero(exits >= 0)
            x_pos = exits[r_idx, h_idx]
            sell = self._seller(frame, geo, right)
            bid_out, exit_price = sell(x_pos, strike_all[r_idx])
            # A sale into a zero bid is rejected by the broker and retried (ghost_retry).
            exit_price, exit_fee = retry_zero_bid_exits(
                bars,
                x_pos,
                strike_all[r_idx],
                right is Right.CALL,
                bid_out,
                exit_price,
                sell,
                fee / 2.0,
            )
            reward = (exit_price - entry_price[r_idx]) * CONTRACT_MULTIPLIER - fee / 2.0 - exit_fee
            grid = np.full(exits.shape, np.nan)
            grid[r_idx, h_idx] = reward
            for j, h in enumerate(self.horizons):
                out[ghost_column(label, h)] = grid[:, j]
        index = pd.DatetimeIndex(frame.index[rows])
        return pd.DataFrame(out, index=index)

    def _seller(
        self, frame: pd.DataFrame, geo: GhostGeometry, right: Right
    ) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Open bid and sale price at given bars (for :func:`retry_zero_bid_exits`)."""
        spot_open = frame["spy_open"].to_numpy(np.float64)
        vix_open = frame["vix_open"].to_numpy(np.float64)

        def sell(pos: np.ndarray, strike: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            q = self.pricer.price(
                spot_open[pos],
                strike,
                right is Right.CALL,
                geo.minutes_to_expiry[pos],
                vix_open[pos],
                geo.minutes_to_close[pos],
            )
            bid, ask = self._real(
                frame,
                pos,
                strike,
                right,
                "open",
                q,
            )
            ok = np.isfinite(bid) & np.isfinite(ask)
            price = np.where(ok, fill_prices(self.execution, Side.SELL, bid, ask), np.nan)
            return np.where(ok, bid, np.nan), price

        return sell

    def _rule_exits(  # noqa: PLR0917 (private step of rewards)
        self,
        frame: pd.DataFrame,
        geo: GhostGeometry,
        rows: np.ndarray,
        right: Right,
        strike: np.ndarray,
        entry_price: np.ndarray,
    ) -> np.ndarray:
        """Exit bars of ``geo.exits`` moved earlier where an exit rule fires first.

        Rows are processed in blocks so the ``(block, steps)`` mark matrices stay small.
        """
        out = geo.exits.copy()
        has_exit = geo.exits.max(axis=1) >= 0
        if not has_exit.any():
            return out
        t_ns = pd.DatetimeIndex(frame.index).asi8
        minute_ns = 60_000_000_000
        lat = latency_bars(self.execution)
        # Bar at whose open an order sent at the close of each bar fills; a rule firing
        # before t + h fills no later than the bar at t + h (same session), see below.
        fill_bar = np.searchsorted(t_ns, t_ns + lat * minute_ns, side="left")
        # Path steps: decision bars entry, entry + 1, ... before the latest exit bar.
        steps = int((geo.exits.max(axis=1) - geo.entry).max())
        spot_close = frame["spy_close"].to_numpy(np.float64)
        vix_close = frame["vix_close"].to_numpy(np.float64)
        fee = float(self.execution.fees.fee(1))
        expiry_days = self.settings.options.expiry_days
        block = max(1, 2_000_000 // max(steps, 1))
        for lo in range(0, len(rows), block):
            r = np.arange(lo, min(lo + block, len(rows)))
            r = r[has_exit[r] & np.isfinite(entry_price[r])]
            if len(r) == 0:
                continue
            last = geo.exits[r].max(axis=1)
            d = geo.entry[r, None] + np.arange(steps)[None, :]
            valid = d < last[:, None]
            dv = d[valid]
            bid = np.full(d.shape, np.nan)
            # The decision at bar d sees bar d's close quote, one minute after its start.
            quote = self.pricer.price(
                spot_close[dv],
                np.broadcast_to(strike[r, None], d.shape)[valid],
                right is Right.CALL,
                geo.minutes_to_expiry[dv] - 1.0,
                vix_close[dv],
                geo.minutes_to_close[dv] - 1.0,
            )
            bid[valid] = self._real(
                frame,
                dv,
                np.broadcast_to(strike[r, None], d.shape)[valid],
                right,
                "close",
                quote,
            )[0]
            d_c = np.where(valid, d, 0)
            path = GhostPath(
                bid=bid,
                held=(t_ns[d_c] - t_ns[geo.entry[r, None]]) / minute_ns + 1.0,
                minutes_to_close=geo.minutes_to_close[d_c] - 1.0,
                valid=valid,
                entry_price=entry_price[r],
                entry_fee=fee,
                expires_today=expiry_days == 0,
            )
            k = first_exit_step(path, self.settings.exits)
            fired = k >= 0
            fire_bar = np.where(fired, geo.entry[r] + np.maximum(k, 0), -1)
            rule_exit = np.where(fired, fill_bar[np.maximum(fire_bar, 0)], -1)
            x = geo.exits[r]
            # A rule firing at a decision before t + h exits at its fill bar (never later
            # than t + h); otherwise the horizon's own exit stands.
            earlier = fired[:, None] & (x >= 0) & (fire_bar[:, None] < x)
            out[r] = np.where(earlier, np.minimum(rule_exit[:, None], x), x)
        return out

    # -- the predecessor's simplified estimate -----------------------------------------
    def simplified(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The predecessor's delta-based estimate, for comparison only.

        ``premium = ghost_premium_pct % * S_t``; with an at-the-money delta of 0.5::

            pnl = 100 * (±0.5 * (S_{t+h} - S_t)
                         - premium * ghost_spread_slippage_rt_pct / 100
                         - premium * ghost_theta_daily_pct / 100 * h / 390)
                  - 2 * ghost_fee_per_contract

        It uses the SPY close at ``t`` and ``t + h`` (the same availability rules as the
        full repricing, so the two are compared on identical cycles) and ignores the
        latency, gamma, the volatility level and the option's real spread.
        """
        rows = np.arange(len(frame)) if rows is None else np.asarray(rows, dtype=np.int64)
        geo = self.geometry(frame, rows)
        q = self.settings.qscorer
        close = frame["spy_close"].to_numpy(np.float64)
        s0 = close[rows]
        premium = q.ghost_premium_pct * 0.01 * s0
        out: dict[str, np.ndarray] = {}
        for j, h in enumerate(self.horizons):
            pos = geo.exits[:, j]
            ok = pos >= 0
            # The exit quote is the open of bar t + h, i.e. the close of bar t + h - 1.
            s1 = np.where(ok, close[np.maximum(pos - 1, 0)], np.nan)
            cost = premium * (
                q.ghost_spread_slippage_rt_pct * 0.01 + q.ghost_theta_daily_pct * 0.01 * h / 390.0
            )
            for label, sign in (("call", 1.0), ("put", -1.0)):
                pnl = CONTRACT_MULTIPLIER * (sign * 0.5 * (s1 - s0) - cost)
                out[ghost_column(label, h)] = np.where(
                    ok, pnl - 2 * q.ghost_fee_per_contract, np.nan
                )
        cols = ghost_columns(self.horizons)
        return pd.DataFrame({c: out[c] for c in cols}, index=pd.DatetimeIndex(frame.index[rows]))

    # -- missed-opportunity records ----------------------------------------------------
    def missed_records(
        self, frame: pd.DataFrame, decisions: pd.DataFrame, label_mode: str | None = None
    ) -> pd.DataFrame:
        """MissedOpportunityRecords of a run: one row per held or vetoed cycle.

        Parameters
        ----------
        frame
            The run's market frame.
        decisions
            The run's DecisionRecords (:data:`~zerodte.records.DECISION_COLUMNS`).
        label_mode
            ``all`` (every cycle that did not enter: the controller held or a gate vetoed),
            ``flat_only`` (those with no open position) or ``hold_only`` (only where the
            controller itself chose HOLD). Defaults to ``qscorer.label_mode``.

        Returns
        -------
        DataFrame
            :data:`~zerodte.records.MISSED_KEY_COLUMNS` plus one ghost column per right and
            horizon. Every selected cycle has a row; unavailable horizons are null.
        """
        mode = label_mode or self.settings.qscorer.label_mode
        sel = select_missed(decisions, mode)
        chosen = decisions.loc[sel]
        ts = pd.DatetimeIndex(pd.to_datetime(chosen["timestamp"]))
        pos = pd.DatetimeIndex(frame.index).get_indexer(ts)
        if (pos < 0).any():
            missing = ts[pos < 0]
            raise ValueError(
                f"{len(missing)} decision timestamps are not in the market frame (first: "
                f"{missing[0]}); pass the frame the run was made on"
            )
        ghosts = self.rewards(frame, pos)
        keys = pd.DataFrame(
            {
                "cycle": chosen["cycle"].to_numpy(np.int64),
                "timestamp": ts,
                "session": chosen["session"].to_numpy(),
                "reason": _missed_reason(chosen),
            }
        )
        out = pd.concat([keys, ghosts.reset_index(drop=True)], axis=1)
        return out.loc[:, [*MISSED_KEY_COLUMNS, *ghosts.columns]]


def ghost_columns(horizons: Sequence[int]) -> list[str]:
    """Ghost column names in canonical order: calls by horizon, then puts by horizon."""
    return [ghost_column(label, int(h)) for label, _ in RIGHTS for h in horizons]


def select_missed(decisions: pd.DataFrame, label_mode: str) -> np.ndarray:
    """Boolean mask of the decisions that get a MissedOpportunityRecord."""
    executed = decisions["executed_action"].to_numpy(np.int64)
    not_entered = executed == int(Action.HOLD)
    if label_mode == "all":
        return not_entered
    if label_mode == "flat_only":
        return not_entered & decisions["flat"].to_numpy(bool)
    if label_mode == "hold_only":
        return decisions["action"].to_numpy(np.int64) == int(Action.HOLD)
    raise ValueError(f"unknown qscorer.label_mode {label_mode!r}; use all, flat_only or hold_only")


def _missed_reason(chosen: pd.DataFrame) -> np.ndarray:
    action = chosen["action"].to_numpy(np.int64)
    vetoes = chosen["vetoes"].fillna("").astype(str).to_numpy() if "vetoes" in chosen else None
    reason = np.full(len(chosen), "hold", dtype=object)
    entered_wish = action != int(Action.HOLD)
    if vetoes is not None:
        vetoed = entered_wish & (vetoes != "")
        reason[vetoed] = np.char.add("veto: ", vetoes[vetoed].astype(str)).astype(object)
        reason[entered_wish & ~vetoed] = "not executed"
    else:
        reason[entered_wish] = "not executed"
    return reason


def write_missed(run_dir: Path, records: pd.DataFrame) -> Path:
    """Write MissedOpportunityRecords to ``run_dir/missed.parquet`` atomically."""
    return atomic_write(Path(run_dir) / MISSED_FILE, lambda p: records.to_parquet(p, index=False))


def read_missed(run_dir: Path) -> pd.DataFrame:
    """Read ``run_dir/missed.parquet``."""
    return pd.read_parquet(Path(run_dir) / MISSED_FILE)


def compare_estimates(full: pd.DataFrame, simple: pd.DataFrame) -> pd.DataFrame:
    """Gap between the full repricing and the simplified estimate, per right and horizon.

    Columns: ``right, horizon, n, mean_full, mean_simple, mean_abs_diff, median_abs_diff,
    corr`` (Pearson; NaN with fewer than 3 rows or no variance).
    """
    rows = []
    for col in full.columns:
        if not col.startswith("ghost_"):
            continue
        _, right, hz = col.split("_")
        a = full[col].to_numpy(np.float64)
        b = simple[col].to_numpy(np.float64)
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        diff = np.abs(a - b)
        corr = float("nan")
        if len(a) >= 3 and a.std() > 0 and b.std() > 0:
            corr = float(np.corrcoef(a, b)[0, 1])
        rows.append(
            {
                "right": right,
                "horizon": int(hz.rstrip("m")),
                "n": len(a),
                "mean_full": float(a.mean()) if len(a) else float("nan"),
                "mean_simple": float(b.mean()) if len(b) else float("nan"),
                "mean_abs_diff": float(diff.mean()) if len(a) else float("nan"),
                "median_abs_diff": float(np.median(diff)) if len(a) else float("nan"),
                "corr": corr,
            }
        )
    return pd.DataFrame(rows).sort_values(["horizon", "right"]).reset_index(drop=True)
