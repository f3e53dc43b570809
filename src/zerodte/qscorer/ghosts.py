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
from typing import TYPE_CHECKING, Self

import numpy as np
import pandas as pd

from zerodte.broker.fills import ExecutionModel, build_execution_model
from zerodte.config.root import Settings
from zerodte.options.params import apply_model_params
from zerodte.qscorer.ghost_exits import GhostPath, first_exit_step
from zerodte.qscorer.ghost_fills import StrikeSelector, VectorPricer, fill_prices, latency_bars
from zerodte.qscorer.ghost_geometry import GhostGeometry, ghost_geometry, guard_minutes
from zerodte.qscorer.ghost_quotes import overlay_frame
from zerodte.qscorer.ghost_retry import BarArrays, retry_zero_bid_exits
from zerodte.qscorer.missed import RIGHTS, ghost_columns, missed_reason, select_missed
from zerodte.records import MISSED_KEY_COLUMNS, ghost_column
from zerodte.types import CONTRACT_MULTIPLIER, SESSION_MINUTES, Right, Side

if TYPE_CHECKING:
    from zerodte.options.real_book import RealQuotes

logger = logging.getLogger(__name__)


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
        # the sections it reads, not the whole tree
        self.options, self.exits, self.qscorer = settings.options, settings.exits, settings.qscorer
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
        self.guard_minutes = guard_minutes(settings)

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
        days = self.options.expiry_days
        return overlay_frame(self.real_quotes, frame, pos, strike, right, at, bid, ask, days)

    # -- full repricing ----------------------------------------------------------------
    def geometry(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> GhostGeometry:
        """Entry and exit bars of ``rows`` (see :func:`ghost_geometry`)."""
        return ghost_geometry(
            frame,
            self.horizons,
            latency=latency_bars(self.execution),
            guard_minutes=self.guard_minutes,
            expiry_days=self.options.expiry_days,
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
        mte_decision = geo.minutes_to_close[d_pos] - 1.0 + 1440.0 * self.options.expiry_days
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
        expiry_days = self.options.expiry_days
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
            k = first_exit_step(path, self.exits)
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
        q = self.qscorer
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
                q.ghost_spread_slippage_rt_pct * 0.01
                + q.ghost_theta_daily_pct * 0.01 * h / SESSION_MINUTES
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
        mode = label_mode or self.qscorer.label_mode
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
                "reason": missed_reason(chosen),
            }
        )
        out = pd.concat([keys, ghosts.reset_index(drop=True)], axis=1)
        return out.loc[:, [*MISSED_KEY_COLUMNS, *ghosts.columns]]
