"""Generated corrupted bar files and the oracle that judges an import of one.

Shared by ``test_import_fuzz.py`` (a bounded run in the suite) and
``benchmarks/bench_hostile.py`` (the larger probe). Each case starts from two clean
synthetic SPY sessions written as a CSV (or Parquet) file and applies one corruption drawn
by hypothesis: a bad cell (inf, 1e308, NaN, text, negative, zero), a single-bar spike, a
cut at a random byte, day-first or month-first dates, a session restamped onto a holiday or
a Saturday, a header-only file, swapped open/close headers, float32 prices, duplicated,
swapped, missing or off-minute rows, an extra or missing field, binary or UTF-16 bytes, a
missing column, an empty timestamp, epoch times (valid or outside the calendar), a wrong
year, a wrong ``--tz``, a wrong ``--label``, and broken Parquet files.

The oracle (:func:`judge`): the import either raises :class:`DataError` and leaves the store
byte for byte as it was, or it succeeds and every stored bar equals a bar of the clean data
at the same minute (a file cut exactly at a session boundary is a valid, shorter file).
Anything else, an exception of another type included, is a failure.
"""

from __future__ import annotations

import io
import traceback
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from zerodte.errors import DataError
from zerodte.market.files import import_file
from zerodte.market.store import ParquetStore
from zerodte.market.synthetic import generate_market

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
STARTS = (date(2024, 3, 4), date(2024, 3, 13))  # day <= 12 (ambiguous) and day > 12
PRIOR_DAY = date(2024, 3, 1)  # stored before every import; must survive every refusal


@lru_cache(maxsize=4)
def clean_bars(start: date) -> pd.DataFrame:
    """Two clean SPY sessions from ``start`` (naive New York times, canonical columns)."""
    bars = generate_market(start, 2, seed=start.day)["SPY"].copy()
    return bars


@lru_cache(maxsize=1)
def prior_bars() -> pd.DataFrame:
    """The session stored before each import."""
    return generate_market(PRIOR_DAY, 1, seed=99)["SPY"].copy()


@dataclass(frozen=True, repr=False)
class Case:
    """One file to import: its bytes, suffix, import options and what was done to it."""

    kind: str
    data: bytes
    suffix: str = ".csv"
    options: dict[str, Any] = field(default_factory=dict)
    start: date = STARTS[0]

    def describe(self) -> str:
        """Kind, options and the first bytes, for a failure message."""
        return f"{self.kind} {self.options} {self.data[:160]!r}"

    __repr__ = describe


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["timestamp"] = out["timestamp"].dt.tz_localize(None)
    return out


def to_csv(frame: pd.DataFrame, ts_format: str | None = None) -> bytes:
    """CSV bytes; timestamps naive New York unless already text."""
    out = frame.copy()
    if "timestamp" in out and pd.api.types.is_datetime64_any_dtype(out["timestamp"]):
        ts = out["timestamp"]
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_localize(None)
        out["timestamp"] = ts.dt.strftime(ts_format or "%Y-%m-%d %H:%M:%S")
    return out.to_csv(index=False, lineterminator="\n").encode()


def _base(start: date) -> pd.DataFrame:
    return clean_bars(start).loc[:, list(COLUMNS)].copy()


NY = {"tz": "America/New_York", "symbol": "SPY"}
BAD_CELLS = ("inf", "-inf", "1e308", "-1e308", "1e309", "Infinity", "nan", "", "abc", "-1", "0")


@st.composite
def _cell(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    f = _base(start)
    row = draw(st.integers(0, len(f) - 1))
    col = draw(st.sampled_from(COLUMNS[1:]))
    value = draw(st.sampled_from(BAD_CELLS))
    f[col] = f[col].astype(object)
    f.loc[row, col] = value
    return Case(f"cell {col}={value!r} row {row + 1}", to_csv(f), options=NY, start=start)


@st.composite
def _spike(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    f = _base(start)
    row = draw(st.integers(0, len(f) - 1))
    factor = draw(st.sampled_from((10.0, 100.0, 0.1, 0.01, 1000.0, 3.0)))
    cols = draw(st.sampled_from((["open", "high", "low", "close"], ["close"], ["high"])))
    f.loc[row, cols] = f.loc[row, cols] * factor
    return Case(f"spike x{factor} {cols} row {row + 1}", to_csv(f), options=NY, start=start)


@st.composite
def _truncate(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    data = to_csv(_base(start))
    header_end = data.index(b"\n") + 1
    at_line = draw(st.booleans())
    if at_line:
        ends = [i + 1 for i in range(header_end, len(data) - 1) if data[i] == ord("\n")]
        cut = draw(st.sampled_from(ends))
    else:
        cut = draw(st.integers(header_end + 1, len(data) - 1))
    return Case(f"truncate at byte {cut} of {len(data)}", data[:cut], options=NY, start=start)


@st.composite
def _dates(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    fmt = draw(st.sampled_from(("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M:%S")))
    explicit = draw(st.booleans())
    options = {**NY, "time_format": fmt} if explicit else dict(NY)
    return Case(
        f"dates {fmt} explicit={explicit}", to_csv(_base(start), fmt), options=options, start=start
    )


@st.composite
def _restamp(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    f = _base(start)
    target = draw(st.sampled_from((date(2024, 3, 29), date(2024, 3, 9), date(2024, 3, 10))))
    which = draw(st.sampled_from(("first", "both")))
    days = f["timestamp"].dt.date
    first = days == days.iloc[0]
    mask = first if which == "first" else pd.Series(True, index=f.index)
    shift = pd.Timestamp(target) - pd.Timestamp(days.iloc[0])
    f.loc[mask, "timestamp"] = f.loc[mask, "timestamp"] + shift
    if which == "both":  # both days onto the target and the day after it
        second = ~first
        f.loc[second, "timestamp"] = f.loc[second, "timestamp"] - (
            pd.Timestamp(days[second].iloc[0]) - pd.Timestamp(target) - pd.Timedelta(days=1)
        )
    return Case(f"restamp {which} onto {target}", to_csv(f), options=NY, start=start)


@st.composite
def _structure(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    f = _base(start)
    kind = draw(
        st.sampled_from(
            (
                "header_only",
                "swap_open_close",
                "float32",
                "duplicate",
                "swap_rows",
                "drop_rows",
                "off_minute",
                "missing_column",
                "empty_timestamp",
                "wrong_year",
                "wrong_tz",
                "wrong_label",
                "no_tz",
            )
        )
    )
    row = draw(st.integers(1, len(f) - 2))
    options = dict(NY)
    if kind == "header_only":
        data = ",".join(COLUMNS).encode() + b"\n"
        return Case(kind, data, options=options, start=start)
    if kind == "swap_open_close":
        f = f.rename(columns={"open": "close", "close": "open"})
    elif kind == "float32":
        for c in ("open", "high", "low", "close"):
            f[c] = f[c].astype(np.float32).astype(np.float64)
    elif kind == "duplicate":
        f = pd.concat([f.iloc[: row + 1], f.iloc[[row]], f.iloc[row + 1 :]], ignore_index=True)
    elif kind == "swap_rows":
        f.iloc[[row, row + 1]] = f.iloc[[row + 1, row]].to_numpy()
    elif kind == "drop_rows":
        n = draw(st.integers(1, 5))
        f = f.drop(index=range(row, min(row + n, len(f) - 1))).reset_index(drop=True)
    elif kind == "off_minute":
        f.loc[row, "timestamp"] = f.loc[row, "timestamp"] + pd.Timedelta(seconds=30)
    elif kind == "missing_column":
        f = f.drop(columns=[draw(st.sampled_from(COLUMNS))])
    elif kind == "empty_timestamp":
        text = to_csv(f).decode().split("\n")
        text[row + 1] = "," + text[row + 1].split(",", 1)[1]
        return Case(f"{kind} row {row + 1}", "\n".join(text).encode(), options=options, start=start)
    elif kind == "wrong_year":
        year = draw(st.sampled_from((1970, 1999, 2099)))
        f["timestamp"] = f["timestamp"].map(lambda t: t.replace(year=year))
    elif kind == "wrong_tz":
        options["tz"] = draw(st.sampled_from(("UTC", "Europe/London", "Mars/Olympus", "")))
    elif kind == "wrong_label":
        options["label"] = "end"
    elif kind == "no_tz":
        options.pop("tz")
    return Case(f"{kind} row {row + 1}", to_csv(f), options=options, start=start)


@st.composite
def _fields(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    lines = to_csv(_base(start)).decode().split("\n")
    row = draw(st.integers(1, len(lines) - 2))
    kind = draw(st.sampled_from(("extra_field", "missing_field", "garbage_line")))
    if kind == "extra_field":
        lines[row] += ",999"
    elif kind == "missing_field":
        lines[row] = lines[row].rsplit(",", 1)[0]
    else:
        lines[row] = draw(st.sampled_from(("????", "a,b,c,d,e,f", ",,,,,", "\x7f\x01,1,2,3,4,5")))
    return Case(f"{kind} line {row + 1}", "\n".join(lines).encode(), options=NY, start=start)


@st.composite
def _encoding(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    data = to_csv(_base(start))
    kind = draw(st.sampled_from(("utf16", "binary", "nul_byte", "latin1_garbage")))
    if kind == "utf16":
        data = data.decode().encode("utf-16")
    elif kind == "binary":
        data = draw(st.binary(min_size=1, max_size=400))
    elif kind == "nul_byte":
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + b"\x00" + data[at:]
    else:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + b"\xe9\xff" + data[at:]
    return Case(kind, data, options=NY, start=start)


@st.composite
def _epoch(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    f = _base(start)
    unit = draw(st.sampled_from(("s", "ms", "wrong")))
    secs = f["timestamp"].astype("datetime64[ns, UTC]").astype("int64") // 10**9
    if unit == "s":
        f["timestamp"] = secs
    elif unit == "ms":
        f["timestamp"] = secs * 1000
    else:  # milliseconds divided once too often: 1970
        f["timestamp"] = secs // 1000
    return Case(
        f"epoch {unit}", f.to_csv(index=False).encode(), options={"symbol": "SPY"}, start=start
    )


@st.composite
def _parquet(draw: st.DrawFn) -> Case:
    start = draw(st.sampled_from(STARTS))
    f = _base(start)
    buf = io.BytesIO()
    kind = draw(st.sampled_from(("truncated", "garbage", "empty", "float32", "nat", "no_volume")))
    if kind == "empty":
        f.iloc[:0].to_parquet(buf)
    elif kind == "float32":
        f.astype({c: "float32" for c in ("open", "high", "low", "close")}).to_parquet(buf)
    elif kind == "nat":
        f.loc[draw(st.integers(0, len(f) - 1)), "timestamp"] = pd.NaT
        f.to_parquet(buf)
    elif kind == "no_volume":
        f.drop(columns=["volume"]).to_parquet(buf)
    else:
        f.to_parquet(buf)
    data = buf.getvalue()
    if kind == "truncated":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "garbage":
        data = draw(st.binary(min_size=0, max_size=300))
    return Case(f"parquet {kind}", data, suffix=".parquet", options={"symbol": "SPY"}, start=start)


def cases() -> st.SearchStrategy[Case]:
    """Every corruption kind, drawn evenly."""
    return st.one_of(
        _cell(),
        _spike(),
        _truncate(),
        _dates(),
        _restamp(),
        _structure(),
        _fields(),
        _encoding(),
        _epoch(),
        _parquet(),
    )


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under the store's data directory, by relative path (the lock excluded)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def prepare_store(root: Path) -> ParquetStore:
    """A store holding :func:`prior_bars` (written once)."""
    store = ParquetStore(root)
    if not store.has_data():
        store.write("SPY", prior_bars(), source="prior")
    return store


@dataclass
class Verdict:
    """Outcome of one case: refused, accepted, or failed (with the reason)."""

    outcome: str
    detail: str = ""


def judge(case: Case, work: Path) -> Verdict:
    """Import ``case`` into the store under ``work`` and apply the oracle."""
    path = work / f"case{case.suffix}"
    path.write_bytes(case.data)
    store_dir = work / "store"
    store = prepare_store(store_dir)
    before = snapshot(store_dir)
    try:
        result = import_file(path, **case.options)
        store.write_many(result.bars, source=f"file:{path.name}")
    except DataError as exc:
        after = snapshot(store_dir)
        if after != before:
            return Verdict("failed", f"store changed on a refusal: {exc}")
        if path.name not in str(exc) and "--" not in str(exc):
            return Verdict("failed", f"refusal naming neither the file nor an option: {exc!r}")
        return Verdict("refused", str(exc).splitlines()[0])
    except Exception:  # any other exception is a traceback a user would see
        return Verdict("failed", "traceback:\n" + traceback.format_exc())
    # earlier accepted cases may have stored the other clean sessions: all are expected
    expected = pd.concat([*(clean_bars(s) for s in STARTS), prior_bars()])
    expected = expected.set_index("timestamp")
    stored = ParquetStore(store_dir).load()["SPY"].set_index("timestamp")
    unknown = stored.index.difference(expected.index)
    if len(unknown):
        return Verdict("failed", f"accepted bars at minutes the clean data lacks: {unknown[:3]}")
    differs = (stored != expected.loc[stored.index, stored.columns]).any(axis=1)
    if differs.any():
        first = stored.index[np.flatnonzero(differs.to_numpy())[0]]
        return Verdict("failed", f"accepted a bad bar at {first}: {stored.loc[first].to_dict()}")
    if not prior_bars()["timestamp"].isin(stored.index).all():
        return Verdict("failed", "the prior session was lost")
    return Verdict("accepted")
