"""A scripted market for broker tests: one session, two contracts, exact quotes."""

from __future__ import annotations

from datetime import date

import pandas as pd

from zerodte.broker.scripted import ScriptedQuoteBook, make_quote, scripted_snapshot
from zerodte.config.settings import CostsSettings
from zerodte.types import OptionContract, Right, Snapshot

TZ = "America/New_York"
SESSION = date(2024, 3, 15)
NEXT_SESSION = date(2024, 3, 18)
CALL = OptionContract("SPY", SESSION, Right.CALL, 500.0)
PUT = OptionContract("SPY", SESSION, Right.PUT, 500.0)
NO_FRICTION = CostsSettings(
    fee_per_contract=0.65, slippage_pct_of_spread=0.0, slippage_min_ticks=0, latency_seconds=1.0
)


def bounds(day: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Regular session 09:30-16:00 (the test days are full sessions)."""
    return (
        pd.Timestamp(f"{day} 09:30", tz=TZ),
        pd.Timestamp(f"{day} 16:00", tz=TZ),
    )


Quote = tuple[float, float]  # (bid, ask)


def snapshot(
    minute: int,
    quotes: dict[OptionContract, Quote] | None = None,
    close: dict[OptionContract, Quote] | None = None,
    *,
    day: date = SESSION,
    spy: float = 500.0,
    index: int | None = None,
) -> Snapshot:
    """Snapshot of the bar starting ``minute`` minutes after the open of ``day``.

    ``quotes`` are the open quotes (and the close quotes unless ``close`` is given).
    """
    open_, close_ = bounds(day)
    t = open_ + pd.Timedelta(minutes=minute)
    opens = quotes or {}
    closes = opens if close is None else close
    book = ScriptedQuoteBook(
        {c: make_quote(c, t, b, a, spy) for c, (b, a) in opens.items()},
        {c: make_quote(c, t, b, a, spy) for c, (b, a) in closes.items()},
    )
    return scripted_snapshot(
        minute if index is None else index, t, open_, close_, book, underlying={"SPY": spy}
    )
