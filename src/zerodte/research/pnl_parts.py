"""A trade's P&L taken apart: friction, slippage, the direction part and the premium part.

For each trade row (:data:`~zerodte.records.TRADE_COLUMNS`), in dollars:

* ``friction`` = ``fees`` + ``spread_cost`` (the half-spreads paid at entry and exit);
* ``before_friction`` = ``pnl`` + ``friction``: still holds the slippage;
* ``slippage`` = ``2 * pct / 100 * spread_cost``: the spread-fraction slippage
  (``costs.slippage_pct_of_spread``) of both fills. It is each fill's spread times the
  fraction, and ``spread_cost`` is the sum of the two half-spreads. Where a sale's price
  was floored at zero (a bid below the slippage) it is an upper bound;
* ``mid_to_mid`` = ``before_friction`` + ``slippage``: the move of the option's mid;
* ``delta_part`` = entry ``delta`` x (exit SPY - entry SPY) x 100 x ``qty``: the part the
  underlying's move explains to first order. Its mean is zero on a martingale (edge 0);
* ``premium_part`` = ``mid_to_mid`` - ``delta_part``: theta, gamma and vega. It is how
  the option's price compared with the moves that followed.

With ``slippage_min_ticks`` above zero the slippage of a fill is a floor, not a fraction,
and cannot be told from the trade row. The split is then not given, and neither is it
where any row lacks its spread cost: nothing is guessed.
"""

from __future__ import annotations

import pandas as pd

PARTS = (
    "pnl",
    "friction",
    "slippage",
    "before_friction",
    "mid_to_mid",
    "delta_part",
    "premium_part",
)
"""The columns of :func:`pnl_parts`, in order."""

_NEEDED = ("pnl", "fees", "spread_cost", "delta", "spy_price", "exit_spy_price", "qty")


def pnl_parts(
    trades: pd.DataFrame, slippage_pct_of_spread: float, slippage_min_ticks: int = 0
) -> pd.DataFrame | None:
    """The :data:`PARTS` of every row of ``trades`` (module docstring), or ``None`` where the
    rows do not determine them (a slippage floor, a missing column or spread cost)."""
    if slippage_min_ticks > 0 or any(c not in trades.columns for c in _NEEDED):
        return None
    cols = trades.loc[:, list(_NEEDED)].astype(float)
    if cols["spread_cost"].isna().any():
        return None
    out = pd.DataFrame(index=trades.index)
    out["pnl"] = cols["pnl"]
    out["friction"] = cols["fees"] + cols["spread_cost"]
    out["slippage"] = 2.0 * slippage_pct_of_spread / 100.0 * cols["spread_cost"]
    out["before_friction"] = out["pnl"] + out["friction"]
    out["mid_to_mid"] = out["before_friction"] + out["slippage"]
    out["delta_part"] = cols["delta"] * (cols["exit_spy_price"] - cols["spy_price"]) * 100.0
    out["delta_part"] *= cols["qty"]
    out["premium_part"] = out["mid_to_mid"] - out["delta_part"]
    return out


def with_pnl_of(trades: pd.DataFrame, parts: pd.DataFrame, name: str) -> pd.DataFrame:
    """``trades`` with ``pnl`` replaced by the part ``name``: any per-trade statistic of the
    P&L (intervals, paired differences) then measures that part."""
    if name not in PARTS:
        raise ValueError(f"{name!r} is not one of {PARTS}")
    return trades.assign(pnl=parts[name])
