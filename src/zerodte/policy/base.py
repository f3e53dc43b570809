"""The entry-controller and gate seams."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from zerodte.types import Decision, Observation, Veto


@runtime_checkable
class EntryController(Protocol):
    """Decides HOLD / BUY_CALLS / BUY_PUTS. ``decide`` is pure: no I/O, no clock, no globals."""

    name: str

    def decide(self, observation: Observation) -> Decision:
        """Return the decision for one observation."""
        ...


@runtime_checkable
class BatchEntryController(EntryController, Protocol):
    """A controller that can also decide a whole frame at once.

    ``decide_batch(frame)`` returns a frame indexed like ``frame`` with columns ``action``
    (int, :class:`~zerodte.types.Action`), ``score_hold``, ``score_call``, ``score_put``,
    ``prob_hold``, ``prob_call``, ``prob_put`` and ``reason``. Row ``i`` must equal
    ``decide`` on the observation built from row ``i`` (tested by the parity suite).
    """

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Decide every row of ``frame`` (the market frame joined with features)."""
        ...


@runtime_checkable
class Gate(Protocol):
    """An entry gate: returns a :class:`Veto` to block the entry, or ``None`` to allow it."""

    name: str

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Check one proposed entry."""
        ...
