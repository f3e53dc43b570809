"""Reading and validating real option quote and open-interest files for the store.

Two formats (docs/real-data.md, "Importing option quotes"):

* **lean** -- QuantConnect Lean minute quote bars as tidy Parquet/CSV (the files of
  ``../shared/data/real/options``): ``timestamp`` (bar start, tz-aware), ``bid_open ..
  bid_close``, ``ask_open .. ask_close``, ``bid_size``, ``ask_size``, ``root``,
  ``underlying``, ``style``, ``right``, ``strike``, ``expiry``; open interest:
  ``date, open_interest`` plus the contract keys.
* **csv** -- a generic chain CSV, one row per contract and minute: ``timestamp`` (bar start;
  ISO with offset, or naive with ``tz``), ``root``, ``right`` (C/P/call/put), ``strike``,
  ``expiry`` (YYYY-MM-DD), ``bid``, ``ask`` (the last quote of the minute); optional
  ``underlying``, ``bid_open``, ``ask_open``, ``bid_size``, ``ask_size``. Without the open
  columns the minute's open quote is the previous minute's last quote of the same contract
  (what stood at the bar start), else missing. Open interest: ``date, root, right, strike,
  expiry, open_interest``.

A missing side (NaN bid or ask) is kept as missing: the contract has no two-sided quote
in that minute and the quote book falls back to the model there. Refused, with the file,
row and field: missing columns, unparseable or missing times, roots without contract
rules, rights other than C/P, strikes that are not positive or off the root's grid,
expiries before the quote date, negative or infinite prices and sizes, rows with neither
side, crossed quotes (bid above ask; ``drop_crossed=True`` drops them and reports the
count), duplicated keys, negative or fractional open interest. Nothing is written unless
the whole file passes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.option_store import OI_COLUMNS, OI_KEYS, QUOTE_COLUMNS, QUOTE_KEYS, ImportedFile
from zerodte.options.contracts import RULES

TIMEZONE = "America/New_York"
MAX_LISTED = 12
"""Problems listed in an error (the count says how many there were)."""
_RIGHTS = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}
_LEAN_QUOTE = ("bid_open", "bid_close", "ask_open", "ask_close")
_CSV_REQUIRED = ("timestamp", "root", "right", "strike", "expiry", "bid", "ask")
_OI_REQUIRED = ("date", "root", "right", "strike", "expiry", "open_interest")


@dataclass
class OptionFile:
    """A validated file: the canonical frame, its provenance and what was dropped."""

    kind: str
    frame: pd.DataFrame
    provenance: ImportedFile
    notes: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        what = (
            "is a directory; give the quote files themselves" if path.is_dir() else "no such file"
        )
        raise DataError(f"{path}: {what}")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise DataError(f"{path}: unknown file type {path.suffix!r}; give a .csv or .parquet file")
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # empty, not UTF-8, not Parquet: all ValueErrors
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: Exception) -> DataError:
    fmt = "CSV" if path.suffix.lower() == ".csv" else "Parquet"
    return DataError(
        f"{path}: not a readable {fmt} file ({exc}); option quotes and open interest are a "
        "UTF-8 CSV or a Parquet file with a header row (see docs/real-data.md, 'Importing "
        "option quotes')"
    )


class _Problems:
    def __init__(self, path: Path, csv: bool) -> None:
        self.path, self.csv, self.items = path, csv, []  # type: ignore[var-annotated]
        self.count = 0

    @classmethod
    def checked(cls, path: Path, raw: pd.DataFrame, need: tuple[str, ...], what: str) -> _Problems:
        """Problems of ``path``, after refusing a file without the columns ``need``."""
        missing = [c for c in need if c not in raw.columns]
        if missing:
            raise DataError(
                f"{path}: missing column(s) {missing} for {what} (it has "
                f"{list(raw.columns)}); see docs/real-data.md, 'Importing option quotes'"
            )
        return cls(path, path.suffix.lower() == ".csv")

    def add(self, mask: np.ndarray, field_: str, what: str, values: pd.Series) -> None:
        rows = np.flatnonzero(mask)
        self.count += len(rows)
        for r in rows[: max(0, MAX_LISTED - len(self.items))]:
            line = f" (line {r + 2})" if self.csv else ""
            self.items.append(f"row {r}{line}, field {field_!r}: {what} (saw {values.iloc[r]})")

    def raise_if_any(self, fix: str) -> None:
        if self.count:
            listed = "\n  ".join(self.items)
            raise DataError(
                f"{self.path}: {self.count} problem(s), nothing imported:\n  {listed}\n{fix}"
            )


def _contract_keys(frame: pd.DataFrame, probs: _Problems, day: pd.Series) -> pd.DataFrame:
    """Normalise and check ``root``, ``underlying``, ``right``, ``strike``, ``expiry``."""
    out = pd.DataFrame(index=frame.index)
    root = frame["root"].astype(str).str.strip().str.upper()
    known = root.isin(list(RULES)).to_numpy()
    probs.add(~known, "root", f"no contract rules (known: {', '.join(RULES)})", frame["root"])
    out["root"] = root
    under = (
        frame["underlying"]
        if "underlying" in frame
        else root.map({r: x.underlying for r, x in RULES.items()})
    )
    out["underlying"] = under.astype(str).str.upper()
    right = frame["right"].astype(str).str.strip().str.upper().map(_RIGHTS)
    probs.add(right.isna().to_numpy(), "right", "must be C, P, call or put", frame["right"])
    out["right"] = right
    strike = pd.to_numeric(frame["strike"], errors="coerce").astype(float)
    grid_ok = np.ones(len(frame), dtype=bool)
    for name, rules in RULES.items():
        rows = (root == name).to_numpy()
        grid_ok[rows] = rules.on_grid(strike.to_numpy()[rows])
    probs.add(
        ~grid_ok, "strike", "not a positive strike on the root's strike grid", frame["strike"]
    )
    out["strike"] = strike
    expiry = pd.to_datetime(frame["expiry"].astype(str), errors="coerce", format="mixed")
    bad_exp = expiry.isna().to_numpy()
    probs.add(bad_exp, "expiry", "not a date (YYYY-MM-DD)", frame["expiry"])
    before = ~bad_exp & (expiry.dt.date < day).fillna(False).to_numpy(dtype=bool)
    probs.add(before, "expiry", "before the quote date (an expired contract)", frame["expiry"])
    out["expiry"] = expiry.dt.date
    out["style"] = root.map({r: "european" if x.european else "american" for r, x in RULES.items()})
    return out


def _times(frame: pd.DataFrame, probs: _Problems, tz: str | None) -> pd.Series:
    raw = frame["timestamp"]
    ts = (
        raw
        if isinstance(raw.dtype, pd.DatetimeTZDtype)
        else pd.to_datetime(raw, errors="coerce", utc=False, format="mixed")
    )
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        if tz is None:
            if ts.notna().any():
                raise DataError(
                    f"{probs.path}: field 'timestamp' has no UTC offset; give --tz (e.g. "
                    "America/New_York) or stamps with an offset"
                )
        else:
            ts = ts.dt.tz_localize(tz)
    ts = ts.dt.tz_convert(TIMEZONE)
    probs.add(ts.isna().to_numpy(), "timestamp", "missing or not a time", raw)
    return ts


def read_quotes(
    path: Path, *, fmt: str = "auto", tz: str | None = None, drop_crossed: bool = False
) -> OptionFile:
    """Read and validate a quote file (module docstring) into :data:`QUOTE_COLUMNS`.

    Raises
    ------
    DataError
        Listing the first :data:`MAX_LISTED` problems with row, field and value.
    """
    raw = _read_table(path).reset_index(drop=True)
    fmt = ("lean" if set(_LEAN_QUOTE) <= set(raw.columns) else "csv") if fmt == "auto" else fmt
    need = (
        ("timestamp", "root", "right", "strike", "expiry", *_LEAN_QUOTE)
        if fmt == "lean"
        else _CSV_REQUIRED
    )
    probs = _Problems.checked(path, raw, need, f"the {fmt} option quote format")
    ts = _times(raw, probs, tz)
    out = _contract_keys(raw, probs, ts.dt.date)
    out.insert(0, "timestamp", ts)
    cols = {"bid_close": "bid", "ask_close": "ask"} if fmt == "csv" else {}
    for name in ("bid_open", "ask_open", "bid_close", "ask_close", "bid_size", "ask_size"):
        src = cols.get(name, name)
        if src in raw.columns:
            value = pd.to_numeric(raw[src], errors="coerce").astype(float)
            bad = raw[src].notna().to_numpy() & value.isna().to_numpy()
            probs.add(bad, src, "not a number", raw[src])
            probs.add((value < 0).to_numpy(), src, "negative", raw[src])
            probs.add(np.isinf(value.to_numpy()), src, "not a finite number", raw[src])
            out[name] = value
        else:
            out[name] = np.nan
    src_bid = "bid" if fmt == "csv" else "bid_close"
    neither = (out["bid_close"].isna() & out["ask_close"].isna()).to_numpy()
    probs.add(neither, src_bid, "neither bid nor ask", raw[src_bid])
    key = out.loc[:, list(QUOTE_KEYS)].astype(str)
    probs.add(
        key.duplicated(keep=False).to_numpy(),
        "timestamp",
        "duplicated contract and minute",
        raw["timestamp"],
    )
    crossed = (out["bid_close"] > out["ask_close"]) | (out["bid_open"] > out["ask_open"])
    notes: list[str] = []
    if drop_crossed:
        if crossed.any():
            notes.append(f"dropped {int(crossed.sum())} crossed quote row(s) (bid > ask)")
    else:
        probs.add(crossed.to_numpy(), "bid_close", "bid above ask (crossed)", out["bid_close"])
    probs.raise_if_any(
        "Fix the file; crossed rows (each side the last quote of its minute can be stale) may "
        "be dropped with --repair drop-crossed"
    )
    out = out.loc[~crossed.to_numpy()].sort_values([*QUOTE_KEYS[1:], "timestamp"])
    if fmt == "csv" and "bid_open" not in raw.columns:
        out = _open_from_previous_close(out)
    out = out.sort_values(list(QUOTE_KEYS), kind="stable").reset_index(drop=True)
    return OptionFile(
        "quotes",
        out.loc[:, list(QUOTE_COLUMNS)],
        _provenance(path, "quotes", fmt, out, out["timestamp"].astype(str)),
        notes,
    )


def _open_from_previous_close(frame: pd.DataFrame) -> pd.DataFrame:
    """The open quote of a minute = the last quote of the previous minute (same contract)."""
    contract = frame[["root", "right", "strike", "expiry"]].astype(str).agg("|".join, axis=1)
    prev_t = frame.groupby(contract.to_numpy())["timestamp"].shift(1)
    adjacent = (frame["timestamp"] - prev_t) == pd.Timedelta(minutes=1)
    for side in ("bid", "ask"):
        prev = frame.groupby(contract.to_numpy())[f"{side}_close"].shift(1)
        frame[f"{side}_open"] = prev.where(adjacent)
    return frame


def read_option_file(
    path: Path, *, fmt: str = "auto", tz: str | None = None, drop_crossed: bool = False
) -> OptionFile:
    """A quote file or, when it has an ``open_interest`` column, an open-interest file."""
    if path.is_file() and "open_interest" in _columns(path):
        return read_open_interest(path)
    return read_quotes(path, fmt=fmt, tz=tz, drop_crossed=drop_crossed)


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        if path.suffix.lower() == ".csv":
            return list(pd.read_csv(path, nrows=0).columns)
        if path.suffix.lower() in (".parquet", ".pq"):
            return list(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    return []


def read_open_interest(path: Path) -> OptionFile:
    """Read and validate an open-interest file into :data:`OI_COLUMNS` (module docstring)."""
    raw = _read_table(path).reset_index(drop=True)
    probs = _Problems.checked(path, raw, _OI_REQUIRED, "open interest")
    day = pd.to_datetime(raw["date"].astype(str), errors="coerce", format="mixed")
    probs.add(day.isna().to_numpy(), "date", "not a date (YYYY-MM-DD)", raw["date"])
    out = _contract_keys(raw, probs, day.dt.date)
    out.insert(0, "date", day.dt.date)
    oi = pd.to_numeric(raw["open_interest"], errors="coerce")
    bad = ~np.isfinite(oi.astype(float)) | (oi < 0) | (oi != np.floor(oi))
    probs.add(bad.to_numpy(), "open_interest", "not a whole number >= 0", raw["open_interest"])
    probs.add(
        out.loc[:, list(OI_KEYS)].astype(str).duplicated(keep=False).to_numpy(),
        "date",
        "duplicated contract and date",
        raw["date"],
    )
    probs.raise_if_any("Fix the file and import again")
    out["open_interest"] = oi.astype("int64")
    out = out.sort_values(list(OI_KEYS), kind="stable").reset_index(drop=True)
    return OptionFile(
        "open_interest",
        out.loc[:, list(OI_COLUMNS)],
        _provenance(path, "open_interest", "lean/csv", out, out["date"].astype(str)),
    )


def _provenance(
    path: Path, kind: str, fmt: str, frame: pd.DataFrame, times: pd.Series
) -> ImportedFile:
    return ImportedFile(
        kind=kind,
        source=f"file:{path.name}",
        format=fmt,
        sha256=sha256_of(path),
        rows=len(frame),
        underlyings=tuple(sorted(frame["underlying"].unique())),
        roots=tuple(sorted(frame["root"].unique())),
        first=str(times.min()) if len(times) else "",
        last=str(times.max()) if len(times) else "",
    )
