"""The exit-rule seam."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from zerodte.types import ExitSignal, Observation, OptionQuote, Position


@dataclass(frozen=True, slots=True)
class TrackedPosition:
    """A position plus what the exit manager tracks every minute while it is open.

    Percentages are of the entry premium, marked at the bid (what a sale would get).
    """

    position: Position
    minutes_held: float
    pnl_pct: float
    max_gain_pct: float
    max_drawdown_pct: float
    peak_mark: float
    partial_taken: bool = False


@runtime_checkable
class ExitRule(Protocol):
    """One exit rule. Rules are applied in a fixed order; the first signal wins."""

    name: str

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote, observation: Observation
    ) -> ExitSignal | None:
        """Return an exit signal or ``None``."""
        ...
