"""Real option quotes and open interest in the store, apart from the bars.

Layout (generations as in :mod:`zerodte.market.generations`, published atomically)::

    <data_dir>/options/CURRENT                                    -> "g000003"
    <data_dir>/options/g000003/quotes/root=SPXW/year=2021.parquet
    <data_dir>/options/g000003/open_interest/root=SPX/year=2021.parquet
    <data_dir>/options/g000003/provenance.json

Quote files hold :data:`QUOTE_COLUMNS` (one row per contract and minute; the minute's first
and last bid/ask), open-interest files :data:`OI_COLUMNS` (start-of-day contracts).
``provenance.json`` lists every imported file: its kind, format, source, underlyings,
roots, rows and SHA-256. Option quotes are real market data: a store whose bars are
synthetic refuses them (synthetic and real data never share a store). The caller
validates the frames (:mod:`zerodte.options.importing`); this module only stores and
reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.generations import Generations, Staging
from zerodte.market.store import ParquetStore

logger = logging.getLogger(__name__)

QUOTE_KEYS: tuple[str, ...] = ("timestamp", "root", "right", "strike", "expiry")
QUOTE_COLUMNS: tuple[str, ...] = (
    "timestamp",  # bar start, America/New_York
    "root",  # SPY | SPX | SPXW ...
    "underlying",  # SPY | SPX ...
    "style",  # american | european
    "right",  # C | P
    "strike",
    "expiry",  # date
    "bid_open",  # first quote of the minute (what an order arriving at the bar start meets)
    "ask_open",
    "bid_close",  # last quote of the minute (what a decision at the bar end sees)
    "ask_close",
    "bid_size",
    "ask_size",
)
OI_KEYS: tuple[str, ...] = ("date", "root", "right", "strike", "expiry")
OI_COLUMNS: tuple[str, ...] = (
    "date",
    "root",
    "underlying",
    "right",
    "strike",
    "expiry",
    "open_interest",
)
PROVENANCE = "provenance.json"
KINDS = {"quotes": (QUOTE_KEYS, QUOTE_COLUMNS), "open_interest": (OI_KEYS, OI_COLUMNS)}


@dataclass(frozen=True)
class ImportedFile:
    """Provenance of one imported file."""

    kind: str
    source: str
    format: str
    sha256: str
    rows: int
    underlyings: tuple[str, ...]
    roots: tuple[str, ...]
    first: str
    last: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {**self.__dict__, "underlyings": list(self.underlyings), "roots": list(self.roots)}


def _year_of(frame: pd.DataFrame, kind: str) -> np.ndarray:
    if kind == "quotes":
        return np.asarray(frame["timestamp"].dt.year.to_numpy())
    return np.asarray(pd.to_datetime(frame["date"].astype(str)).dt.year.to_numpy())


def _merge(
    old: pd.DataFrame, new: pd.DataFrame, keys: tuple[str, ...], where: str, replace: bool
) -> pd.DataFrame:
    both = pd.concat([old, new], ignore_index=True)
    key_frame = both.loc[:, list(keys)].astype(str)
    dup = key_frame.duplicated(keep=False)
    if dup.any() and not replace:
        clash = both.loc[dup]
        values = clash.drop(columns=list(keys)).astype(str)
        grouped = values.groupby(key_frame.loc[dup].apply(tuple, axis=1).to_numpy())
        differing = [k for k, g in grouped if len(g.drop_duplicates()) > 1]
        if differing:
            raise DataError(
                f"{where}: {len(differing)} stored rows differ from the new file at the same "
                f"keys (first: {differing[0]}); pass --replace to let the new file win"
            )
    merged = both.loc[~key_frame.duplicated(keep="last")]
    return merged.sort_values(list(keys), kind="stable").reset_index(drop=True)


class OptionQuoteStore:
    """Option quotes and open interest under ``<data_dir>/options`` (module docstring)."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "options"
        self._generations = Generations(self.root)
        self._generations.recover()

    def provenance(self) -> list[dict[str, Any]]:
        """Every imported file's provenance (empty when nothing was imported)."""
        base = self._generations.current()
        if base is None or not (base / PROVENANCE).is_file():
            return []
        data = json.loads((base / PROVENANCE).read_text(encoding="utf-8"))
        return list(data["files"])

    def has_quotes(self) -> bool:
        """Whether any option quotes are stored."""
        base = self._generations.current()
        return base is not None and any(base.glob("quotes/root=*/year=*.parquet"))

    def write(
        self,
        frames: Mapping[str, pd.DataFrame],
        files: list[ImportedFile],
        *,
        replace: bool = False,
    ) -> dict[str, int]:
        """Merge validated ``frames`` (``quotes`` and/or ``open_interest``) in one transaction.

        Raises
        ------
        DataError
            The bars of this data directory are synthetic, or stored rows differ from new
            ones at the same keys without ``replace``. The store is then unchanged.
        """
        if ParquetStore(self.data_dir).is_synthetic():
            raise DataError(
                f"refusing to import real option quotes into {self.data_dir}, whose bars are "
                "synthetic; synthetic and real data never share a store. Use another store: "
                "--data-dir DIR"
            )
        rows: dict[str, int] = {}
        with self._generations.transaction() as staging:
            for kind, frame in frames.items():
                if frame.empty:
                    continue
                rows[kind] = self._stage(staging, kind, frame, replace)
            known = self.provenance()
            merged = [
                f
                for f in known
                if (f["sha256"], f["kind"]) not in {(n.sha256, n.kind) for n in files}
            ] + [f.to_dict() for f in files]
            staging.target(PROVENANCE).write_text(
                json.dumps({"files": merged}, indent=1, sort_keys=True), encoding="utf-8"
            )
        logger.info("stored option data %s in %s", rows, self.root)
        return rows

    def _stage(self, staging: Staging, kind: str, frame: pd.DataFrame, replace: bool) -> int:
        keys, columns = KINDS[kind]
        years = _year_of(frame, kind)
        for root in sorted(frame["root"].unique()):
            for year in np.unique(years):
                part = frame.loc[(frame["root"] == root) & (years == year), list(columns)]
                if part.empty:
                    continue
                rel = f"{kind}/root={root}/year={int(year)}.parquet"
                existing = staging.existing(rel)
                if existing is not None:
                    old = pd.read_parquet(existing)
                    part = _merge(old, part, keys, f"{kind} {root} {year}", replace)
                part.reset_index(drop=True).to_parquet(staging.target(rel), index=False)
        return len(frame)

    def _read(self, kind: str, roots: tuple[str, ...] | None) -> pd.DataFrame:
        base = self._generations.current()
        _, columns = KINDS[kind]
        paths = [] if base is None else sorted(base.glob(f"{kind}/root=*/year=*.parquet"))
        if roots is not None:
            wanted = {f"root={r.upper()}" for r in roots}
            paths = [p for p in paths if p.parent.name in wanted]
        if not paths:
            return pd.DataFrame(columns=list(columns))
        return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)

    def quotes(
        self,
        roots: tuple[str, ...] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> pd.DataFrame:
        """Stored quotes of ``roots`` (all: ``None``) on days in ``[start, end]``."""
        frame = self._read("quotes", roots)
        if frame.empty:
            return frame
        days = frame["timestamp"].dt.date
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= (days >= start).to_numpy()
        if end is not None:
            keep &= (days <= end).to_numpy()
        return frame.loc[keep].reset_index(drop=True)

    def open_interest(self, roots: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Stored start-of-day open interest of ``roots`` (all: ``None``)."""
        return self._read("open_interest", roots)
