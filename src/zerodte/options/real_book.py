"""Real option quotes as a quote book, with the modelled book as the logged fallback.

:class:`RealQuotes` indexes the stored minute quotes of one root (see
:mod:`zerodte.market.option_store`) by contract and bar start. For bar ``t`` (start
``t``):

* ``at="open"`` is the minute's first quote (``bid_open``, ``ask_open``): what an order
  arriving at the bar start meets, as the modelled book's open quote;
* ``at="close"`` is the minute's last quote (``bid_close``, ``ask_close``), standing at
  the bar end: what a decision at the bar's close sees.

A contract is *covered* at a minute when that quote is two-sided (both sides present, ask
above zero, bid not above ask). Where it is covered, :class:`RealQuoteBook` answers with the
real bid and ask (``source="real"``) and the model's greeks; elsewhere it answers with the
modelled quote (``source="model"``) and logs the first fallback of each contract and
session at INFO. The broker's fills carry the quote's source, so the run summary counts
real-quoted and modelled fills (``quote_sources``). The ghost evaluator overlays the same
quotes on its vectorised prices (:meth:`RealQuotes.overlay`), so ghosts and the broker
price every minute alike.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from zerodte.types import OptionContract, OptionQuote, QuoteBook, Right

logger = logging.getLogger(__name__)

_SIDES = {"open": ("bid_open", "ask_open"), "close": ("bid_close", "ask_close")}


class RealQuotes:
    """Two-sided real quotes of one root, by ``(expiry, right, strike, bar start)``.

    Parameters
    ----------
    frame
        Stored quotes (:data:`~zerodte.market.option_store.QUOTE_COLUMNS`) of any roots;
        only ``root`` is kept.
    root
        The option root the run trades (``SPY``, ``SPXW``, ...).
    """

    def __init__(self, frame: pd.DataFrame, root: str) -> None:
        self.root = root.upper()
        rows = frame.loc[frame["root"].astype(str).str.upper() == self.root]
        self.rows = len(rows)
        ns = pd.DatetimeIndex(rows["timestamp"]).as_unit("ns").asi8
        self._index = pd.MultiIndex.from_arrays(
            [
                np.array([d.toordinal() for d in pd.to_datetime(rows["expiry"]).dt.date]),
                (rows["right"].astype(str) == "C").to_numpy(),
                np.round(rows["strike"].to_numpy(np.float64), 4),
                ns,
            ]
        )
        self._values = {
            at: np.column_stack([rows[b].to_numpy(np.float64), rows[a].to_numpy(np.float64)])
            for at, (b, a) in _SIDES.items()
        }
        self._lookup: dict[tuple[int, bool, float, int], int] = {
            (int(e), bool(c), float(k), int(t)): i for i, (e, c, k, t) in enumerate(self._index)
        }
        self.days = sorted(set(pd.DatetimeIndex(rows["timestamp"]).date))

    def __len__(self) -> int:
        return self.rows

    def bid_ask(self, contract: OptionContract, bar_start_ns: int, at: str) -> tuple[float, float]:
        """Real ``(bid, ask)`` of ``contract`` in the minute starting at ``bar_start_ns``.

        ``(nan, nan)`` when the contract is not covered there (or is of another root).
        """
        if contract.underlying.upper() != self.root:
            return np.nan, np.nan
        key = (
            contract.expiry.toordinal(),
            contract.right is Right.CALL,
            round(float(contract.strike), 4),
            bar_start_ns,
        )
        i = self._lookup.get(key)
        if i is None:
            return np.nan, np.nan
        bid, ask = self._values[at][i]
        return (float(bid), float(ask)) if _two_sided(bid, ask) else (np.nan, np.nan)

    def overlay(  # noqa: PLR0917 -- the vectorised twin of bid_ask
        self,
        bar_start_ns: np.ndarray,
        expiry: np.ndarray,
        is_call: bool,
        strike: np.ndarray,
        at: str,
        bid: np.ndarray,
        ask: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Replace modelled ``bid``/``ask`` by real quotes where covered.

        ``expiry`` holds date ordinals. Returns ``(bid, ask, real)`` with ``real`` the mask
        of the elements priced from real quotes.
        """
        n = len(bar_start_ns)
        if n == 0 or self.rows == 0:
            return bid, ask, np.zeros(n, dtype=bool)
        keys = pd.MultiIndex.from_arrays(
            [
                np.asarray(expiry, dtype=np.int64),
                np.full(n, is_call),
                np.round(np.asarray(strike, np.float64), 4),
                np.asarray(bar_start_ns, dtype=np.int64),
            ]
        )
        pos = self._index.get_indexer(keys)
        found = pos >= 0
        values = self._values[at][np.where(found, pos, 0)]
        real = found & _two_sided(values[:, 0], values[:, 1])
        return np.where(real, values[:, 0], bid), np.where(real, values[:, 1], ask), real


def _two_sided(bid: np.ndarray | float, ask: np.ndarray | float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(bid) & np.isfinite(ask) & (ask > 0) & (bid <= ask))


class RealQuoteBook:
    """A :class:`~zerodte.types.QuoteBook` answering from real quotes where they cover the
    contract, else from ``fallback`` (module docstring)."""

    __slots__ = ("fallback", "quotes", "seen", "session", "start_ns", "time_close", "time_open")

    def __init__(  # noqa: PLR0917 -- one bar's identity
        self,
        quotes: RealQuotes,
        fallback: QuoteBook,
        time_open: pd.Timestamp,
        time_close: pd.Timestamp,
        session: date,
        seen: set[tuple[OptionContract, date]],
    ) -> None:
        self.quotes = quotes
        self.fallback = fallback
        self.time_open = time_open
        self.time_close = time_close
        self.session = session
        self.start_ns = int(time_open.value)
        self.seen = seen

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote | None:
        """The real quote of ``contract`` at the bar's open or close, else the model's."""
        model = self.fallback.quote(contract, at=at)
        bid, ask = self.quotes.bid_ask(contract, self.start_ns, at)
        if np.isnan(bid):
            key = (contract, self.session)
            if key not in self.seen:
                self.seen.add(key)
                logger.info(
                    "no real %s quote for %s at %s: using the option model (logged once per "
                    "contract and session)",
                    at,
                    contract.symbol,
                    self.time_open,
                )
            return model
        if model is None:
            when = self.time_open if at == "open" else self.time_close
            return OptionQuote(contract, when, bid, ask, float("nan"), source="real")
        return replace(model, bid=bid, ask=ask, source="real")
