"""Ghost exits the broker could not fill at once: a sale into a zero bid.

The paper broker rejects a market sale when the bid is zero (``NO_QUOTE``); the exit rule
that sent it fires again at the next bar's close and the order fills at the open after it.
A position that finds no positive bid before the session's last bar settles at intrinsic
value from the last close, without a fee (:meth:`PaperBroker.settle_expired`). A ghost
that sold at ``max(bid - slip, 0) = 0`` instead would not be "exactly the broker"; this
module moves such exits to where the broker would really have sold::

    x   = the ghost's exit bar, with open bid b_x <= 0
    x'  = first bar after x in the same session (its last bar included), open bid > 0
    sale at x'  with the fill model's price and the per-contract fee, if x' exists
    else settlement at intrinsic(spy_close of the session's last bar), fee 0

(With latency of one bar the retry of an order rejected at bar ``x``'s open is sent at the
close of ``x`` and fills at the open of ``x + 1``.) Same-day expiries only: for a later
expiry the broker flattens at the session's end instead, and the last bar's quote is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BarArrays:
    """Per-bar inputs of the repricing (all of shape ``(n_bars,)``)."""

    session_code: np.ndarray
    spot_open: np.ndarray
    spot_close: np.ndarray
    vix_open: np.ndarray
    minutes_to_expiry: np.ndarray
    minutes_to_close: np.ndarray


SellPricer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``(bar positions, strikes) -> (bid, sale price)`` at those bars' open quotes."""


def retry_zero_bid_exits(  # noqa: PLR0917 (the pieces of one repricing)
    bars: BarArrays,
    x_pos: np.ndarray,
    strike: np.ndarray,
    is_call: bool,
    bid_out: np.ndarray,
    exit_price: np.ndarray,
    sell: SellPricer,
    fee: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Exit price and exit fee per (row, horizon) pair, with zero-bid sales retried.

    Parameters
    ----------
    x_pos
        Exit bar of each pair.
    strike
        Strike of each pair.
    bid_out, exit_price
        Open bid and fill price at ``x_pos`` (NaN where unusable).
    sell
        Prices sales at other bars with the same option model and fill model.
    fee
        Fee of one contract's sale.

    Returns
    -------
    (price, fees)
        ``price`` per share and the sale's fee per pair (0 where it settled).
    """
    price = exit_price.copy()
    fees = np.full(len(x_pos), float(fee))
    stuck = np.flatnonzero(np.isfinite(bid_out) & (bid_out <= 0.0))
    if len(stuck) == 0:
        return price, fees
    n_bars = len(bars.session_code)
    # last bar of each bar's session
    change = np.flatnonzero(np.diff(bars.session_code) != 0)
    ends = np.concatenate([change, [n_bars - 1]])
    last_of = ends[np.searchsorted(ends, np.arange(n_bars), side="left")]
    pending = stuck
    bar = x_pos[stuck] + 1
    while len(pending):
        in_session = bar <= last_of[x_pos[pending]]
        settle = pending[~in_session]
        if len(settle):
            last = last_of[x_pos[settle]]
            s = bars.spot_close[last]
            k = strike[settle]
            price[settle] = np.maximum(s - k, 0.0) if is_call else np.maximum(k - s, 0.0)
            fees[settle] = 0.0
        pending, bar = pending[in_session], bar[in_session]
        if not len(pending):
            break
        bid, sale = sell(bar, strike[pending])
        done = np.isfinite(bid) & (bid > 0.0)
        price[pending[done]] = sale[done]
        pending, bar = pending[~done], bar[~done] + 1
    return price, fees
