"""Which bars an order decided at ``t`` would enter and exit at, for every cycle and horizon
(the entry after the broker's latency, the exit at ``t + h`` in the same session and before
the broker's forced exit); see :mod:`zerodte.qscorer.ghosts`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from zerodte.config.root import Settings


@dataclass(frozen=True)
class GhostGeometry:
    """Entry and exit bar positions of every cycle (``-1`` where unavailable)."""

    entry: np.ndarray  # (n,) positions into the frame
    exits: np.ndarray  # (n, n_horizons) positions into the frame, -1 = unavailable
    horizons: tuple[int, ...]
    minutes_to_close: np.ndarray  # (len(frame),) at each bar START (wall time)
    minutes_to_expiry: np.ndarray  # (len(frame),) at each bar START


def session_closes(sessions: Sequence[date] | np.ndarray) -> dict[date, pd.Timestamp]:
    """Regular-session close of each distinct session."""
    from zerodte.market.calendar import TradingCalendar

    cal = TradingCalendar()
    return {d: cal.session_close(d) for d in sorted(set(sessions))}


def _expiry_closes(sessions: Sequence[date], expiry_days: int) -> dict[date, pd.Timestamp]:
    """Close of the expiry session of contracts bought on each session."""
    from zerodte.market.calendar import TradingCalendar

    cal = TradingCalendar()
    out: dict[date, pd.Timestamp] = {}
    for d in sorted(set(sessions)):
        expiry = cal.sessions_from(d, expiry_days + 1)[-1] if expiry_days > 0 else d
        out[d] = cal.session_close(expiry)
    return out


def ghost_geometry(
    frame: pd.DataFrame,
    horizons: Sequence[int],
    *,
    latency: int,
    guard_minutes: float,
    expiry_days: int = 0,
    rows: np.ndarray | None = None,
) -> GhostGeometry:
    """Entry/exit bar positions for ``rows`` of ``frame`` (all rows by default).

    Parameters
    ----------
    frame
        Market frame indexed by bar-start timestamps with a ``session`` column.
    horizons
        Exit horizons in minutes after the decision bar's start.
    latency
        Bars from the decision bar to the entry bar (1 for sub-minute latency).
    guard_minutes
        The broker force-exits positions this many minutes before the close; an exit
        later than that is unavailable.
    """
    ts = pd.DatetimeIndex(frame.index)
    n_all = len(ts)
    rows = np.arange(n_all) if rows is None else np.asarray(rows, dtype=np.int64)
    session = frame["session"].to_numpy()
    closes = session_closes(list(pd.unique(session)))
    close_ns = np.array([closes[d].value for d in session], dtype=np.int64)
    if expiry_days > 0:
        exp = _expiry_closes(list(pd.unique(session)), expiry_days)
        expiry_ns = np.array([exp[d].value for d in session], dtype=np.int64)
    else:
        expiry_ns = close_ns
    t_ns = ts.asi8
    mtc = (close_ns - t_ns) / 60e9
    mte = (expiry_ns - t_ns) / 60e9
    minute_ns = np.int64(60_000_000_000)
    t_rows = t_ns[rows]
    s_rows = session[rows]
    # Entry: first bar at or after the due time, within the same session.
    entry = np.searchsorted(t_ns, t_rows + latency * minute_ns, side="left")
    ok = entry < n_all
    entry_c = np.minimum(entry, n_all - 1)
    ok &= session[entry_c] == s_rows
    entry = np.where(ok, entry_c, -1)
    exits = np.full((len(rows), len(horizons)), -1, dtype=np.int64)
    for j, h in enumerate(horizons):
        target = t_rows + int(h) * minute_ns
        pos = np.searchsorted(t_ns, target, side="left")
        pos_c = np.minimum(pos, n_all - 1)
        good = (pos < n_all) & (t_ns[pos_c] == target) & (session[pos_c] == s_rows)
        good &= entry >= 0
        good &= pos_c > entry  # the exit must come after the fill
        good &= mtc[pos_c] >= guard_minutes
        exits[:, j] = np.where(good, pos_c, -1)
    return GhostGeometry(entry, exits, tuple(int(h) for h in horizons), mtc, mte)


def guard_minutes(settings: Settings) -> float:
    """Minutes before the close after which the broker holds no position.

    Same-day expiry: ``exits.expiry_exit_minutes``; later expiries: ``exits.eod_flatten_minutes``.
    """
    exits = settings.exits
    if settings.options.expiry_days == 0:
        return float(exits.expiry_exit_minutes)
    return float(exits.eod_flatten_minutes)
