"""The minute path the regret formulas read: SPY closes, session VWAP, minutes to the close.

Built once per run from the market frame; every lookup is by position, and every window
stays inside the trade's own session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zerodte.market.calendar import TradingCalendar


@dataclass(frozen=True)
class MarketPath:
    """Per-minute arrays of one run's market (see the module docstring)."""

    times: pd.DatetimeIndex
    close: np.ndarray
    vwap: np.ndarray
    session: np.ndarray  # int64 session code per row
    minutes_to_close: np.ndarray
    vix: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, calendar: TradingCalendar | None = None) -> MarketPath:
        """The path of a market frame (``spy_close``, ``spy_volume``, ``vix_close``).

        VWAP is the session's cumulative ``sum(typical * volume) / sum(volume)`` with the
        bar's typical price ``(high + low + close) / 3``, known at the bar's close; a
        session without volume gets the running mean of typical prices instead.
        """
        for col in ("spy_close", "spy_high", "spy_low"):
            if col not in frame.columns:
                raise ValueError(f"the market frame has no {col!r} column; pass the run's frame")
        idx = pd.DatetimeIndex(frame.index)
        close = frame["spy_close"].to_numpy(np.float64)
        typical = (frame["spy_high"].to_numpy(np.float64) + frame["spy_low"].to_numpy() + close) / 3
        vol = (
            frame["spy_volume"].to_numpy(np.float64)
            if "spy_volume" in frame
            else np.full(len(frame), np.nan)
        )
        day = np.asarray(idx.tz_convert("America/New_York").normalize().asi8, np.int64)
        _, session = np.unique(day, return_inverse=True)
        vwap = np.empty(len(frame))
        for s in np.unique(session):
            m = session == s
            v = np.nan_to_num(vol[m])
            if v.sum() > 0:
                with np.errstate(invalid="ignore", divide="ignore"):
                    vwap[m] = np.cumsum(typical[m] * v) / np.cumsum(v)
            else:
                vwap[m] = np.cumsum(typical[m]) / np.arange(1, m.sum() + 1)
        cal = calendar or TradingCalendar()
        closes = {d: cal.session_close(d) for d in sorted(set(idx.date))}
        close_ns = np.array([closes[d].value for d in idx.date], np.int64)
        mtc = (close_ns - np.asarray(idx.as_unit("ns").asi8, np.int64)) / 60e9
        vix = (
            frame["vix_close"].to_numpy(np.float64)
            if "vix_close" in frame
            else np.full(len(frame), np.nan)
        )
        return cls(idx, close, vwap, np.asarray(session, np.int64), mtc, vix)

    def position(self, ts: pd.Timestamp) -> int:
        """Row of the bar stamped ``ts`` (raises when the path does not have it)."""
        pos = int(self.times.get_indexer(pd.DatetimeIndex([ts]))[0])
        if pos < 0:
            raise ValueError(f"{ts} is not a bar of the market path; pass the run's frame")
        return pos

    def window(self, pos: int, before: int, after: int) -> np.ndarray:
        """Rows ``pos - before .. pos + after`` clipped to ``pos``'s session."""
        lo, hi = max(pos - before, 0), min(pos + after, len(self.close) - 1)
        rows = np.arange(lo, hi + 1)
        return rows[self.session[rows] == self.session[pos]]
