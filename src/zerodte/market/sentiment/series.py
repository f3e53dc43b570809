"""The stored sentiment series: their columns, keys and the checks every write passes.

Every row carries ``known_at`` (tz-aware UTC: the first moment the value could be known)
and ``source`` (who gave it, e.g. ``cnn:graphdata``, ``polygon:news``, ``tradier:chains``).

* ``fear-greed`` (symbol ``MARKET``): ``time`` (the reading's stamp), ``value`` in
  [0, 100], ``rating`` (``extreme fear`` .. ``extreme greed``). A daily reading is known at
  its day's close.
* ``polygon-news`` (per ticker): one row per article: ``id``, ``published``, ``score``
  (+1 positive, 0 neutral, -1 negative: Polygon's per-ticker ``insights`` sentiment),
  ``publisher``. Known at publication.
* ``put-call`` (per underlying): one row per chain snapshot: ``put_volume``,
  ``call_volume``, ``put_oi``, ``call_oi``, ``ratio`` (put/call volume), ``ratio_oi``
  (put/call open interest), ``contracts``. Known at the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from zerodte.errors import DataError


@dataclass(frozen=True)
class Series:
    """One stored series kind: its key, float columns (with bounds) and text columns."""

    name: str
    key: str
    floats: dict[str, tuple[float, float]]
    texts: tuple[str, ...]
    times: tuple[str, ...] = ("known_at",)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column in stored order."""
        extra = tuple(t for t in self.times if t != "known_at")
        return ("known_at", *extra, *self.floats, *self.texts, "source")


INF = float("inf")
SERIES: dict[str, Series] = {
    "fear-greed": Series(
        "fear-greed", "time", {"value": (0.0, 100.0)}, ("rating",), ("known_at", "time")
    ),
    "polygon-news": Series(
        "polygon-news", "id", {"score": (-1.0, 1.0)}, ("id", "publisher"), ("known_at", "published")
    ),
    "put-call": Series(
        "put-call",
        "known_at",
        {
            "put_volume": (0.0, INF),
            "call_volume": (0.0, INF),
            "put_oi": (0.0, INF),
            "call_oi": (0.0, INF),
            "ratio": (0.0, INF),
            "ratio_oi": (0.0, INF),
            "contracts": (0.0, INF),
        },
        (),
    ),
}
NAN_OK = {("put-call", "ratio"), ("put-call", "ratio_oi")}
"""A ratio is NaN when its denominator is 0 (no call volume yet): unknown, not a number."""


def series_of(name: str) -> Series:
    """The series called ``name`` (a ``DataError`` listing the known ones otherwise)."""
    try:
        return SERIES[name]
    except KeyError:
        raise DataError(f"unknown sentiment series {name!r}; known: {sorted(SERIES)}") from None


def empty(name: str) -> pd.DataFrame:
    """An empty frame of series ``name`` with its dtypes."""
    s = series_of(name)
    cols: dict[str, pd.Series] = {}
    for c in s.columns:
        if c in s.times:
            cols[c] = pd.Series(dtype="datetime64[ns, UTC]")
        elif c in s.floats:
            cols[c] = pd.Series(dtype="float64")
        else:
            cols[c] = pd.Series(dtype="object")
    return pd.DataFrame(cols)


def normalize(name: str, frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """``frame`` as series ``name``: columns, dtypes, sorted by ``known_at``; bad values
    raise a :class:`DataError` naming ``where``, the row and the field."""
    s = series_of(name)
    missing = [c for c in s.columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: {name} rows lack column(s) {missing}")
    out = frame.loc[:, list(s.columns)].copy().reset_index(drop=True)
    for col in s.times:
        ts = pd.to_datetime(out[col], utc=True, errors="coerce")
        bad = np.flatnonzero(ts.isna().to_numpy())
        if len(bad):
            raise DataError(
                f"{where}: {name} row {bad[0] + 1} [{col}] missing or not a time "
                f"({frame[col].iloc[bad[0]]!r}); drop the row at the source"
            )
        out[col] = ts.astype("datetime64[ns, UTC]")
    for col, (lo, hi) in s.floats.items():
        values = pd.to_numeric(out[col], errors="coerce").astype("float64").to_numpy()
        nan_ok = (name, col) in NAN_OK
        bad_mask = (
            (~np.isfinite(values) & ~(nan_ok & np.isnan(values))) | (values < lo) | (values > hi)
        )
        bad = np.flatnonzero(bad_mask)
        if len(bad):
            raise DataError(
                f"{where}: {name} row {bad[0] + 1} [{col}] is {frame[col].iloc[bad[0]]!r}, "
                f"outside [{lo}, {hi}] or not a number; NaN is never stored as a value"
            )
        out[col] = values
    for col in (*s.texts, "source"):
        out[col] = out[col].astype(str)
    return out.sort_values(["known_at", s.key], kind="stable").reset_index(drop=True)
