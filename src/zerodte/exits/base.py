"""The exit-rule seam."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from zerodte.types import ExitSignal, Observation, OptionQuote, Position


@dataclass(frozen=True, slots=True)
class TrackedPosition:
    """A position plus what the exit manager tracks every minute while it is open.

    Percentages are of the entry premium, marked at the bid (what a sale would get):
    ``pnl_pct = (mark - avg_price) / avg_price * 100``. ``max_gain_pct`` and
    ``max_drawdown_pct`` are the highest and lowest ``pnl_pct`` seen at the per-minute
    marks (raw, not clipped at zero: a trade that never traded above its entry has a
    negative ``max_gain_pct``). ``mark`` is the latest close bid (NaN before the first
    usable quote); ``max_qty`` the largest quantity held, so ``partial_taken`` is
    ``position.qty < max_qty``.
    """

    position: Position
    minutes_held: float
    pnl_pct: float
    max_gain_pct: float
    max_drawdown_pct: float
    peak_mark: float
    partial_taken: bool = False
    mark: float = float("nan")
    max_qty: int = 0


@runtime_checkable
class ExitRule(Protocol):
    """One exit rule. Rules are applied in a fixed order; the first signal wins.

    ``quote`` is the bar's close quote, or ``None`` when there is no usable one; the exit
    manager then only runs rules whose ``needs_quote`` is false (time-based rules), so a
    rule with ``needs_quote = True`` may read ``position.mark`` as fresh.
    """

    name: str
    needs_quote: bool

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Return an exit signal or ``None``."""
        ...
