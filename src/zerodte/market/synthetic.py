"""The embedded synthetic market: SPY, QQQ and VIX minute bars with a planted, weak edge.

Everything zerodte does runs offline on this market by default. It is built to look like
the real thing in the ways that matter to an intraday option trader (fat tails, volatility
clustering, intraday U-shapes, overnight gaps, a VIX that leads realised volatility) and to
hold a *known* amount of predictability, so that a learning system can be checked against
the truth: at ``edge=0`` nothing is predictable; at ``edge=1`` a weak, documented drift is.

Model (per trading day ``d`` and session minute ``m = 0 .. L-1``; ``L`` is 390, or 210 on
13:00 half days). Full derivation and the measured numbers are in ``docs/market.md``.

1. **Volatility regime** ``s_d`` in {calm, normal, stressed}: a daily Markov chain with
   transition matrix ``P`` (``SyntheticConfig.vol_transition``) and annualised total
   volatility ``sigma_s`` (``regime_vols``: 7.5 %, 15 %, 30 %).
2. **Stochastic log-volatility**: two Ornstein-Uhlenbeck factors on the minute clock,
   ``x_slow`` (time constant ``slow_tau`` minutes, persists across days) and ``x_fast``,
   whose innovations are correlated with the SPY return shocks (``leverage`` < 0: falling
   prices raise volatility). The minute return scale is

       sigma_dm = sigma_s * sqrt((1 - f_on) / (252 * 390)) * u(m) * v(k) * exp(x_slow + x_fast - c)

   with ``u(m)`` the intraday U-shape (mean square 1 over a full day), ``f_on`` the
   overnight share of variance, ``v(k)`` the flow-regime multiplier and ``c`` the
   log-normal correction that keeps ``E[sigma^2]`` at the regime level.
3. **Shocks**: Student-t (``t_dof``) scaled to unit variance, plus rare Gaussian jumps
   (probability ``jump_prob`` per minute, ``jump_scale`` in units of ``sigma_dm``).
4. **Flow regime** ``k_dm`` in {trend, neutral, range}: hidden, minute clock, leaves its
   state with probability ``1 / flow_duration`` per minute and redraws from ``pi(s_d, m)``
   (trend is likelier when volatility is stressed and in the first and last hour, range in
   calm markets). It raises volume (``flow_volume_mult``, 1.6 / 1.0 / 0.65) and volatility
   a little in trend and lowers them in range, which makes it partly observable: relative
   volume against its time-of-day norm is the main clue (see item 9).
5. **Planted drift** (the only predictable component)::

       r_dm = mu_dm + sigma_dm * e_dm,   mu_dm = edge * kappa(k_{d,m-1}) * R30_{d,m-1} / 30
       R30_{d,m} = close_{d,m} / close_{d,max(m-30,-1)} - 1   (close_{d,-1} = session open)

   ``kappa`` is ``+kappa_trend`` (momentum), 0, or ``-kappa_range`` (mean reversion). Prices
   are ``close_m = close_{m-1} * (1 + r_m)`` with symmetric mean-zero shocks, so at
   ``edge=0`` every price is an exact martingale: ``E[close_{m+1} | past] = close_m``.
6. **Overnight gap**: ``open_d = close_{d-1} * (1 + sigma_s * sqrt(f_on / 252) * t)``.
7. **QQQ**: ``r_Q = beta * r_SPY + sigma_dm * idio * t'`` (minute correlation ~0.9).
8. **VIX**: annualised expected volatility over the next 21 sessions times a variance risk
   premium::

       VIX = 100 * exp(vrp + y) * sqrt(sum_j Q[s_d, j] * sigma_j^2) * exp(w * x_slow) * noise

   with ``Q = (1/21) sum_{n<21} P^n`` the expected regime occupancy, ``w`` the horizon
   weight of the slow factor and ``y`` an OU premium factor that also loads on SPY shocks.
9. **Volume**: ``base * U(m) * exp(b * (x_slow + x_fast)) * v_vol(k) * lognormal noise``
   with the intraday U-shape ``U``, the volatility loading ``b`` (``volume_vol_loading``,
   0.4) and the flow multiplier ``v_vol(k)``.

The oracle of the planted edge is :func:`planted_signal` on the hidden state
(``kappa(k_m) * R30_m``); :func:`observable_signal` is the best simple predictor from
observable columns alone (SPY closes and VIX). Measured information coefficients against
the forward 15-minute SPY return are in ``docs/market.md`` and asserted by tests.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.synthetic_paths import (
    TRADING_DAYS,
    MinuteGrid,
    base_sigma,
    by_length,
    chain_levels,
    day_paths,
    draw_shocks,
    flow_kappas,
    ohlc_bars,
    vix_bars,
    vol_factors,
    vol_path,
    volume_shape,
)

logger = logging.getLogger(__name__)

VIX_HORIZON_DAYS = 21
FLOW_NAMES: tuple[str, ...] = ("trend", "neutral", "range")
VOL_NAMES: tuple[str, ...] = ("calm", "normal", "stressed")


@dataclass(frozen=True)
class SyntheticConfig:
    """Every parameter of the synthetic market; the default is the calibrated market.

    Parameters
    ----------
    seed, edge, start, days
        Random seed, planted-edge scale in [0, 1], first day (the first session on or after
        it) and number of trading days.
    spy_start_price, qqq_ratio
        Starting SPY price and the QQQ/SPY price ratio on the first day.
    regime_vols
        Annualised total volatility (intraday plus overnight) of calm, normal, stressed.
    vol_transition
        Daily transition matrix of the volatility regime (rows sum to 1).
    """

    seed: int = 7
    edge: float = 1.0
    start: date = date(2024, 1, 2)
    days: int = 120
    spy_start_price: float = 470.0
    qqq_ratio: float = 0.86
    regime_vols: tuple[float, float, float] = (0.075, 0.15, 0.30)
    vol_transition: tuple[tuple[float, float, float], ...] = (
        (0.95, 0.05, 0.00),
        (0.05, 0.91, 0.04),
        (0.00, 0.10, 0.90),
    )
    overnight_var_share: float = 0.30
    slow_tau: float = 1950.0
    slow_std: float = 0.28
    fast_tau: float = 20.0
    fast_std: float = 0.25
    leverage: float = -0.6
    t_dof: float = 12.0
    jump_prob: float = 0.0002
    jump_scale: float = 5.0
    open_vol_boost: float = 1.1
    open_vol_tau: float = 20.0
    close_vol_boost: float = 1.0
    close_vol_tau: float = 30.0
    qqq_beta: float = 1.25
    qqq_idio: float = 0.62
    # flow regime (planted edge); rows: calm, normal, stressed; columns: trend, neutral, range
    flow_mix: tuple[tuple[float, float, float], ...] = (
        (0.15, 0.35, 0.50),
        (0.30, 0.40, 0.30),
        (0.50, 0.30, 0.20),
    )
    flow_duration: float = 45.0
    flow_edge_hours_boost: float = 1.6
    flow_vol_mult: tuple[float, float, float] = (1.12, 1.0, 0.92)
    flow_volume_mult: tuple[float, float, float] = (1.6, 1.0, 0.65)
    kappa_trend: float = 0.48
    kappa_range: float = 0.25
    # volume and VIX
    spy_volume: float = 90_000.0
    qqq_volume: float = 45_000.0
    volume_noise: float = 0.35
    volume_vol_loading: float = 0.4
    vrp: float = 1.15
    vrp_tau: float = 7800.0
    vrp_std: float = 0.06
    vrp_leverage: float = -0.3
    vix_noise: float = 0.0005

    def __post_init__(self) -> None:
        if not 0.0 <= self.edge <= 1.0:
            raise DataError(f"synthetic edge must be in [0, 1], got {self.edge}; use 0..1")
        if self.days < 1:
            raise DataError(f"synthetic days must be >= 1, got {self.days}")
        if self.seed < 0:
            raise DataError(f"synthetic seed must be 0 or more, got {self.seed}; use --seed 0..")
        trans = np.asarray(self.vol_transition, dtype=float)
        if trans.shape != (3, 3) or not np.allclose(trans.sum(axis=1), 1.0):
            raise DataError(f"vol_transition must be 3x3 with rows summing to 1, got {trans}")
        mix = np.asarray(self.flow_mix, dtype=float)
        if mix.shape != (3, 3) or not np.allclose(mix.sum(axis=1), 1.0):
            raise DataError(f"flow_mix must be 3x3 with rows summing to 1, got {mix}")
        if self.t_dof <= 2.0:
            raise DataError(f"t_dof must exceed 2 (finite variance), got {self.t_dof}")

    def to_dict(self) -> dict[str, object]:
        """Plain-dict form for manifests."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        return out


@dataclass(frozen=True)
class SyntheticMarket:
    """Bars plus the hidden state that produced them (for tests and research only).

    ``state`` is indexed like the SPY bars and holds ``vol_regime`` (0 calm, 1 normal,
    2 stressed), ``flow_regime`` (0 trend, 1 neutral, 2 range; the state at the end of the
    bar), ``sigma`` (the minute return scale of the bar), ``drift`` (the planted drift of the
    bar), ``kappa_next`` (the drift coefficient that will apply to the next bar) and
    ``r30`` (``close / close 30 bars earlier within the session - 1``).
    """

    config: SyntheticConfig
    bars: dict[str, pd.DataFrame]
    state: pd.DataFrame


def generate_market(
    start: date, days: int, seed: int, edge: float = 1.0
) -> dict[str, pd.DataFrame]:
    """Canonical SPY, QQQ and VIX bars of the default synthetic market.

    Deterministic: the same arguments give identical frames (and identical Parquet bytes).
    Different ``edge`` values with the same seed share every random draw; only the planted
    drift differs.
    """
    cfg = SyntheticConfig(seed=seed, edge=edge, start=start, days=days)
    return simulate_market(cfg).bars


def simulate_market(cfg: SyntheticConfig) -> SyntheticMarket:
    """Simulate the synthetic market described in the module docstring.

    The stages are in :mod:`zerodte.market.synthetic_paths`; each frees its working arrays
    when it returns, and the arrays handed on are dropped here once the last stage that
    reads them is done, so the peak memory of a year stays near what the bars need.
    """
    cal = TradingCalendar()
    sessions = cal.sessions_from(cfg.start, cfg.days)
    grid = MinuteGrid.of(np.array([len(cal.session_minutes(d)) for d in sessions], np.int64))
    lengths, mask = grid.lengths, grid.mask
    rng = np.random.default_rng(cfg.seed)
    trans = np.asarray(cfg.vol_transition, dtype=float)
    vol_reg = vol_path(rng, grid.days, trans)
    sig_reg = np.asarray(cfg.regime_vols, dtype=float)
    draws = draw_shocks(rng, cfg, grid)

    z = draws.pop("z")
    factors = vol_factors(cfg, z, draws.pop("eta"))
    paths = day_paths(
        cfg,
        grid,
        vol_reg,
        sigma0=base_sigma(cfg, grid, vol_reg, factors),
        shocks=grid.put(np.clip(z + draws.pop("jump"), -40.0, 40.0)),
        flow_u=draws.pop("flow_u"),
    )
    del z
    x_slow = factors.x_slow
    gaps = sig_reg[vol_reg] * np.sqrt(cfg.overnight_var_share / TRADING_DAYS)
    gap_ret = np.clip(
        gaps * np.exp(grid.put(x_slow)[:, 0] - cfg.slow_std**2) * draws.pop("gap_z"), -0.2, 0.2
    )
    gap_ret[0] = 0.0
    rel = paths.rel
    day_ret = rel[np.arange(grid.days), lengths]  # close / open of each day
    spy_path = rel * chain_levels(cfg.spy_start_price, gap_ret, day_ret)[:, None]
    spy_ret_grid = rel[:, 1:] / rel[:, :-1] - 1.0

    qqq_rel_ret = cfg.qqq_beta * spy_ret_grid + paths.sigma * cfg.qqq_idio * grid.put(
        draws.pop("qqq_idio")
    )
    del spy_ret_grid
    qqq_rel = np.concatenate([np.ones((grid.days, 1)), np.cumprod(1.0 + qqq_rel_ret, axis=1)], 1)
    del qqq_rel_ret
    qqq_gap = np.clip(
        cfg.qqq_beta * gap_ret + gaps * cfg.qqq_idio * draws.pop("qqq_gap_z") * 0.5, -0.25, 0.25
    )
    qqq_gap[0] = 0.0
    qqq_day = qqq_rel[np.arange(grid.days), lengths]
    qqq_path = (
        qqq_rel * chain_levels(cfg.spy_start_price * cfg.qqq_ratio, qqq_gap, qqq_day)[:, None]
    )
    del qqq_rel

    # VIX: expected regime variance over the next 21 sessions, slow factor, premium.
    occ = sum(np.linalg.matrix_power(trans, k) for k in range(VIX_HORIZON_DAYS))
    occ = np.asarray(occ) / VIX_HORIZON_DAYS
    exp_var = occ @ (sig_reg**2)
    w_slow = (cfg.slow_tau / (VIX_HORIZON_DAYS * 390)) * (
        1.0 - np.exp(-VIX_HORIZON_DAYS * 390 / cfg.slow_tau)
    )
    vix_flat = (
        100.0
        * np.sqrt(exp_var[np.repeat(vol_reg, lengths)])
        * cfg.vrp
        * np.exp(
            factors.y_vrp + w_slow * factors.slow_after + cfg.vix_noise * draws.pop("vix_noise")
        )
    )

    index = cal.minutes(sessions)
    flow_flat = paths.flow[mask]
    vmul = np.asarray(cfg.flow_volume_mult, dtype=float)[flow_flat]
    vol_noise = draws.pop("vol_noise")
    vol_level = (
        np.exp(cfg.volume_vol_loading * (x_slow + factors.x_fast))
        * vmul
        * np.exp(cfg.volume_noise * vol_noise[0] - 0.5 * cfg.volume_noise**2)
    )
    del factors, x_slow
    vshape_flat = by_length(grid, volume_shape)[mask]
    sigma_flat = paths.sigma[mask]
    wick = draws.pop("wick")
    spy = ohlc_bars(index, spy_path, mask, sigma_flat, wick[:2])
    spy["volume"] = np.maximum(np.round(cfg.spy_volume * vshape_flat * vol_level), 1.0)
    del spy_path
    qqq = ohlc_bars(index, qqq_path, mask, sigma_flat * 1.3, wick[2:])
    qqq["volume"] = np.maximum(
        np.round(cfg.qqq_volume * vshape_flat * vol_level * np.exp(0.2 * vol_noise[1])), 1.0
    )
    del qqq_path, vol_level, vshape_flat
    bars = {"SPY": spy, "QQQ": qqq, "VIX": vix_bars(index, vix_flat, lengths, wick[0])}
    kappa_of = flow_kappas(cfg)
    state_frame = pd.DataFrame(
        {
            "vol_regime": np.repeat(vol_reg, lengths),
            "flow_regime": flow_flat,
            "sigma": sigma_flat,
            "drift": paths.drift[mask],
            "kappa_next": kappa_of[flow_flat],
            "r30": paths.r30[mask],
        },
        index=index,
    )
    logger.debug("simulated %d sessions (%d minutes), edge=%s", grid.days, grid.n, cfg.edge)
    return SyntheticMarket(config=cfg, bars=bars, state=state_frame)


def planted_signal(state: pd.DataFrame) -> pd.Series:
    """The oracle of the planted edge from the hidden state: ``kappa(k_t) * R30_t``.

    Proportional to the drift the next bar will carry (at ``edge=1``); its correlation with
    the forward 15-minute SPY return is the information coefficient documented in
    ``docs/market.md``. Needs the hidden state of :class:`SyntheticMarket`.
    """
    return (state["kappa_next"] * state["r30"]).rename("planted_signal")


def observable_signal(frame: pd.DataFrame, cfg: SyntheticConfig | None = None) -> pd.Series:
    """A causal predictor of the planted drift from observable columns only.

    ``E[kappa | VIX, minute] * R30`` where the volatility regime is read from the VIX level
    (the regime's VIX at the premium, midpoints as thresholds) and the flow mix
    ``pi(s, m)`` gives the expected drift coefficient. Uses ``spy_close``, ``vix_close``,
    ``session`` and ``minute`` of the market frame; nothing after the bar.
    """
    cfg = cfg or SyntheticConfig()
    trans = np.asarray(cfg.vol_transition, dtype=float)
    sig_reg = np.asarray(cfg.regime_vols, dtype=float)
    occ = sum(np.linalg.matrix_power(trans, k) for k in range(VIX_HORIZON_DAYS))
    vix_levels = 100.0 * cfg.vrp * np.sqrt((np.asarray(occ) / VIX_HORIZON_DAYS) @ sig_reg**2)
    cuts = 0.5 * (vix_levels[:-1] + vix_levels[1:])
    regime = np.searchsorted(cuts, frame["vix_close"].to_numpy())
    mix = np.asarray(cfg.flow_mix, dtype=float)[regime]
    minute = frame["minute"].to_numpy()
    # session length from the exchange schedule (known in advance), never from the data
    cal = TradingCalendar()
    lengths = {d: len(cal.session_minutes(d)) for d in pd.unique(frame["session"])}
    length = frame["session"].map(lengths).to_numpy()
    edge_hours = (minute < 60) | (minute >= length - 60)
    mix[:, 0] *= np.where(edge_hours, cfg.flow_edge_hours_boost, 1.0)
    mix /= mix.sum(axis=1, keepdims=True)
    kappa = mix[:, 0] * cfg.kappa_trend - mix[:, 2] * cfg.kappa_range
    close = frame["spy_close"]
    grouped = close.groupby(frame["session"])
    first_open = frame.groupby("session")["spy_open"].transform("first")
    back = grouped.shift(30)
    back = back.fillna(first_open)
    r30 = close / back - 1.0
    return pd.Series(kappa * r30.to_numpy(), index=frame.index, name="observable_signal")


def with_overrides(cfg: SyntheticConfig, **changes: object) -> SyntheticConfig:
    """A copy of ``cfg`` with ``changes`` applied (validated again)."""
    return replace(cfg, **changes)  # type: ignore[arg-type]
