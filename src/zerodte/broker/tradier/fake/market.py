"""Market data of the fake Tradier: a market frame seen at the venue's clock.

The frame is the one a backtest runs on (SPY, QQQ and VIX minute bars); option quotes are
the backtest's modelled quotes (:class:`~zerodte.options.model.ModelledQuoteBook`), so a
replay sees what the backtest sees. At venue time ``T`` the last *closed* bar (its end at
or before ``T``) is the market: its close prices are the quotes, its close quotes the
chain, and timesales list the closed bars. Quotes carry the bar's end as their bid/ask
dates (epoch ms), so quote age is measurable.

:meth:`FrameMarket.snapshot` is what the venue's matching sees of bar ``i``: its bars and
its open and close quotes, exactly as a backtest's snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config.settings import OptionsSettings
from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.options.chain import strike_grid
from zerodte.options.model import ModelledQuoteBook, OptionModel
from zerodte.options.occ import parse_occ
from zerodte.types import Bar, OptionContract, OptionQuote, Right, Snapshot

ONE_MINUTE = pd.Timedelta(minutes=1)
SYMBOLS = ("SPY", "QQQ", "VIX")
_KIND = {"SPY": "etf", "QQQ": "etf", "VIX": "index"}
_FIELDS = ("open", "high", "low", "close", "volume")


def _ms(time: pd.Timestamp) -> int:
    return int(time.value // 1_000_000)


class FrameMarket:
    """Quotes, chains, timesales, clock and calendar of ``frame`` at a given venue time.

    Parameters
    ----------
    frame
        The wide market frame (:func:`zerodte.market.schema.market_frame`).
    options
        Option model and strike grid settings (the backtest's).
    chain_width
        Strikes each side of the money in a chain.
    """

    def __init__(self, frame: pd.DataFrame, options: OptionsSettings, chain_width: int = 12):
        if frame.empty:
            raise DataError("the fake Tradier needs a non-empty market frame")
        self.frame = frame
        self.options = options
        self.model = OptionModel(options)
        self.chain_width = chain_width
        self.calendar = TradingCalendar()
        self.starts = pd.DatetimeIndex(frame.index)
        self._start_ns = self.starts.as_unit("ns").asi8
        self.sessions: list[date] = list(frame["session"])
        self._first: dict[date, int] = {}
        for i, day in enumerate(self.sessions):
            self._first.setdefault(day, i)
        self._cols = {
            c: frame[c].to_numpy(dtype=float) if c in frame.columns else np.full(len(frame), np.nan)
            for sym in SYMBOLS
            for c in (f"{sym.lower()}_{f}" for f in ("open", "high", "low", "close", "volume"))
        }

    def __len__(self) -> int:
        return len(self.frame)

    # -- bars and time -------------------------------------------------------------------
    def closed(self, now: pd.Timestamp) -> int:
        """Number of bars whose end is at or before ``now``."""
        end_ns = self._start_ns + ONE_MINUTE.value
        return int(np.searchsorted(end_ns, now.value, side="right"))

    def opened(self, now: pd.Timestamp, latency: pd.Timedelta) -> int:
        """Number of bars whose start plus ``latency`` is at or before ``now``."""
        return int(np.searchsorted(self._start_ns + latency.value, now.value, side="right"))

    def session_close(self, day: date) -> pd.Timestamp:
        """Regular close of ``day``."""
        return self.calendar.session_close(day)

    def value(self, symbol: str, field: str, i: int) -> float:
        """``symbol``'s ``field`` (open/high/low/close/volume) at bar ``i``."""
        return float(self._cols[f"{symbol.lower()}_{field}"][i])

    def bar(self, symbol: str, i: int) -> Bar:
        """``symbol``'s bar ``i``."""
        t = self.starts[i]
        f = ("open", "high", "low", "close", "volume")
        return Bar(t, *(self.value(symbol, x, i) for x in f))

    def book(self, i: int) -> ModelledQuoteBook:
        """The modelled option quotes of bar ``i`` (open at its start, close at its end)."""
        return ModelledQuoteBook(
            self.model,
            time=self.starts[i],
            time_close=self.starts[i] + ONE_MINUTE,
            spot_open=self.value("SPY", "open", i),
            spot_close=self.value("SPY", "close", i),
            vix_open=self.value("VIX", "open", i),
            vix_close=self.value("VIX", "close", i),
        )

    def snapshot(self, i: int) -> Snapshot:
        """What the venue's matching sees of bar ``i`` (bars and open/close quotes)."""
        t = self.starts[i]
        day = self.sessions[i]
        open_, close = self.calendar.session_open(day), self.calendar.session_close(day)
        return Snapshot(
            index=i,
            time=t,
            session=day,
            minutes_since_open=(t + ONE_MINUTE - open_) / ONE_MINUTE,
            minutes_to_close=(close - t - ONE_MINUTE) / ONE_MINUTE,
            bars={sym: self.bar(sym, i) for sym in SYMBOLS},
            quotes=self.book(i),
        )

    # -- quotes --------------------------------------------------------------------------
    def option_quote(
        self, contract: OptionContract, now: pd.Timestamp, lag: int = 0
    ) -> OptionQuote | None:
        """The close quote of ``contract`` at the last closed bar (``lag`` bars older)."""
        i = self.closed(now) - 1 - lag
        if i < 0:
            return None
        return self.book(i).quote(contract, at="close")

    def quote_rows(
        self, symbols: Sequence[str], now: pd.Timestamp, lag: int = 0
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """``(quote records, unmatched symbols)`` at ``now`` (``lag`` bars stale)."""
        n = self.closed(now) - lag
        rows, unmatched = [], []
        for symbol in symbols:
            sym = symbol.strip().upper()
            if sym in SYMBOLS and n > 0:
                rows.append(self._underlying_row(sym, n - 1))
            elif sym in SYMBOLS:
                rows.append(self._premarket_row(sym))
            else:
                try:
                    contract = parse_occ(sym)
                except DataError:
                    unmatched.append(sym)
                    continue
                quote = None if n <= 0 else self.book(n - 1).quote(contract, at="close")
                if quote is None:
                    unmatched.append(sym)
                else:
                    rows.append(self.option_row(quote, n - 1, greeks=False))
        return rows, unmatched

    def chain_rows(
        self, expiration: date, now: pd.Timestamp, *, greeks: bool, lag: int = 0
    ) -> list[dict[str, Any]]:
        """Calls and puts of ``expiration`` around the money at the last closed bar."""
        n = self.closed(now) - lag
        if n <= 0:
            return []
        i = n - 1
        spot = self.value("SPY", "close", i)
        book = self.book(i)
        rows = []
        for strike in strike_grid(spot, self.options.strike_step, self.chain_width):
            for right in (Right.CALL, Right.PUT):
                quote = book.quote(OptionContract("SPY", expiration, right, float(strike)), "close")
                if quote is not None:
                    rows.append(self.option_row(quote, i, greeks=greeks))
        return rows

    def option_row(self, quote: OptionQuote, i: int, *, greeks: bool) -> dict[str, Any]:
        """An option quote record (``TRADIER_API.md`` §5.1)."""
        c = quote.contract
        end_ms = _ms(self.starts[i] + ONE_MINUTE)
        row: dict[str, Any] = {
            "symbol": c.symbol,
            "description": f"SPY {c.expiry:%b %d %Y} ${c.strike:.2f} "
            f"{'Call' if c.right is Right.CALL else 'Put'}",
            "exch": "Z",
            "type": "option",
            "last": None,
            "change": None,
            "volume": 0,
            "open": None,
            "high": None,
            "low": None,
            "close": None,
            "bid": quote.bid,
            "ask": quote.ask,
            "underlying": "SPY",
            "strike": c.strike,
            "change_percentage": None,
            "trade_date": 0,
            "prevclose": None,
            "bidsize": 50,
            "bidexch": "C",
            "bid_date": end_ms,
            "asksize": 50,
            "askexch": "X",
            "ask_date": end_ms,
            "open_interest": 1000,
            "contract_size": 100,
            "expiration_date": c.expiry.isoformat(),
            "expiration_type": "weeklys",
            "option_type": "call" if c.right is Right.CALL else "put",
            "root_symbol": "SPY",
        }
        if greeks:
            # Tradier's ORATS greeks are null on 0DTE contracts (and hourly otherwise).
            zero_dte = c.expiry == self.sessions[i]
            row["greeks"] = (
                None
                if zero_dte
                else {
                    "delta": quote.delta,
                    "gamma": quote.gamma,
                    "theta": quote.theta,
                    "vega": quote.vega,
                    "mid_iv": quote.iv,
                    "updated_at": (self.starts[i].tz_convert("UTC")).strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
        return row

    def _underlying_row(self, sym: str, i: int) -> dict[str, Any]:
        day = self.sessions[i]
        first = self._first[day]
        close = self.value(sym, "close", i)
        end_ms = _ms(self.starts[i] + ONE_MINUTE)
        is_index = sym == "VIX"
        vol = self._cols[f"{sym.lower()}_volume"][first : i + 1]
        highs = self._cols[f"{sym.lower()}_high"][first : i + 1]
        lows = self._cols[f"{sym.lower()}_low"][first : i + 1]
        return {
            "symbol": sym,
            "description": sym,
            "exch": "P",
            "type": _KIND[sym],
            "last": close,
            "change": None,
            "volume": 0 if is_index else int(np.nansum(vol)),
            "open": self.value(sym, "open", first),
            "high": float(np.nanmax(highs)),
            "low": float(np.nanmin(lows)),
            "close": None,
            "bid": 0.0 if is_index else round(close - 0.01, 2),
            "ask": 0.0 if is_index else round(close + 0.01, 2),
            "trade_date": end_ms,
            "bid_date": None if is_index else end_ms,
            "ask_date": None if is_index else end_ms,
            "prevclose": None,
        }

    def _premarket_row(self, sym: str) -> dict[str, Any]:
        return {
            "symbol": sym,
            "type": _KIND[sym],
            "last": None,
            "bid": 0.0,
            "ask": 0.0,
            "open": None,
            "high": None,
            "low": None,
            "close": None,
            "trade_date": 0,
        }

    # -- timesales, clock, calendar ------------------------------------------------------
    def timesales(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp
    ) -> list[dict[str, Any]]:
        """Closed 1-minute bars of ``symbol`` starting in ``[start, end]``."""
        sym = symbol.upper()
        if sym not in SYMBOLS:
            return []
        n = self.closed(now)
        lo = int(np.searchsorted(self._start_ns, start.value, side="left"))
        hi = min(n, int(np.searchsorted(self._start_ns, end.value, side="right")))
        rows = []
        for i in range(lo, hi):
            o, h, low, c, v = (
                self.value(sym, f, i) for f in ("open", "high", "low", "close", "volume")
            )
            if math.isnan(c):
                continue  # minutes without a print are absent, as at Tradier
            t = self.starts[i]
            rows.append(
                {
                    "time": t.strftime("%Y-%m-%dT%H:%M:%S"),
                    "timestamp": int(t.value // 1_000_000_000),
                    "price": (h + low) / 2.0,
                    "open": o,
                    "high": h,
                    "low": low,
                    "close": c,
                    "volume": 0 if math.isnan(v) else int(v),
                    "vwap": (h + low + c) / 3.0,
                }
            )
        return rows

    def clock(self, now: pd.Timestamp) -> dict[str, Any]:
        """The ``/markets/clock`` record at ``now``."""
        day = now.date()
        cal = self.calendar
        ts = int(now.value // 1_000_000_000)
        if not cal.is_session(day):
            return {
                "date": day.isoformat(),
                "description": "Market is closed",
                "state": "closed",
                "timestamp": ts,
                "next_change": "07:00",
                "next_state": "premarket",
            }
        open_, close = cal.session_open(day), cal.session_close(day)
        post_end = pd.Timestamp(f"{day} 20:00", tz="America/New_York")
        if now < open_:
            state, change, nxt = "premarket", open_, "open"
        elif now < close:
            state, change, nxt = "open", close, "postmarket"
        elif now < post_end:
            state, change, nxt = "postmarket", post_end, "closed"
        else:
            state, change, nxt = "closed", post_end, "premarket"
        return {
            "date": day.isoformat(),
            "description": f"Market is open from {open_:%H:%M} to {close:%H:%M}",
            "state": state,
            "timestamp": ts,
            "next_change": f"{change:%H:%M}",
            "next_state": nxt,
        }

    def calendar_days(self, month: int, year: int) -> list[dict[str, Any]]:
        """The ``/markets/calendar`` days of a month."""
        first = date(year, month, 1)
        last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
        sessions = set(self.calendar.sessions(first, last))
        days = []
        for ts in pd.date_range(first, last, freq="D"):
            day = ts.date()
            if day in sessions:
                o, c = self.calendar.session_open(day), self.calendar.session_close(day)
                days.append(
                    {
                        "date": day.isoformat(),
                        "status": "open",
                        "description": "Market is open",
                        "open": {"start": f"{o:%H:%M}", "end": f"{c:%H:%M}"},
                    }
                )
            else:
                days.append(
                    {"date": day.isoformat(), "status": "closed", "description": "Market is closed"}
                )
        return days

    def expirations(self, now: pd.Timestamp, count: int = 10) -> list[str]:
        """The next ``count`` daily expirations from ``now``'s day."""
        return [d.isoformat() for d in self.calendar.sessions_from(now.date(), count)]
