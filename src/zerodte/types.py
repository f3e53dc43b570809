"""Value types that cross package seams (see ARCHITECTURE.md, "Seams").

They live at the root so every layer can use them without importing upward. All are
immutable; the engine builds new ones each cycle rather than mutating shared state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Protocol

from zerodte.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

CONTRACT_MULTIPLIER = 100
"""Shares per option contract. P&L is always ``(exit - entry) * 100 * qty - fees``."""

SESSION_MINUTES = 390
"""Minutes (one-minute bars) of a full regular session, 09:30-16:00."""

SYMBOL_PATTERN = r"^[A-Z0-9.^-]*[A-Z0-9][A-Z0-9.^-]*$"
"""A market symbol: characters of ``A-Z 0-9 . ^ -`` with at least one letter or digit
(``SPY``, ``BRK.B``, ``^VIX``), at most :data:`SYMBOL_MAX_LENGTH` of them. Symbols name store
directories, so nothing else is allowed."""
SYMBOL_MAX_LENGTH = 16


class Action(IntEnum):
    """Entry actions. The integer value indexes per-action score and probability arrays.

    ``BUY_STRADDLE`` (a call and a put at the same strike and expiry, one position of two
    legs) is offered only by controllers that can straddle; their decisions carry four
    scores and propensities, every other controller's three.
    """

    HOLD = 0
    BUY_CALLS = 1
    BUY_PUTS = 2
    BUY_STRADDLE = 3


class Right(str, Enum):
    """Option right."""

    CALL = "C"
    PUT = "P"


class Side(str, Enum):
    """Order side (options are only bought to open and sold to close here)."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(str, Enum):
    """Order type."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"


@dataclass(frozen=True, slots=True)
class Bar:
    """One minute bar; ``time`` is the bar start (tz-aware America/New_York)."""

    time: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float


_OCC_ROOT = re.compile(r"[A-Z][A-Z0-9.]{0,5}")
_MAX_STRIKE_MILLIS = 99_999_999


@dataclass(frozen=True, slots=True)
class OptionContract:
    """A listed option contract."""

    underlying: str
    expiry: date
    right: Right
    strike: float

    @property
    def symbol(self) -> str:
        """Compact OCC symbol, e.g. ``SPY241122C00590000`` (:mod:`zerodte.options.occ`).

        Raises
        ------
        DataError
            If the strike is not positive, is not a multiple of 0.001, or does not fit in
            eight digits, or the root is not 1-6 upper-case characters.
        """
        root = self.underlying.upper()
        if not _OCC_ROOT.fullmatch(root):
            raise DataError(
                f"cannot build an OCC symbol for underlying {self.underlying!r}: the root "
                "must be 1-6 characters, letters/digits/'.', starting with a letter"
            )
        millis = round(self.strike * 1000)
        if millis <= 0 or millis > _MAX_STRIKE_MILLIS or abs(millis - self.strike * 1000) > 1e-6:
            raise DataError(
                f"cannot build an OCC symbol for strike {self.strike!r}: it must be positive, "
                "below 100000 and a multiple of 0.001"
            )
        return f"{root}{self.expiry:%y%m%d}{Right(self.right).value}{millis:08d}"


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """A quote for one contract at one instant, with the model's greeks when known."""

    contract: OptionContract
    time: pd.Timestamp
    bid: float
    ask: float
    underlying_price: float
    iv: float = float("nan")
    delta: float = float("nan")
    gamma: float = float("nan")
    theta: float = float("nan")
    vega: float = float("nan")
    source: str = "model"
    """``"model"`` (the option model), ``"real"`` (a stored real market quote) or
    ``"venue"`` (a live broker's quote)."""

    @property
    def mid(self) -> float:
        """Mid price ``(bid + ask) / 2``."""
        return 0.5 * (self.bid + self.ask)

    @property
    def spread(self) -> float:
        """Quoted spread ``ask - bid``."""
        return self.ask - self.bid


@dataclass(frozen=True, slots=True)
class Decision:
    """What an entry controller decided for one observation.

    ``scores`` and ``probs`` are indexed by :class:`Action` (HOLD, BUY_CALLS, BUY_PUTS and,
    for a controller that can straddle, BUY_STRADDLE). ``probs`` is the probability with
    which the controller would take each action (the propensity used by off-policy
    evaluation); it must sum to one. ``context["strategy"]`` is the signal strategy label
    (``NEURAL_BULLISH``, ``HMM_TREND``, ...) recorded on the trade.
    """

    action: Action
    scores: tuple[float, ...] = (0.0, 0.0, 0.0)
    probs: tuple[float, ...] = (1.0, 0.0, 0.0)
    reasons: tuple[str, ...] = ()
    vetoes: tuple[str, ...] = ()
    size: int | None = None
    confidence: float | None = None
    context: Mapping[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Veto:
    """A gate's refusal of an entry, with the gate's name and a human-readable reason."""

    gate: str
    reason: str


@dataclass(frozen=True, slots=True)
class Order:
    """An order to the broker. ``tag`` is the client tag every order carries.

    ``group`` names the position an order belongs to when that position has several legs
    (a straddle's call and put orders share it; each leg keeps its own unique ``tag``), so a
    broker or an order journal can record and reconcile the legs together. Empty for a
    single-leg position.
    """

    tag: str
    contract: OptionContract
    side: Side
    qty: int
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    reason: str = ""
    group: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    """A (partial or full) execution of an order."""

    tag: str
    contract: OptionContract
    side: Side
    qty: int
    price: float
    fee: float
    time: pd.Timestamp
    slippage: float = 0.0
    group: str = ""
    quote_spread: float = 0.0
    """``ask - bid`` per share of the quote the fill traded against (0 without one: a
    settlement, or a venue fill whose quote is not known; ``quote_source`` is then empty)."""
    quote_source: str = ""
    """``source`` of that quote (``"model"`` or ``"real"``; empty: none, settled)."""


@dataclass(frozen=True, slots=True)
class Position:
    """An open option position; ``avg_price`` is premium per share (x100 per contract)."""

    contract: OptionContract
    qty: int
    avg_price: float
    entry_time: pd.Timestamp
    entry_fees: float = 0.0
    tag: str = ""
    group: str = ""


@dataclass(frozen=True, slots=True)
class AccountState:
    """Account values at one cycle, plus the counters entry gates need."""

    cash: float
    equity: float
    buying_power: float
    open_positions: int = 0
    trades_today: int = 0
    day_trades_window: tuple[date, ...] = ()
    realized_pnl_today: float = 0.0
    last_exit_time: pd.Timestamp | None = None
    day_start_equity: float | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything a controller or gate may see at cycle ``index`` (data through bar close).

    ``features`` holds causal features at this bar; ``context`` holds regime and predictor
    outputs (``hmm_trend``, ``predicted_return``, ...) when those components are wired in.
    """

    index: int
    time: pd.Timestamp
    session: date
    minutes_since_open: float
    minutes_to_close: float
    spy: float
    qqq: float
    vix: float
    features: Mapping[str, float]
    context: Mapping[str, float] = field(default_factory=dict)
    positions: tuple[Position, ...] = ()
    account: AccountState | None = None


def features_read(parts: Iterable[object]) -> frozenset[str] | None:
    """The feature columns ``parts`` read, or ``None`` when one of them does not say.

    A part (gate, exit rule, sizer, contract selector, controller, cycle hooks) says which
    columns of ``observation.features`` it reads (a controller: also of the frame its
    ``decide_batch`` is given) with a ``feature_inputs`` attribute, a collection of column
    names (empty: it reads none). A part without the attribute may read any feature, so
    then every feature is computed. ``None`` parts are skipped.
    """
    read: set[str] = set()
    for part in parts:
        if part is None:
            continue
        columns = getattr(part, "feature_inputs", None)
        if columns is None:
            return None
        read.update(columns)
    return frozenset(read)


class ExitReason(str, Enum):
    """Why a position was (partly) closed. The order is the order rules are applied in."""

    LOSS_CAP = "loss_cap"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    PARTIAL_TAKE_PROFIT = "partial_take_profit"
    RUNNER_TRAIL = "runner_trail"
    DYNAMIC = "dynamic_exit"
    MAX_HOLD = "max_hold"
    EXPIRY_GUARD = "expiry_guard"
    EOD_FLATTEN = "eod_flatten"
    END_OF_DATA = "end_of_data"
    POLICY_EXIT = "policy_exit"  # an EXIT action of a policy that manages its own exits


@dataclass(frozen=True, slots=True)
class ExitSignal:
    """An exit rule's verdict: close ``qty`` contracts (``None`` = all) for ``reason``."""

    reason: ExitReason
    qty: int | None = None
    detail: str = ""


class QuoteBook(Protocol):
    """Option quotes available at one snapshot.

    ``at="open"`` is the quote at the bar's start (what an order sent during the previous
    bar can really get), ``at="close"`` the quote at the bar's end (what a decision at this
    bar sees). The modelled implementation prices from the underlying and VIX; a real
    chain can replace it.
    """

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote | None:
        """Return the quote for ``contract`` or ``None`` when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a feed yields per cycle: the bars of time ``time`` and option quotes."""

    index: int
    time: pd.Timestamp
    session: date
    minutes_since_open: float
    minutes_to_close: float
    bars: Mapping[str, Bar]
    quotes: QuoteBook
