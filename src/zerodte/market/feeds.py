"""Volume feeds: the names recorded with stored bars, and the check that one symbol's stored
volume does not mix feeds of different scales.

Consolidated (SIP) SPY volume is about 1.5x a BATS-only feed and about 15x IEX alone, so
volume features learned on one feed mean something else on another. The store records each
file's feed (:data:`zerodte.market.store` metadata) and refuses, unless asked, bars whose
median daily volume differs from the stored bars' by more than :data:`VOLUME_SCALE_LIMIT`.
"""

from __future__ import annotations

import re

import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import local_days

VOLUME_SCALE_LIMIT = 2.0
"""Largest ratio of median daily volume between two feeds of one symbol accepted without
``mix_feeds``: consolidated SPY volume is ~1.5x a BATS-only feed and ~15x IEX alone."""

_FEED = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def check_feed(feed: object) -> str:
    """``feed`` lower-cased when it names a feed (``sip``, ``iex``, ``bats``, ...).

    A feed name is 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit. A
    comma list names the feeds a served series already mixes (the data manager reports a
    mixed symbol that way); it comes back sorted, each name once.
    """
    parts = feed.strip().lower().split(",") if isinstance(feed, str) else [""]
    if not all(_FEED.fullmatch(part) for part in parts):
        raise DataError(
            f"feed {feed!r} is not a feed name; give 1 to 32 of a-z, 0-9, '_' and '-' (e.g. "
            "sip, iex, bats), or leave --feed unset for 'unknown'"
        )
    return ",".join(sorted(set(parts)))


def median_daily_volume(frame: pd.DataFrame) -> float:
    """Median over the frame's sessions of the day's total volume (NaN without bars)."""
    daily = frame.groupby(local_days(frame["timestamp"]))["volume"].sum()
    return float(daily.median()) if len(daily) else float("nan")


def check_volume_scale(
    symbol: str, stored: pd.DataFrame, new: pd.DataFrame, feed: str, stored_feeds: set[str]
) -> None:
    """Refuse ``new`` bars whose volume scale is another feed's than the ``stored`` bars'.

    Raises
    ------
    DataError
        The two median daily volumes differ by more than :data:`VOLUME_SCALE_LIMIT` times.
    """
    a, b = median_daily_volume(stored), median_daily_volume(new)
    if a > 0 and b > 0 and max(a, b) / min(a, b) > VOLUME_SCALE_LIMIT:
        raise DataError(
            f"{symbol}: median daily volume {b:,.0f} (feed {feed}) against {a:,.0f} stored "
            f"(feed {', '.join(sorted(stored_feeds))}): {max(a, b) / min(a, b):.1f}x "
            "apart, so these look like different feeds (consolidated SIP vs one exchange "
            "such as IEX or BATS) and volume features would mix scales. Import into another "
            "store (--data-dir), or pass --mix-feeds to accept the mix"
        )
