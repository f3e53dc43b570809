"""Dealer gamma exposure (GEX), delta exposure (DEX), the zero-gamma flip and max pain.

A chain is a frame with one row per contract: ``strike``, ``right`` (``"C"``/``"P"``),
``open_interest`` (contracts) and optionally ``expiry`` and ``iv`` (annualised fraction).

Gamma exposure per strike, in dollars per 1 % move of the underlying::

    GEX_k = sign_k * gamma_k * 100 * OI_k * S^2 * 0.01

with the **dealer convention** ``sign = +1`` for calls and ``-1`` for puts: dealers are
assumed long the calls (customers write them) and short the puts (customers buy them as
protection), the convention of SqueezeMetrics' and Perfiliev's published GEX.
``convention="long_all"`` sets ``sign = +1`` for both (the gross gamma of the open
interest). Delta exposure::

    DEX_k = delta_k * 100 * OI_k * S

(dollars of underlying the open interest's delta amounts to; the sign is delta's own).

Gamma is the Black–Scholes–Merton gamma of :mod:`zerodte.options.black_scholes` with the
**minutes left to the expiry's close** (calendar-time year fraction of
:mod:`zerodte.options.expiry`), so a 0DTE chain at 15:00 has an hour of life, not a day.
The volatility is the chain's ``iv`` column when present, else zerodte's VIX surface
(:class:`~zerodte.options.surface.VolSurface`) at that strike.

Zero-gamma flip: the net GEX ``G(x)`` is recomputed with every gamma repriced at spot ``x``
over a grid ``[S (1 - w), S (1 + w)]``; the flip is the root of ``G`` (linear interpolation
between the two grid points whose signs differ) closest to ``S``; ``None`` when ``G`` keeps
one sign over the grid.

Max pain: the settlement price ``P`` among the chain's strikes that minimises the option
holders' payoff ``sum_calls OI max(P - K, 0) + sum_puts OI max(K - P, 0)`` (x 100), ties to
the lower strike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from zerodte.options.black_scholes import bs_greeks
from zerodte.options.expiry import year_fraction
from zerodte.options.surface import VolSurface

CONTRACT_SIZE = 100.0
Convention = Literal["dealer", "long_all"]
CHAIN_COLUMNS = ("strike", "right", "open_interest")


def validate_chain(chain: pd.DataFrame, where: str = "chain") -> pd.DataFrame:
    """The chain with ``right`` upper-cased; raises naming the row and field that is wrong.

    The result is marked (``attrs["validated"]``) so that passing it on is not re-checked.
    """
    if chain.attrs.get("validated") is True:
        return chain
    missing = [c for c in CHAIN_COLUMNS if c not in chain.columns]
    if missing:
        raise ValueError(
            f"{where}: missing column(s) {missing}; a chain needs {list(CHAIN_COLUMNS)}"
        )
    out = chain.reset_index(drop=True).copy()
    out["right"] = out["right"].astype(str).str.upper().str[0]
    for field in ("strike", "open_interest"):
        values = pd.to_numeric(out[field], errors="coerce")
        numbers = values.to_numpy(np.float64)
        bad = np.flatnonzero(~np.isfinite(numbers) | (numbers < 0))
        if len(bad):
            given = chain[field].iloc[bad[0]]
            given = given.item() if isinstance(given, np.generic) else given
            raise ValueError(
                f"{where}: row {int(bad[0])} has {field}={given!r}; "
                f"{field} must be a finite, non-negative number (drop or fix the row)"
            )
        out[field] = values.astype(np.float64)
    bad_right = np.flatnonzero(~out["right"].isin(["C", "P"]).to_numpy())
    if len(bad_right):
        raise ValueError(
            f"{where}: row {int(bad_right[0])} has right={chain['right'].iloc[bad_right[0]]!r};"
            " use 'C' or 'P'"
        )
    out.attrs["validated"] = True
    return out


@dataclass(frozen=True)
class GammaInputs:
    """What the greeks need besides the chain: minutes to expiry and a volatility source.

    ``minutes_to_expiry`` is one number (one expiry) or one per chain row; ``vix`` feeds the
    surface for rows without an ``iv``. ``rate``/``div`` as in ``OptionsSettings``.
    """

    minutes_to_expiry: float | np.ndarray
    vix: float | None = None
    surface: VolSurface | None = None
    rate: float = 0.0
    div: float = 0.0


def _vols(chain: pd.DataFrame, spot: np.ndarray, inputs: GammaInputs) -> np.ndarray:
    """Volatility of every (spot, contract): the chain's ``iv`` where given, else the surface.

    ``spot`` is ``(m, 1)`` (a grid) against the chain's ``(n,)`` rows; returns ``(m, n)``.
    """
    n = len(chain)
    mte = np.broadcast_to(np.asarray(inputs.minutes_to_expiry, np.float64), (n,))
    given = (
        pd.to_numeric(chain["iv"], errors="coerce").to_numpy(np.float64)
        if "iv" in chain
        else np.full(n, np.nan)
    )
    out = np.broadcast_to(given, (spot.shape[0], n)).copy()
    need = np.isnan(given)
    if need.any():
        if inputs.surface is None or inputs.vix is None:
            raise ValueError(
                "chain rows without 'iv' need a volatility surface and a VIX level "
                "(GammaInputs.surface, GammaInputs.vix)"
            )
        k = chain["strike"].to_numpy(np.float64)[None, :]
        surf = np.asarray(inputs.surface.iv(spot, k, mte[None, :], inputs.vix), np.float64)
        out = np.where(need[None, :], surf, out)
    return out


def _grid_greeks(
    c: pd.DataFrame, spots: np.ndarray, inputs: GammaInputs, convention: Convention
) -> tuple[np.ndarray, ...]:
    """``(gamma, delta, gex, dex)``, each ``(m, n)``, of the validated chain at each spot."""
    x = np.asarray(spots, np.float64)[:, None]
    is_call = (c["right"] == "C").to_numpy()[None, :]
    mte = np.broadcast_to(np.asarray(inputs.minutes_to_expiry, np.float64), (len(c),))
    vol = _vols(c, x, inputs)
    g = bs_greeks(
        x,
        c["strike"].to_numpy(np.float64)[None, :],
        year_fraction(mte)[None, :],
        vol,
        inputs.rate,
        inputs.div,
        is_call,
    )
    oi = c["open_interest"].to_numpy(np.float64)[None, :]
    sign = np.where(is_call, 1.0, -1.0) if convention == "dealer" else np.ones_like(oi)
    gex = sign * g.gamma * CONTRACT_SIZE * oi * x * x * 0.01
    dex = g.delta * CONTRACT_SIZE * oi * x
    return g.gamma, g.delta, gex, dex, vol


def exposures(
    chain: pd.DataFrame,
    spot: float,
    inputs: GammaInputs,
    convention: Convention = "dealer",
) -> pd.DataFrame:
    """Per-contract ``gamma``, ``delta``, ``gex`` and ``dex`` of ``chain`` at ``spot``.

    See the module docstring for the formulas; ``gex`` is dollars per 1 % move.
    """
    c = validate_chain(chain)
    if not np.isfinite(spot) or spot <= 0:
        raise ValueError(f"spot must be a positive number, got {spot!r}")
    gamma, delta, gex, dex, vol = _grid_greeks(c, np.array([spot]), inputs, convention)
    out = c.copy()
    out["iv_used"] = vol[0]
    out["gamma"] = gamma[0]
    out["delta"] = delta[0]
    out["gex"] = gex[0]
    out["dex"] = dex[0]
    return out


def gex_by_strike(exp: pd.DataFrame) -> pd.DataFrame:
    """Net ``gex`` and ``dex`` per strike (and per expiry when the chain has one)."""
    keys = ["expiry", "strike"] if "expiry" in exp.columns else ["strike"]
    return exp.groupby(keys, as_index=False)[["gex", "dex"]].sum()


def gex_profile(
    chain: pd.DataFrame,
    spots: np.ndarray,
    inputs: GammaInputs,
    convention: Convention = "dealer",
) -> np.ndarray:
    """Net GEX with every gamma repriced at each of ``spots`` (dollars per 1 % move)."""
    c = validate_chain(chain)
    return np.asarray(_grid_greeks(c, spots, inputs, convention)[2].sum(axis=1), np.float64)


def zero_gamma_flip(
    chain: pd.DataFrame,
    spot: float,
    inputs: GammaInputs,
    *,
    width: float = 0.05,
    points: int = 81,
    convention: Convention = "dealer",
) -> float | None:
    """The spot where net GEX changes sign, nearest to ``spot`` (``None`` if it does not)."""
    grid = np.linspace(spot * (1 - width), spot * (1 + width), points)
    values = gex_profile(chain, grid, inputs, convention)
    change = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
    roots = [float(grid[i]) for i in np.flatnonzero(values == 0.0)]
    for i in change:
        x0, x1, y0, y1 = grid[i], grid[i + 1], values[i], values[i + 1]
        roots.append(float(x0 - y0 * (x1 - x0) / (y1 - y0)))
    if not roots:
        return None
    return min(roots, key=lambda r: abs(r - spot))


def holder_payoff(chain: pd.DataFrame, settlements: Sequence[float] | np.ndarray) -> np.ndarray:
    """Option holders' total payoff (dollars) at each settlement price."""
    c = validate_chain(chain)
    k = c["strike"].to_numpy(np.float64)
    oi = c["open_interest"].to_numpy(np.float64)
    call = (c["right"] == "C").to_numpy()
    p = np.asarray(settlements, np.float64)[:, None]
    intrinsic = np.where(call, np.maximum(p - k, 0.0), np.maximum(k - p, 0.0))
    return np.asarray((intrinsic * oi).sum(axis=1) * CONTRACT_SIZE, np.float64)


def max_pain(chain: pd.DataFrame) -> float:
    """The strike minimising the option holders' payoff (ties: the lower strike)."""
    c = validate_chain(chain)
    if c.empty or c["open_interest"].sum() <= 0:
        raise ValueError("max pain needs a chain with some open interest")
    strikes = np.unique(c["strike"].to_numpy(np.float64))
    pay = holder_payoff(c, strikes)
    return float(strikes[int(np.argmin(pay))])


def gex_summary(
    chain: pd.DataFrame,
    spot: float,
    inputs: GammaInputs,
    convention: Convention = "dealer",
    flip_width: float = 0.05,
) -> dict[str, object]:
    """Net GEX, DEX, the flip, max pain, the largest-|GEX| strike and the per-strike table."""
    exp = exposures(chain, spot, inputs, convention)
    per = gex_by_strike(exp)
    by_strike = exp.groupby("strike")["gex"].sum()
    top = (
        float(by_strike.index[int(np.argmax(np.abs(by_strike.to_numpy())))])
        if len(by_strike)
        else float("nan")
    )
    return {
        "spot": float(spot),
        "convention": convention,
        "net_gex": float(exp["gex"].sum()),
        "net_dex": float(exp["dex"].sum()),
        "zero_gamma_flip": zero_gamma_flip(
            chain, spot, inputs, width=flip_width, convention=convention
        ),
        "max_pain": max_pain(chain),
        "pin_strike": top,
        "by_strike": per.to_dict(orient="records"),
    }
