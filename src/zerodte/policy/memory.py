"""What a learning gate saw when it let an entry through, found again when the trade closes.

A gate checks an entry at the decision bar ``t``; the trade's row arrives at its exit with
``entry_time`` = the fill time (``t`` + one bar). :class:`EntryMemory` keeps the values of
the last checks and returns, for a trade, those of the latest check at or before its entry
time. A check that a later gate vetoed is superseded by the next real entry's check.
"""

from __future__ import annotations

import bisect
from typing import Any

import pandas as pd


class EntryMemory:
    """Bounded memory of ``check time -> values``."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._times: list[int] = []
        self._values: list[Any] = []

    def remember(self, time: pd.Timestamp, values: Any) -> None:
        """Store ``values`` seen at ``time`` (times arrive in order)."""
        self._times.append(pd.Timestamp(time).value)
        self._values.append(values)
        if len(self._times) > self.size:
            del self._times[0], self._values[0]

    def find(self, entry_time: Any) -> Any | None:
        """Values of the latest check at or before ``entry_time`` (``None`` if none)."""
        if entry_time is None or not self._times:
            return None
        j = bisect.bisect_right(self._times, pd.Timestamp(entry_time).value) - 1
        return self._values[j] if j >= 0 else None
