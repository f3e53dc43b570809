"""Decision sources: the only difference between the two paths through the one loop.

* :class:`BatchDecisions` (vectorised backtest): features for the whole frame from
  ``compute_features`` and decisions from ``controller.decide_batch``; the loop reads an
  int per cycle and builds a :class:`~zerodte.types.Decision` only for entries.
* :class:`StreamDecisions` (as live runs): features from ``FeatureStream.update`` and
  ``controller.decide(observation)`` every cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from zerodte.engine.feed import Feed
from zerodte.engine.recorder import Recorder
from zerodte.errors import ConfigError
from zerodte.features import FeatureStream
from zerodte.policy.base import DecisionTable, EntryController
from zerodte.types import Action, Decision, Observation


class BatchDecisions:
    """Precomputed decisions (``decide_batch`` output) and features, read per cycle.

    ``controller`` is the controller that made the decisions; the engine shows it every
    closed trade when it has ``observe_trade`` (as in the streaming path).
    """

    name = "vectorised"

    def __init__(
        self,
        decisions: pd.DataFrame,
        features: pd.DataFrame,
        controller: EntryController | None = None,
    ) -> None:
        try:
            self._table = DecisionTable(decisions)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if len(decisions) != len(features):
            raise ConfigError(
                f"decide_batch returned {len(decisions)} rows for {len(features)} bars"
            )
        self.decisions = decisions
        self.controller = controller
        self._actions = self._table.actions
        self._index = {name: j for j, name in enumerate(features.columns)}
        self._features = features.to_numpy(dtype=float)

    def prepare(self, recorder: Recorder) -> None:
        """Store every decision in the recorder at once."""
        recorder.set_batch_decisions(self.decisions)

    def action(self, i: int, observe: Callable[[], Observation]) -> int:
        """The precomputed action of cycle ``i`` (no observation is built)."""
        return self._actions[i]

    def decision(self, i: int) -> Decision:
        """The decision of cycle ``i`` exactly as the controller's ``decide`` returns it
        (confidence, controller vetoes and context included)."""
        return self._table.decision(i)

    def features(self, i: int) -> Mapping[str, float]:
        """Feature values of cycle ``i`` (a read-only view; nothing is copied)."""
        return RowView(self._index, self._features[i])


class RowView(Mapping[str, float]):
    """A read-only mapping over one row of a feature matrix.

    Building a dict of every feature for every observation was the costliest part of an
    entry attempt; gates and most controllers read none or a few of them.
    """

    __slots__ = ("_index", "_row")

    def __init__(self, index: Mapping[str, int], row: np.ndarray) -> None:
        self._index = index
        self._row = row

    def __getitem__(self, key: str) -> float:
        return float(self._row[self._index[key]])

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


class StreamDecisions:
    """``controller.decide(observation)`` every cycle on streamed features."""

    name = "streaming"

    def __init__(self, controller: EntryController, stream: FeatureStream, feed: Feed) -> None:
        self.controller = controller
        self.stream = stream
        self.feed = feed
        self._feat_i = -1
        self._features: Mapping[str, float] = {}
        self._decision = Decision(Action.HOLD)
        self._recorder: Recorder | None = None

    def prepare(self, recorder: Recorder) -> None:
        """Remember where to record each decision."""
        self._recorder = recorder

    def features(self, i: int) -> Mapping[str, float]:
        """Features of cycle ``i``, updating the stream exactly once per cycle."""
        if i != self._feat_i:
            if i != self._feat_i + 1:
                raise ConfigError(f"feature stream skipped from cycle {self._feat_i} to {i}")
            self._features = self.stream.update(self.feed.columns.time(i), self.feed.row(i))
            self._feat_i = i
        return self._features

    def action(self, i: int, observe: Callable[[], Observation]) -> int:
        """Build the observation, ask the controller, record the decision."""
        self.features(i)
        decision = self.controller.decide(observe())
        assert self._recorder is not None
        self._recorder.record_decision(i, decision)
        self._decision = decision
        return int(decision.action)

    def decision(self, i: int) -> Decision:
        """The decision made by :meth:`action` for this cycle."""
        return self._decision
