"""The stages of the synthetic market's simulation (the model is in :mod:`.synthetic`).

:func:`~zerodte.market.synthetic.simulate_market` runs these in turn. Each stage keeps its
working arrays to itself, so they are freed when it returns: a year of minutes is about
98,000 values, 0.8 MB per float array, and the simulation works on dozens of them (the
flow regime alone holds six per minute). Only what a later stage reads is handed on.
Every random number is drawn up front, in one fixed order (:func:`draw_shocks`), so that
every edge shares them; the stages take them from that dict as they use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from zerodte.market.schema import TIMEZONE

if TYPE_CHECKING:
    from zerodte.market.synthetic import SyntheticConfig

MINUTES_PER_DAY = 390
TRADING_DAYS = 252


@dataclass(frozen=True)
class MinuteGrid:
    """The sessions' minutes as a ``(days, width)`` grid; ``mask`` marks the real ones
    (a 13:00 half day fills 210 of the 390 columns)."""

    lengths: np.ndarray
    mask: np.ndarray

    @classmethod
    def of(cls, lengths: np.ndarray) -> MinuteGrid:
        """The grid of sessions of ``lengths`` minutes."""
        width = int(lengths.max())
        return cls(lengths, np.arange(width)[None, :] < lengths[:, None])

    @property
    def days(self) -> int:
        """Number of sessions."""
        return len(self.lengths)

    @property
    def width(self) -> int:
        """Columns of the grid (the longest session)."""
        return int(self.mask.shape[1])

    @property
    def n(self) -> int:
        """Number of real minutes."""
        return int(self.mask.sum())

    def put(self, flat: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """``flat`` (one value per real minute, in time order) on the grid."""
        out = np.full(self.mask.shape, fill)
        out[self.mask] = flat
        return out


def t_unit(rng: np.random.Generator, dof: float, size: int | tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance; clipped symmetrically (mean stays zero)."""
    draws = rng.standard_t(dof, size=size) * np.sqrt((dof - 2.0) / dof)
    return np.clip(draws, -25.0, 25.0)


def vol_path(rng: np.random.Generator, days: int, trans: np.ndarray) -> np.ndarray:
    """Daily volatility regimes, starting from the stationary distribution."""
    evals, evecs = np.linalg.eig(trans.T)
    stat = np.real(evecs[:, np.argmin(np.abs(evals - 1.0))])
    stat = stat / stat.sum()
    u = rng.random(days)
    cum = np.cumsum(trans, axis=1)
    out = np.empty(days, dtype=np.int64)
    out[0] = int(np.searchsorted(np.cumsum(stat), u[0]))
    for d in range(1, days):
        out[d] = int(np.searchsorted(cum[out[d - 1]], u[d]))
    return np.minimum(out, 2)


def draw_shocks(
    rng: np.random.Generator, cfg: SyntheticConfig, grid: MinuteGrid
) -> dict[str, np.ndarray]:
    """Every random number of the simulation after the regimes, in their fixed order."""
    n, days = grid.n, grid.days
    z = t_unit(rng, cfg.t_dof, n)
    jump_on = rng.random(n) < cfg.jump_prob
    jump = np.where(jump_on, rng.standard_normal(n) * cfg.jump_scale, 0.0)
    eta = rng.standard_normal((3, n))  # slow, fast, premium factors
    qqq_idio = t_unit(rng, cfg.t_dof, n)
    gap_z = t_unit(rng, cfg.t_dof, days)
    qqq_gap_z = rng.standard_normal(days)
    flow_u = rng.random((days, grid.width, 2))
    wick = np.abs(rng.standard_normal((4, n)))
    vol_noise = rng.standard_normal((2, n))
    vix_noise = rng.standard_normal(n)
    return {
        "z": z,
        "jump": jump,
        "eta": eta,
        "qqq_idio": qqq_idio,
        "gap_z": gap_z,
        "qqq_gap_z": qqq_gap_z,
        "flow_u": flow_u,
        "wick": wick,
        "vol_noise": vol_noise,
        "vix_noise": vix_noise,
    }


def ou(innov: np.ndarray, tau: float, std: float, x0: float) -> np.ndarray:
    """AR(1) ``x_t = phi x_{t-1} + sqrt(1-phi^2) std eps_t`` by a linear filter (vectorised)."""
    # Imported here: scipy.signal costs ~0.5 s and ~50 MB at start-up, and only generating a
    # market needs it (a backtest of stored data does not).
    from scipy.signal import lfilter

    phi = float(np.exp(-1.0 / tau))
    scale = std * np.sqrt(1.0 - phi * phi)
    zi = np.array([phi * x0])
    out, _ = lfilter([scale], [1.0, -phi], innov, zi=zi)
    return np.asarray(out)


@dataclass(frozen=True)
class VolFactors:
    """The log-volatility factors at the close of each bar (``*_after``: what VIX shows
    then) and the premium factor; the return scale of bar t uses the state after bar t-1
    (``x_slow``, ``x_fast``), so it is known one bar ahead and prices stay martingales.
    Those two are derived on each read, not kept: kept, they would stay alive through the
    flow-regime stage, the simulation's peak."""

    slow_after: np.ndarray
    fast_after: np.ndarray
    y_vrp: np.ndarray

    @property
    def x_slow(self) -> np.ndarray:
        """The slow factor known before each bar."""
        return np.concatenate([[0.0], self.slow_after[:-1]])

    @property
    def x_fast(self) -> np.ndarray:
        """The fast factor known before each bar."""
        return np.concatenate([[0.0], self.fast_after[:-1]])


def vol_factors(cfg: SyntheticConfig, z: np.ndarray, eta: np.ndarray) -> VolFactors:
    """The factors, whose innovations load on the same minute's return shock (leverage)."""
    rho = cfg.leverage
    lev = np.sqrt(1.0 - rho * rho)
    rv = cfg.vrp_leverage
    return VolFactors(
        slow_after=ou(rho * z + lev * eta[0], cfg.slow_tau, cfg.slow_std, 0.0),
        fast_after=ou(rho * z + lev * eta[1], cfg.fast_tau, cfg.fast_std, 0.0),
        y_vrp=ou(rv * z + np.sqrt(1 - rv * rv) * eta[2], cfg.vrp_tau, cfg.vrp_std, 0.0),
    )


def u_shape(length: int, cfg: SyntheticConfig) -> np.ndarray:
    """Intraday volatility multiplier ``u(m)``, normalised on a full day to mean square 1."""
    full = np.arange(MINUTES_PER_DAY, dtype=float)
    raw_full = (
        1.0
        + cfg.open_vol_boost * np.exp(-full / cfg.open_vol_tau)
        + cfg.close_vol_boost * np.exp(-(MINUTES_PER_DAY - 1 - full) / cfg.close_vol_tau)
    )
    norm = np.sqrt(np.mean(raw_full**2))
    m = np.arange(length, dtype=float)
    raw = (
        1.0
        + cfg.open_vol_boost * np.exp(-m / cfg.open_vol_tau)
        + cfg.close_vol_boost * np.exp(-(length - 1 - m) / cfg.close_vol_tau)
    )
    return raw / norm


def volume_shape(length: int) -> np.ndarray:
    """Intraday volume multiplier: heavy open, quiet lunch, heavier close (auction flow)."""
    m = np.arange(length, dtype=float)
    to_close = length - 1 - m
    return (
        1.0
        + 1.8 * np.exp(-m / 25.0)
        + 4.0 * np.exp(-to_close / 15.0)
        + 1.0 * np.exp(-to_close / 60.0)
    )


def by_length(grid: MinuteGrid, make: Callable[[int], np.ndarray]) -> np.ndarray:
    """A per-minute shape of each session length (``make(length)``) on the grid."""
    out = np.zeros(grid.mask.shape)
    for length in np.unique(grid.lengths):
        rows = grid.lengths == length
        out[rows, :length] = make(int(length))
    return out


def base_sigma(
    cfg: SyntheticConfig, grid: MinuteGrid, vol_reg: np.ndarray, factors: VolFactors
) -> np.ndarray:
    """The minute return scale before the flow regime's multiplier (model item 2)."""
    sig_reg = np.asarray(cfg.regime_vols, dtype=float)
    corr = cfg.slow_std**2 + cfg.fast_std**2
    u = by_length(grid, lambda length: u_shape(length, cfg))
    base = sig_reg[vol_reg] * np.sqrt(
        (1.0 - cfg.overnight_var_share) / (TRADING_DAYS * MINUTES_PER_DAY)
    )
    return np.asarray(
        base[:, None] * u * np.exp(grid.put(factors.x_slow) + grid.put(factors.x_fast) - corr)
    )


def flow_kappas(cfg: SyntheticConfig) -> np.ndarray:
    """The drift coefficient of each flow regime: trend, neutral, range (model item 5)."""
    return np.array([cfg.kappa_trend, 0.0, -cfg.kappa_range])


@dataclass(frozen=True)
class DayPaths:
    """Each session's path relative to its open (``rel[:, 0] = 1``), the flow regime at the
    end of each bar, and each bar's drift, return scale and 30-bar return (grids)."""

    rel: np.ndarray
    flow: np.ndarray
    drift: np.ndarray
    sigma: np.ndarray
    r30: np.ndarray


def day_paths(  # noqa: PLR0917 (the stage's inputs)
    cfg: SyntheticConfig,
    grid: MinuteGrid,
    vol_reg: np.ndarray,
    sigma0: np.ndarray,
    shocks: np.ndarray,
    flow_u: np.ndarray,
) -> DayPaths:
    """The flow regime and the planted drift: one pass over the minutes, vectorised across
    days (model items 4 and 5).

    Day opens depend on the previous day's close, so days are simulated relative to their
    open (open = 1) and chained afterwards (:func:`chain_levels`): the drift uses only
    within-day ratios.
    """
    mask, lengths, n_days, width = grid.mask, grid.lengths, grid.days, grid.width
    mix = np.asarray(cfg.flow_mix, dtype=float)[vol_reg]  # (days, 3)
    m_idx = np.arange(width)
    edge_hours = (m_idx[None, :] < 60) | (m_idx[None, :] >= lengths[:, None] - 60)
    boost = np.where(edge_hours, cfg.flow_edge_hours_boost, 1.0)
    mix_t = np.repeat(mix[:, None, :], width, axis=1)
    mix_t[:, :, 0] *= boost
    mix_t /= mix_t.sum(axis=2, keepdims=True)
    cum_mix = np.cumsum(mix_t, axis=2)
    del mix_t, boost, edge_hours  # the loop reads the cumulative mix only
    kappa_of = flow_kappas(cfg)
    vmult_of = np.asarray(cfg.flow_vol_mult, dtype=float)

    closes = np.zeros((n_days, width + 1))  # column 0 = session open price
    flow = np.zeros((n_days, width), dtype=np.int64)
    drift = np.zeros((n_days, width))
    sigma = np.zeros((n_days, width))
    r30 = np.zeros((n_days, width))
    state = np.array([int(np.searchsorted(cum_mix[d, 0], flow_u[d, 0, 1])) for d in range(n_days)])
    state = np.minimum(state, 2)
    closes[:, 0] = 1.0
    for m in range(width):
        kappa = kappa_of[state]
        back = max(m - 30, 0)  # column of close_{m-31}, or of the open early in the day
        past = closes[:, m] / closes[:, back] - 1.0 if m > 0 else np.zeros(n_days)
        mu = cfg.edge * kappa * past / 30.0
        sig = sigma0[:, m] * vmult_of[state]
        ret = np.clip(mu + sig * shocks[:, m], -0.2, 0.2)
        valid = mask[:, m]
        closes[:, m + 1] = np.where(valid, closes[:, m] * (1.0 + ret), closes[:, m])
        drift[:, m] = np.where(valid, mu, 0.0)
        sigma[:, m] = np.where(valid, sig, 0.0)
        # state at the end of bar m (drives bar m+1)
        leave = flow_u[:, m, 0] < 1.0 / cfg.flow_duration
        draw = np.minimum((flow_u[:, m, 1][:, None] > cum_mix[:, m, :]).sum(axis=1), 2)
        state = np.where(leave & (m > 0), draw, state)
        flow[:, m] = state
        r30[:, m] = closes[:, m + 1] / closes[:, max(m - 29, 0)] - 1.0
    return DayPaths(rel=closes, flow=flow, drift=drift, sigma=sigma, r30=r30)


def chain_levels(start: float, gap_ret: np.ndarray, day_ret: np.ndarray) -> np.ndarray:
    """Each session's open level: the first is ``start`` (after its gap), and each later
    one gaps from the previous close (``open * close/open of that day``)."""
    opens = np.empty(len(gap_ret))
    level = start
    for d in range(len(gap_ret)):
        opens[d] = level * (1.0 + gap_ret[d])
        level = opens[d] * day_ret[d]
    return opens


def ohlc_bars(
    index: pd.DatetimeIndex,
    path: np.ndarray,
    mask: np.ndarray,
    sigma: np.ndarray,
    wick: np.ndarray,
) -> pd.DataFrame:
    """Bars from a (days, width+1) path whose column 0 is the session open price."""
    opens = path[:, :-1][mask]
    closes = path[:, 1:][mask]
    hi = np.maximum(opens, closes) * (1.0 + 0.5 * sigma * wick[0])
    lo = np.minimum(opens, closes) * (1.0 - 0.5 * sigma * wick[1])
    return bar_frame(index, opens, hi, lo, closes)


def vix_bars(
    index: pd.DatetimeIndex, closes: np.ndarray, lengths: np.ndarray, wick: np.ndarray
) -> pd.DataFrame:
    """VIX bars: open is the previous close within the day (the first open is the close)."""
    opens = np.concatenate([[closes[0]], closes[:-1]])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    opens[starts] = closes[starts]
    hi = np.maximum(opens, closes) * (1.0 + 0.0005 * wick)
    lo = np.minimum(opens, closes) * (1.0 - 0.0005 * wick)
    return bar_frame(index, opens, hi, lo, closes)


def bar_frame(
    index: pd.DatetimeIndex,
    opens: np.ndarray,
    highs: np.ndarray,
    lows: np.ndarray,
    closes: np.ndarray,
) -> pd.DataFrame:
    """Bars in the store's column order (``BAR_COLUMNS``), with zero volume."""
    return pd.DataFrame(
        {
            "timestamp": index.astype(pd.DatetimeTZDtype("ns", TIMEZONE)),
            "open": opens.astype(np.float64),
            "high": highs.astype(np.float64),
            "low": lows.astype(np.float64),
            "close": closes.astype(np.float64),
            "volume": np.zeros(len(opens)),
        }
    )
