"""Batch and streaming feature computation over one definition per feature.

Both paths call the same group functions (``groups.py``) through :func:`_evaluate`: the
batch path once over the whole history, the stream once per bar over a bounded trailing
buffer plus the new bar, carrying the recursive state of EMA/Wilder smoothers. Warm-up is
explicit: column ``c`` is NaN for the first ``warmup[c]`` rows of the data, in both paths.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.features.context import Context, RunningSums
from zerodte.features.groups import GROUPS, SESSION_ROWS
from zerodte.features.sets import FeatureSet, get_feature_set
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import TIMEZONE

logger = logging.getLogger(__name__)

_NS_PER_DAY = 86_400_000_000_000
_NS_PER_MIN = 60_000_000_000
DERIVED = ("sid", "minute", "minutes_to_close", "day_of_week")
"""Inputs derived from the timestamp rather than read from price columns."""


class _Closes:
    """Session close times (ns since epoch) by local day number, from the NYSE calendar."""

    def __init__(self) -> None:
        self._cal: TradingCalendar | None = None
        self._cache: dict[int, int] = {}

    def close_ns(self, day_number: int) -> int:
        if day_number not in self._cache:
            if self._cal is None:
                self._cal = TradingCalendar()
            day = date.fromordinal(date(1970, 1, 1).toordinal() + day_number)
            try:
                close = self._cal.session_close(day)
            except Exception as exc:  # exchange_calendars raises its own types
                raise DataError(
                    f"{day} is not an NYSE trading session, so minutes_to_close is undefined; "
                    "feature inputs must be regular-session bars (see market.calendar)"
                ) from exc
            self._cache[day_number] = int(close.value)
        return self._cache[day_number]


_CLOSES = _Closes()


def _local_ns(index: pd.DatetimeIndex) -> np.ndarray:
    if index.tz is None:
        raise DataError(
            "feature input index must be tz-aware America/New_York timestamps, got naive "
            "timestamps; build the frame with market.schema.market_frame"
        )
    local = index.tz_convert(TIMEZONE).tz_localize(None)
    return np.asarray(local.asi8, dtype=np.int64)


def _check_inputs(frame: pd.DataFrame, fs: FeatureSet) -> None:
    missing = [c for c in fs.inputs if c not in frame.columns]
    if missing:
        raise DataError(
            f"feature set {fs.name!r} needs columns {missing}, which the frame lacks "
            f"(it has {list(frame.columns)[:20]}); build it with market.schema.market_frame"
        )
    _check_symbols(frame, fs)
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError("feature input must be indexed by timestamp (a DatetimeIndex)")
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise DataError("feature input timestamps must be strictly increasing without duplicates")
    for col in ("spy_open", "spy_high", "spy_low", "spy_close"):
        if col in fs.inputs and frame[col].isna().any():
            first = frame.index[frame[col].isna().to_numpy()][0]
            raise DataError(
                f"{col} has NaN (first at {first}); SPY defines the cycle grid and must be "
                "complete: drop or repair those bars before computing features"
            )


_ABSENT_ROWS = 30


def _check_symbols(frame: pd.DataFrame, fs: FeatureSet) -> None:
    """A set that reads a symbol whose columns are there but empty is refused: absent data
    is never a number (a symbol not stored has no columns; :meth:`FeatureSet.resolve`
    leaves its features out)."""
    for col in fs.inputs:
        sym = col.split("_", 1)[0]
        # more than half an hour of nothing: the symbol is absent, not a late first bar
        if sym in ("qqq", "vix") and len(frame) > _ABSENT_ROWS and frame[col].isna().all():
            groups = [g for g in fs.groups if col in GROUPS[g].inputs]
            raise DataError(
                f"feature set {fs.name!r} needs {sym.upper()} ({col}, group(s) {groups}) and "
                f"every {col} value is missing; import {sym.upper()} bars or drop the column"
            )


def _frame_inputs(frame: pd.DataFrame, fs: FeatureSet) -> dict[str, np.ndarray]:
    """The input arrays of ``frame`` (price columns plus timestamp-derived ones)."""
    _check_inputs(frame, fs)
    return _inputs(frame, fs)


def _inputs(frame: pd.DataFrame, fs: FeatureSet) -> dict[str, np.ndarray]:
    x = {c: frame[c].to_numpy(dtype=np.float64, copy=True) for c in fs.inputs}
    local = _local_ns(pd.DatetimeIndex(frame.index))
    day = local // _NS_PER_DAY
    x["sid"] = day.astype(np.float64)
    if "minute" in frame.columns:
        x["minute"] = frame["minute"].to_numpy(dtype=np.float64, copy=True)
    else:
        starts = pd.Series(local).groupby(day).transform("min").to_numpy()
        x["minute"] = ((local - starts) // _NS_PER_MIN).astype(np.float64)
    utc = np.asarray(pd.DatetimeIndex(frame.index).asi8, dtype=np.int64)
    days, inverse = np.unique(day, return_inverse=True)
    closes = np.array([_CLOSES.close_ns(int(d)) for d in days], dtype=np.int64)[inverse]
    # Minutes left after the decision at this bar's close (bar start + 1 minute).
    x["minutes_to_close"] = (closes - utc - _NS_PER_MIN) / _NS_PER_MIN
    x["day_of_week"] = ((day + 3) % 7).astype(np.float64)  # 1970-01-01 was a Thursday
    return x


def _evaluate(
    fs: FeatureSet,
    x: dict[str, np.ndarray],
    n: int,
    state: dict[str, dict[str, Any]],
    n_before: int,
    *,
    sums: RunningSums | None = None,
) -> np.ndarray:
    """Compute ``fs`` for the last ``n`` rows of ``x``; returns an ``(n, columns)`` array."""
    ctx = Context(x=x, n=n, state=state, wanted=frozenset(fs.columns), sums=sums)
    # Column-major: a DataFrame holds its float block as (columns, rows), so
    # compute_features can wrap this array without a copy (a year: 37 MB) in the layout
    # the copy had.
    out = np.empty((len(fs.columns), n)).T
    index = {c: i for i, c in enumerate(fs.columns)}
    for name in fs.groups:
        group = GROUPS[name]
        arrays = group.fn(ctx)
        for col, warm in group.warmup.items():
            if col not in index:
                continue
            values = np.asarray(arrays[col], dtype=np.float64)
            j = index[col]
            out[:, j] = values
            masked = min(n, max(0, warm - n_before))
            if masked:
                out[:masked, j] = np.nan
    return out


def compute_features(
    frame: pd.DataFrame, feature_set: str | FeatureSet = "default"
) -> pd.DataFrame:
    """Compute a feature set over a market frame.

    Parameters
    ----------
    frame
        The wide market frame (:func:`zerodte.market.schema.market_frame`), optionally with
        ``put_call_ratio`` / ``sentiment`` columns.
    feature_set
        A registered name or a :class:`FeatureSet`. Optional groups are added only when their
        input column is present.

    Returns
    -------
    pandas.DataFrame
        Same index, float64 columns in the (resolved) set's order, NaN during warm-up.
    """
    fs = get_feature_set(feature_set).resolve(frame.columns)
    values, _ = _compute_with_state(frame, fs)
    return pd.DataFrame(values, index=frame.index, columns=list(fs.columns), copy=False)


def _compute_with_state(
    frame: pd.DataFrame, fs: FeatureSet
) -> tuple[np.ndarray, dict[str, dict[str, Any]]]:
    x = _frame_inputs(frame, fs)
    state: dict[str, dict[str, Any]] = {}
    values = _evaluate(fs, x, len(frame), state, 0) if len(frame) else np.empty((0, 0))
    return values.reshape(len(frame), len(fs.columns)), state


class FeatureChunks:
    """:func:`compute_features` of a frame one run of whole sessions at a time.

    Each piece is evaluated on its rows plus ``history`` rows before them (twice the
    longest window, and at least two sessions), with the smoothers' state and the running
    sums carried from the piece before (:class:`~zerodte.features.context.RunningSums`), so
    every value equals the whole frame's bit for bit while only one piece of features (and
    of its temporaries) exists at a time. Pieces must be asked for in order.

    Parameters
    ----------
    frame
        The market frame (as :func:`compute_features`).
    feature_set
        A registered name or a :class:`FeatureSet` (resolved against ``frame``).
    """

    def __init__(self, frame: pd.DataFrame, feature_set: str | FeatureSet = "default") -> None:
        self.feature_set = get_feature_set(feature_set).resolve(frame.columns)
        _check_inputs(frame, self.feature_set)
        self.frame = frame
        self.history = 2 * max(self.feature_set.lookback, SESSION_ROWS)
        self._state: dict[str, dict[str, Any]] = {}
        self._sums = RunningSums()
        self._next = 0

    @property
    def columns(self) -> list[str]:
        """The feature columns, in the set's order."""
        return list(self.feature_set.columns)

    def session_bounds(self, sessions_per_piece: int) -> list[int]:
        """Row positions where pieces of ``sessions_per_piece`` whole sessions start, and
        the frame's length last. A frame without a ``minute`` column is one piece (its
        minutes are counted from the first bar of the buffer)."""
        n = len(self.frame)
        if n == 0 or "minute" not in self.frame.columns:
            return [0, n]
        day = _local_ns(pd.DatetimeIndex(self.frame.index)) // _NS_PER_DAY
        starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
        return [*starts[::sessions_per_piece].tolist(), n]

    def compute(self, stop: int) -> pd.DataFrame:
        """Features of rows ``[previous stop, stop)``; ``stop`` must be a session start or
        the frame's length."""
        lo = self._next
        if not lo < stop <= len(self.frame):
            raise DataError(f"feature pieces go forward: asked for rows {lo}..{stop}")
        first = max(0, lo - self.history)
        piece = self.frame.iloc[first:stop]
        x = _inputs(piece, self.feature_set)
        following = stop - self.history  # where the next piece's buffer starts
        self._sums.mark = following - 1 - first if following > 0 else None
        values = _evaluate(self.feature_set, x, stop - lo, self._state, lo, sums=self._sums)
        self._sums.advance()
        self._next = stop
        return pd.DataFrame(
            values, index=self.frame.index[lo:stop], columns=self.columns, copy=False
        )


def valid_mask(features: pd.DataFrame) -> pd.Series:
    """Rows where every feature is finite (past warm-up and with no missing input)."""
    return pd.Series(np.isfinite(features.to_numpy()).all(axis=1), index=features.index)


class FeatureStream:
    """Cycle-by-cycle features equal to :func:`compute_features` on the same bars.

    Keeps a bounded trailing buffer of inputs (``feature_set.lookback`` rows) and the
    recursive state of the smoothers, and evaluates the same group functions on the buffer
    for the newest bar only.

    Parameters
    ----------
    feature_set
        Name or :class:`FeatureSet`.
    inputs
        Columns the rows will carry; decides the optional groups. ``None``: decided from the
        keys of the first row.
    """

    def __init__(
        self, feature_set: str | FeatureSet = "default", inputs: Collection[str] | None = None
    ) -> None:
        self._base = get_feature_set(feature_set)
        self._fs: FeatureSet | None = None
        self._state: dict[str, dict[str, Any]] = {}
        self._seen = 0
        self._last_utc: int | None = None
        self._session_first: int | None = None
        self._session_rows = 0
        self._sid: float | None = None
        if inputs is not None:
            self._setup(self._base.resolve(inputs))

    def _setup(self, fs: FeatureSet) -> None:
        self._fs = fs
        self._names = (*fs.inputs, *DERIVED)
        self._window = fs.lookback + 1
        self._cap = max(4 * self._window, 1024)
        self._buf = np.full((len(self._names), self._cap), np.nan)
        self._ptr = 0
        # Groups that find the session's first bar inside the buffer (lookback of a session).
        self._uses_session = any(GROUPS[g].lookback >= SESSION_ROWS for g in fs.groups)
        spy = ("spy_open", "spy_high", "spy_low", "spy_close")
        self._spy_idx = [i for i, c in enumerate(fs.inputs) if c in spy]

    @property
    def feature_set(self) -> FeatureSet:
        """The resolved feature set (known after construction with ``inputs`` or one row)."""
        if self._fs is None:
            raise DataError("the stream's feature set is decided by its first row; update first")
        return self._fs

    @property
    def rows_seen(self) -> int:
        """Bars processed so far."""
        return self._seen

    def _push(self, values: np.ndarray) -> None:
        if self._ptr == self._cap:
            keep = self._window - 1
            self._buf[:, :keep] = self._buf[:, self._cap - keep :]
            self._ptr = keep
        self._buf[:, self._ptr] = values
        self._ptr += 1

    def update(self, timestamp: pd.Timestamp, row: Mapping[str, float]) -> dict[str, float]:
        """Add the bar at ``timestamp`` (data through its close) and return its features."""
        if self._fs is None:
            self._setup(self._base.resolve(list(row)))
        fs = self.feature_set
        ts = pd.Timestamp(timestamp)
        if ts.tzinfo is None:
            raise DataError(f"timestamp {ts} is naive; pass tz-aware America/New_York times")
        utc = int(ts.value)
        if self._last_utc is not None and utc <= self._last_utc:
            raise DataError(
                f"bars must arrive in time order: got {ts} after "
                f"{pd.Timestamp(self._last_utc, tz='UTC').tz_convert(TIMEZONE)}"
            )
        local = int(ts.tz_convert(TIMEZONE).tz_localize(None).value)
        day = local // _NS_PER_DAY
        if self._sid != float(day):
            self._sid, self._session_first, self._session_rows = float(day), local, 0
        self._session_rows += 1
        if self._uses_session and self._session_rows > SESSION_ROWS:
            raise DataError(
                f"session {ts.date()} has more than {SESSION_ROWS} bars; session features "
                "(VWAP, opening range, flow) support regular-hours bars only"
            )
        values = np.empty(len(self._names))
        for i, name in enumerate(fs.inputs):
            try:
                values[i] = float(row[name])
            except KeyError:
                raise DataError(
                    f"row at {ts} lacks {name!r}; the stream for {fs.name!r} needs {fs.inputs}"
                ) from None
        j = len(fs.inputs)
        assert self._session_first is not None
        minute = row.get("minute")
        values[j] = float(day)
        values[j + 1] = (
            float(minute) if minute is not None else (local - self._session_first) // _NS_PER_MIN
        )
        values[j + 2] = (_CLOSES.close_ns(int(day)) - utc - _NS_PER_MIN) / _NS_PER_MIN
        values[j + 3] = float((day + 3) % 7)
        if not np.isfinite(values[self._spy_idx]).all():
            raise DataError(f"SPY prices at {ts} are NaN; SPY bars must be complete")
        self._push(values)
        lo = max(0, self._ptr - self._window)
        x = {name: self._buf[i, lo : self._ptr] for i, name in enumerate(self._names)}
        out = _evaluate(fs, x, 1, self._state, self._seen)[0]
        self._seen += 1
        self._last_utc = utc
        return dict(zip(fs.columns, out.tolist(), strict=True))

    def prime(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Consume a history frame at once (batch speed) and return its features.

        Afterwards :meth:`update` continues exactly as if every row had been streamed.
        """
        if self._seen:
            raise DataError("prime() must be called before the first update()")
        if self._fs is None:
            self._setup(self._base.resolve(frame.columns))
        fs = self.feature_set
        x = _frame_inputs(frame, fs)
        values = _evaluate(fs, x, len(frame), self._state, 0) if len(frame) else None
        keep = min(len(frame), self._window - 1)
        for i, name in enumerate(self._names):
            self._buf[i, :keep] = x[name][len(frame) - keep :]
        self._ptr = keep
        self._seen = len(frame)
        if len(frame):
            last = pd.Timestamp(frame.index[-1])
            self._last_utc = int(last.value)
            self._sid = float(x["sid"][-1])
            same = x["sid"] == x["sid"][-1]
            self._session_rows = int(same.sum())
            local = _local_ns(pd.DatetimeIndex(frame.index))
            self._session_first = int(local[same][0])
        out = values if values is not None else np.empty((0, len(fs.columns)))
        return pd.DataFrame(out, index=frame.index, columns=list(fs.columns))
