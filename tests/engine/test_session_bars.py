"""The kept bars of a live session (``engine/session_bars.py``): from checkpoint rows to
the file and back, and the checks that refuse a changed file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from zerodte.engine.session_bars import (
    BAR_KEY,
    PRICE_COLUMNS,
    SESSION_BARS,
    bar_row,
    bars_frame,
    parquet_bytes,
    read_session_bars,
    session_source,
)
from zerodte.errors import DataError

NY = "America/New_York"
T0 = pd.Timestamp("2024-01-02 09:30", tz=NY)


def _values(close: float, **over: float) -> dict[str, float]:
    out = {c: close for c in PRICE_COLUMNS}
    out.update({c: 1000.0 for c in PRICE_COLUMNS if c.endswith("_volume")})
    out["minute"] = 0.0
    out.update(over)
    return out


def _row(minute: int, close: float, **over: float) -> dict[str, object]:
    t = T0 + pd.Timedelta(minutes=minute)
    values = _values(close, minute=float(minute), **over)
    # through JSON, as a durable journal gives the rows back
    return json.loads(json.dumps({"cycle": minute, BAR_KEY: bar_row(t, values)}))


def _write(tmp_path: Path, bars: pd.DataFrame) -> dict[str, object]:
    data = parquet_bytes(bars)
    (tmp_path / SESSION_BARS).write_bytes(data)
    return session_source(bars, data, "fake-tradier:test")


def test_rows_become_bars_in_time_order_first_sighting_kept() -> None:
    rows = [_row(1, 101.0), _row(0, 100.0), _row(1, 555.0), {"cycle": 9}]
    bars = bars_frame(rows)
    assert bars["timestamp"].tolist() == [T0, T0 + pd.Timedelta(minutes=1)]
    assert bars["spy_close"].tolist() == [100.0, 101.0]  # not the later 555
    assert list(bars.columns) == ["timestamp", *PRICE_COLUMNS, "minute"]


def test_no_bars_in_the_rows_gives_an_empty_frame() -> None:
    assert bars_frame([{"cycle": 0}]).empty


def test_the_file_round_trips_to_a_market_frame(tmp_path: Path) -> None:
    nan = math.nan
    rows = [_row(0, 100.0, qqq_close=nan), _row(1, 100.5)]
    bars = bars_frame(rows)
    src = _write(tmp_path, bars)
    assert src["kind"] == "session" and src["bars"] == 2
    assert src["first_bar"] == T0.isoformat() and src["venue"] == "fake-tradier:test"
    frame = read_session_bars(tmp_path, src)
    assert frame.index.name == "timestamp" and str(frame.index.tz) == NY
    assert frame.index.dtype == "datetime64[ns, America/New_York]"
    assert list(frame.columns) == [*PRICE_COLUMNS, "session", "minute"]
    assert frame["session"].tolist() == [T0.date(), T0.date()]
    assert math.isnan(frame["qqq_close"].iloc[0])  # a missing value stays NaN, never 0
    assert frame["spy_close"].tolist() == [100.0, 100.5]


def test_a_symbol_the_venue_never_sent_has_no_columns(tmp_path: Path) -> None:
    qqq = {c: math.nan for c in PRICE_COLUMNS if c.startswith("qqq_")}
    bars = bars_frame([_row(0, 100.0, **qqq), _row(1, 100.5, **qqq)])
    frame = read_session_bars(tmp_path, _write(tmp_path, bars))
    assert not any(c.startswith("qqq_") for c in frame.columns)
    assert "spy_close" in frame and "vix_close" in frame


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b[: len(b) // 2], "edited or truncated"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "edited or truncated"),
        (None, "missing"),
    ],
)
def test_a_changed_file_is_refused_by_name(tmp_path: Path, change: object, message: str) -> None:
    src = _write(tmp_path, bars_frame([_row(0, 100.0), _row(1, 100.5)]))
    path = tmp_path / SESSION_BARS
    if change is None:
        path.unlink()
    else:
        path.write_bytes(change(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(DataError, match=message) as err:
        read_session_bars(tmp_path, src)
    assert str(path) in str(err.value)


def test_a_bar_count_that_is_not_the_manifests_is_refused(tmp_path: Path) -> None:
    src = _write(tmp_path, bars_frame([_row(0, 100.0), _row(1, 100.5)]))
    with pytest.raises(DataError, match="holds 2 bars"):
        read_session_bars(tmp_path, {**src, "bars": 3})
