"""The seams the engine loop is composed of (other than feed, broker and recorder).

Everything here is a Protocol or a small value: the loop (:mod:`zerodte.engine.engine`)
knows parts only through these, so backtest, paper and live inject different parts into
the same loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from zerodte.engine.recorder import Recorder
from zerodte.exits.base import TrackedPosition
from zerodte.types import (
    Decision,
    ExitSignal,
    Observation,
    OptionContract,
    OptionQuote,
    Position,
    QuoteBook,
    Right,
)


class ContractSelector(Protocol):
    """Which contract an entry buys."""

    def select(
        self, observation: Observation, right: Right, quotes: QuoteBook
    ) -> OptionContract | None:
        """The contract to buy for ``right`` at this observation, or ``None``."""
        ...


class ExitPolicy(Protocol):
    """Exit rules applied to each open position every minute (hard rules first);
    :class:`zerodte.exits.manager.ExitManager` is the implementation."""

    def step(
        self, position: Position, quote: OptionQuote | None, observation: Observation
    ) -> tuple[TrackedPosition, ExitSignal | None]:
        """Track ``position`` to this minute and return an exit signal or ``None``."""
        ...

    def prune(self, open_positions: Iterable[Position]) -> list[TrackedPosition]:
        """Forget closed positions."""
        ...

    def restore(self, tracked: Iterable[TrackedPosition]) -> None:
        """Take back the tracked state of open positions (after a restart)."""
        ...


class DecisionSource(Protocol):
    """Where the decision of cycle ``i`` comes from (batch arrays or a streaming controller).

    A source may carry the ``controller`` behind its decisions; the engine shows it closed
    trades when it has ``observe_trade``. A source whose ``precomputed`` is true gives its
    actions without calling ``observe``, so the loop may carry a quiet HOLD cycle without
    preparing it (``Engine.run``).
    """

    name: str

    def prepare(self, recorder: Recorder) -> None:
        """Called once before the loop."""
        ...

    def action(self, i: int, observe: Callable[[], Observation]) -> int:
        """The controller's action at cycle ``i`` (``observe`` builds the observation)."""
        ...

    def decision(self, i: int) -> Decision:
        """The full decision of cycle ``i`` (after :meth:`action` for the same ``i``)."""
        ...

    def features(self, i: int) -> Mapping[str, float]:
        """Feature values at cycle ``i``."""
        ...


ContextSource = Callable[[int], Mapping[str, float]]
"""``cycle -> context`` (regime, predictor outputs) for the observation."""

TradeObserver = Callable[[dict[str, Any]], None]
"""``observe_trade(row)`` of a gate or controller that learns from closed trades."""


def trade_observers(parts: Iterable[object]) -> tuple[TradeObserver, ...]:
    """The ``observe_trade`` methods of ``parts`` (duck-typed; ``None`` parts are skipped)."""
    found = (getattr(part, "observe_trade", None) for part in parts if part is not None)
    return tuple(observe for observe in found if observe is not None)


@dataclass(frozen=True, slots=True)
class Skip:
    """A cycle hook's verdict: skip the whole cycle, or only its entry decision; recorded
    as a veto of ``gate`` with ``reason``."""

    scope: Literal["cycle", "entries"]
    reason: str
    gate: str = "health"


class CycleHooks(Protocol):
    """What runs around every cycle of a live run (health checks, checkpoints, reloads).

    ``before(i)`` runs first and may skip the cycle (``Skip("cycle", ...)``: no poll, no
    exits, no entry) or only its entry (``Skip("entries", ...)``); the reason is recorded
    as a veto. ``after(i)`` runs once the cycle's records are written.
    """

    def before(self, i: int) -> Skip | None:
        """Checks before cycle ``i``."""
        ...

    def after(self, i: int) -> None:
        """Work after cycle ``i`` (e.g. a checkpoint)."""
        ...
