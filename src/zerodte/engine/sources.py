"""Decision sources: the only difference between the two paths through the one loop.

* :class:`BatchDecisions` (vectorised backtest): features for the whole frame from
  ``compute_features`` and decisions from ``controller.decide_batch``; the loop reads an
  int per cycle and builds a :class:`~zerodte.types.Decision` only for entries.
* :class:`PieceDecisions` (vectorised backtest of a controller whose rows are decided
  alone): the same, a run of whole sessions at a time just ahead of the loop
  (:class:`~zerodte.features.compute.FeatureChunks`), so a longer replay holds no more
  features and decisions than a shorter one.
* :class:`StreamDecisions` (as live runs): features from ``FeatureStream.update`` and
  ``controller.decide(observation)`` every cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping

import numpy as np
import pandas as pd

from zerodte.engine.feed import Feed, FeedColumns
from zerodte.engine.recorder import Recorder
from zerodte.errors import ConfigError
from zerodte.features import FeatureStream
from zerodte.features.compute import FeatureChunks
from zerodte.features.sets import FeatureSet, get_feature_set
from zerodte.policy.base import DecisionTable, EntryController
from zerodte.types import Action, Decision, Observation


def features_to_compute(
    frame: pd.DataFrame, feature_set: str | FeatureSet, reads: Collection[str] | None
) -> tuple[FeatureSet, frozenset[str]]:
    """``feature_set`` resolved for ``frame`` and cut to the columns ``reads`` (all of them
    for ``None``: :func:`~zerodte.types.features_read`), and the columns left out."""
    whole = get_feature_set(feature_set).resolve(frame.columns)
    if reads is None:
        return whole, frozenset()
    kept = whole.only(reads)
    return kept, frozenset(whole.columns) - frozenset(kept.columns)


def decision_table(decided: pd.DataFrame, bars: int) -> DecisionTable:
    """``decide_batch``'s output for ``bars`` bars as a :class:`DecisionTable`, or a
    :class:`~zerodte.errors.ConfigError` saying what is wrong with it."""
    try:
        table = DecisionTable(decided)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if len(decided) != bars:
        raise ConfigError(f"decide_batch returned {len(decided)} rows for {bars} bars")
    return table


class BatchDecisions:
    """Precomputed decisions (``decide_batch`` output) and features, read per cycle.

    ``controller`` is the controller that made the decisions; the engine shows it every
    closed trade when it has ``observe_trade`` (as in the streaming path). ``left_out``
    are the feature set's columns not computed (:func:`features_to_compute`): reading one
    is a :class:`~zerodte.errors.ConfigError`.
    """

    name = "vectorised"
    precomputed = True
    """Actions are read from arrays, without an observation (see ``Engine.run``)."""

    def __init__(
        self,
        decisions: pd.DataFrame,
        features: pd.DataFrame,
        controller: EntryController | None = None,
        left_out: frozenset[str] = frozenset(),
    ) -> None:
        self._table = decision_table(decisions, len(features))
        self._left_out = left_out
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
        return RowView(self._index, self._features[i], self._left_out)


SESSIONS_PER_PIECE = 20
"""Sessions a :class:`PieceDecisions` piece holds: about 8,000 bars, whose features take
3 MB (a year of them takes 38 MB); the features of fewer sessions cost more per bar."""


class PieceDecisions:
    """:class:`BatchDecisions` made one piece of whole sessions at a time, on demand.

    The first cycle of a piece computes its features (:class:`FeatureChunks`, equal bit
    for bit to the whole frame's) and ``decide_batch`` of the piece's market rows joined
    with them (and with ``extra`` context columns), stores the decisions in the recorder
    and boxes the bar times of its entries. For a controller whose ``decide_batch`` decides
    each row from that row alone (``batch_rows_independent``), the decisions are those of
    the whole frame; only one piece of features and decisions is held at a time.

    Parameters
    ----------
    frame
        The market frame the feed replays.
    feature_set
        Name or :class:`~zerodte.features.sets.FeatureSet` of the features.
    reads
        The feature columns the run's parts read
        (:func:`~zerodte.types.features_read`): only those are computed, and
        reading another is a :class:`~zerodte.errors.ConfigError`. ``None``: all of them.
    decide_batch
        The controller's ``decide_batch``.
    controller
        The controller (shown closed trades when it has ``observe_trade``).
    columns
        The feed's columns (bar times of entries are boxed per piece).
    extra
        Context columns joined to each piece's frame (a row per market-frame row).
    sessions_per_piece
        Whole sessions per piece (default :data:`SESSIONS_PER_PIECE`).
    """

    name = "vectorised"
    precomputed = True
    """Actions are read from arrays, without an observation (see ``Engine.run``)."""

    def __init__(
        self,
        frame: pd.DataFrame,
        feature_set: str | FeatureSet,
        decide_batch: Callable[[pd.DataFrame], pd.DataFrame],
        *,
        controller: EntryController | None,
        columns: FeedColumns,
        extra: pd.DataFrame | None = None,
        sessions_per_piece: int | None = None,
        reads: Collection[str] | None = None,
    ) -> None:
        self.controller = controller
        self._frame = frame
        computed, self._left_out = features_to_compute(frame, feature_set, reads)
        self._chunks = FeatureChunks(frame, computed)
        self._bounds = self._chunks.session_bounds(sessions_per_piece or SESSIONS_PER_PIECE)
        self._decide_batch = decide_batch
        self._columns = columns
        self._extra = extra
        features = self._chunks.columns
        self._index = {name: j for j, name in enumerate(features)}
        self._new = [c for c in features if c not in frame.columns]
        self._piece = 0
        self._lo = self._hi = 0
        self._recorder: Recorder | None = None
        self._table: DecisionTable | None = None
        self._actions: list[int] = []
        self._features = np.empty((0, len(features)))

    def prepare(self, recorder: Recorder) -> None:
        """Remember where to store each piece's decisions."""
        self._recorder = recorder

    def _at(self, i: int) -> int:
        """Row of cycle ``i`` in the current piece (making the pieces up to it)."""
        while i >= self._hi:
            self._next_piece()
        if i < self._lo:
            raise ConfigError(
                f"cycle {i} is before the decided piece {self._lo}..{self._hi}; pieces are "
                "decided in order (run the loop forward)"
            )
        return i - self._lo

    def _next_piece(self) -> None:
        if self._piece + 1 >= len(self._bounds):
            raise ConfigError(f"cycle {self._hi} is past the frame's {self._hi} rows")
        lo, hi = self._bounds[self._piece], self._bounds[self._piece + 1]
        self._piece += 1
        features = self._chunks.compute(hi)
        # the frame's own columns stay out of the join: decide_batch sees each column once
        parts = [self._frame.iloc[lo:hi], features[self._new]]
        if self._extra is not None:
            known = [*self._frame.columns, *self._new]
            parts.append(self._extra.iloc[lo:hi].drop(columns=known, errors="ignore"))
        decided = self._decide_batch(pd.concat(parts, axis=1))
        table = decision_table(decided, hi - lo)
        assert self._recorder is not None, "prepare() comes before the first cycle"
        self._recorder.set_batch_decisions(decided, start=lo)
        actions = np.asarray(table.actions, dtype=np.int64)
        self._columns.prime_times(lo + np.flatnonzero(actions != int(Action.HOLD)))
        self._table, self._actions = table, table.actions
        self._features = features.to_numpy(dtype=float)
        self._lo, self._hi = lo, hi

    def action(self, i: int, observe: Callable[[], Observation]) -> int:
        """The precomputed action of cycle ``i`` (no observation is built)."""
        if self._lo <= i < self._hi:  # every cycle asks: the common case inline
            return self._actions[i - self._lo]
        j = self._at(i)  # first: it moves to the next piece
        return self._actions[j]

    def decision(self, i: int) -> Decision:
        """The decision of cycle ``i`` exactly as the controller's ``decide`` returns it."""
        j = self._at(i)
        assert self._table is not None
        return self._table.decision(j)

    def features(self, i: int) -> Mapping[str, float]:
        """Feature values of cycle ``i`` (a read-only view; nothing is copied)."""
        j = self._at(i)
        return RowView(self._index, self._features[j], self._left_out)


class RowView(Mapping[str, float]):
    """A read-only mapping over one row of a feature matrix.

    Building a dict of every feature for every observation was the costliest part of an
    entry attempt; gates and most controllers read none or a few of them. A column of
    ``left_out`` (of the feature set, not computed in this run) is a
    :class:`~zerodte.errors.ConfigError`, never a missing key that ``get`` would turn into
    its default.
    """

    __slots__ = ("_index", "_left_out", "_row")

    def __init__(
        self, index: Mapping[str, int], row: np.ndarray, left_out: frozenset[str] = frozenset()
    ) -> None:
        self._index = index
        self._row = row
        self._left_out = left_out

    def __getitem__(self, key: str) -> float:
        try:
            j = self._index[key]
        except KeyError:
            if key in self._left_out:
                raise ConfigError(
                    f"feature {key!r} is not computed in this run: each of its parts "
                    "declared the features it reads (feature_inputs) and none declared this "
                    "one; add it to the feature_inputs of the part that reads it"
                ) from None
            raise
        return float(self._row[j])

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
