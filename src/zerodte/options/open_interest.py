"""Open interest for GEX and max pain: the synthetic model and imported chains.

Synthetic open-interest model (a stated assumption, not a fit)
---------------------------------------------------------------
The synthetic market has no open interest, so one is modelled from what was known before
the session opened: the **previous session's last close** ``S0``. For every strike ``K`` on
the ``strike_step`` grid within ``S0 (1 +- 3 w)``::

    OI_call(K) = round(base *            exp(-0.5 ((K - S0 (1 + skew)) / (w S0))^2) * r(K))
    OI_put(K)  = round(base * put_ratio * exp(-0.5 ((K - S0 (1 - skew)) / (w S0))^2) * r(K))
    r(K)       = 1 + round_bonus  when K is a multiple of ``round_step``, else 1

with ``base = 20,000`` contracts, ``w = 1 %``, ``skew = 0.4 %`` (calls written above the
money, puts bought below it), ``put_ratio = 1.3`` (more put than call open interest, as in
SPY) and ``round_bonus = 1`` at multiples of $5 (open interest clusters at round strikes).
Only the 0DTE expiry is modelled. The synthetic price process does not react to it
(the market is unchanged), so on synthetic data pin and flip features carry no planted
information: any effect they show there is noise.

Features use only the prior day's open interest: the chain of session ``D`` is built from
session ``D-1``'s close (real chains: the count published before ``D`` opens, see
:func:`prior_day_chain`). The first session of a frame has no prior day and gets no chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.options.gex import validate_chain
from zerodte.options.tables import read_table

OI_FILE_COLUMNS = ("date", "open_interest", "right", "strike", "expiry")


@dataclass(frozen=True)
class SyntheticOpenInterest:
    """The documented synthetic open-interest model (see the module docstring)."""

    base: float = 20_000.0
    width: float = 0.01
    skew: float = 0.004
    put_ratio: float = 1.3
    round_step: float = 5.0
    round_bonus: float = 1.0
    strike_step: float = 1.0

    def chain(self, prior_close: float, expiry: date) -> pd.DataFrame:
        """The modelled chain of a session whose previous close was ``prior_close``."""
        if not np.isfinite(prior_close) or prior_close <= 0:
            raise ValueError(f"prior_close must be a positive price, got {prior_close!r}")
        s0 = float(prior_close)
        lo = np.floor(s0 * (1 - 3 * self.width) / self.strike_step) * self.strike_step
        hi = np.ceil(s0 * (1 + 3 * self.width) / self.strike_step) * self.strike_step
        k = np.round(np.arange(lo, hi + self.strike_step / 2, self.strike_step), 6)
        scale = self.width * s0
        on_round = np.isclose(np.mod(k, self.round_step), 0.0) | np.isclose(
            np.mod(k, self.round_step), self.round_step
        )
        r = 1.0 + self.round_bonus * on_round
        calls = self.base * np.exp(-0.5 * ((k - s0 * (1 + self.skew)) / scale) ** 2) * r
        puts = (
            self.base * self.put_ratio * np.exp(-0.5 * ((k - s0 * (1 - self.skew)) / scale) ** 2)
        ) * r
        return pd.DataFrame(
            {
                "strike": np.concatenate([k, k]),
                "right": ["C"] * len(k) + ["P"] * len(k),
                "open_interest": np.round(np.concatenate([calls, puts])),
                "expiry": expiry,
            }
        )


def prior_closes(frame: pd.DataFrame, price: str = "spy_close") -> pd.Series:
    """``session -> previous session's last close`` (NaN for the first session)."""
    if price not in frame.columns:
        raise ValueError(f"the market frame has no {price!r} column (columns: {list(frame)})")
    idx = pd.DatetimeIndex(frame.index)
    last = frame[price].groupby(idx.date).last()
    return last.shift(1)


def synthetic_chains(
    frame: pd.DataFrame, model: SyntheticOpenInterest | None = None
) -> dict[date, pd.DataFrame]:
    """The 0DTE chain of every session of ``frame`` after the first (prior-day OI only)."""
    m = model or SyntheticOpenInterest()
    closes = prior_closes(frame)
    return {
        day: m.chain(float(s0), day)
        for day, s0 in zip(closes.index, closes.to_numpy(np.float64), strict=True)
        if np.isfinite(s0)
    }


def read_open_interest(path: Path) -> pd.DataFrame:
    """An open-interest file (Parquet, :data:`OI_FILE_COLUMNS`) with dates parsed and its
    columns and values checked.

    Raises
    ------
    DataError
        The file is missing or not Parquet, lacks a column, or has a row whose date,
        expiry, strike, open interest or right is not one (the message names the first).
    """
    frame = read_table(path, pd.read_parquet, "an open-interest file", "Parquet", OI_FILE_COLUMNS)
    try:
        out = validate_chain(frame, where=str(path))
    except ValueError as exc:  # validate_chain's own message: the row and field
        raise DataError(str(exc)) from None
    for field in ("date", "expiry"):
        days = pd.to_datetime(out[field].astype(str), errors="coerce", format="mixed")
        bad = np.flatnonzero(days.isna().to_numpy())
        if len(bad):
            raise DataError(
                f"{path}: row {int(bad[0])} has {field}={frame[field].iloc[bad[0]]!r}; "
                f"{field} must be a date (YYYY-MM-DD)"
            )
        out[field] = days.dt.date
    return out


def prior_day_chain(
    oi: pd.DataFrame, session: date, expiry: date, dated: str = "start_of_day"
) -> pd.DataFrame:
    """The chain of ``expiry`` as known before ``session`` opened (the prior day's OI).

    Open interest is counted once a day after the close. ``dated="start_of_day"`` (LEAN's
    files: the row dated ``D`` holds the count published before ``D`` opens, i.e. the close
    of ``D-1``) admits rows dated ``<= session``; ``dated="after_close"`` (a row dated ``D``
    counts ``D``'s own close) admits only rows dated ``< session``.
    """
    if dated == "start_of_day":
        ok = oi["date"] <= session
    elif dated == "after_close":
        ok = oi["date"] < session
    else:
        raise ValueError(f"dated must be 'start_of_day' or 'after_close', got {dated!r}")
    known = oi[ok & (oi["expiry"] == expiry)]
    if known.empty:
        return known.loc[:, ["strike", "right", "open_interest", "expiry"]]
    latest = known[known["date"] == known["date"].max()]
    return latest.loc[:, ["strike", "right", "open_interest", "expiry"]].reset_index(drop=True)
