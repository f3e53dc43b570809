"""The recorder: decisions every cycle, trades with their context, equity every cycle.

It never decides. Per-cycle values go into preallocated numpy arrays (a flat cycle that
holds costs a few array stores, no objects); trades are rare and kept as dict rows. The
frames it returns follow :mod:`zerodte.records` exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from zerodte.policy.base import VETO_SEPARATOR
from zerodte.records import DECISION_COLUMNS, EQUITY_COLUMNS, STRADDLE_COLUMNS, TRADE_COLUMNS
from zerodte.types import Action, Decision

VetoSet = tuple[tuple[str, str], ...]
"""The ``(gate, reason)`` vetoes of one cycle."""


class Recorder:
    """Holds the records of one run.

    Parameters
    ----------
    times
        Bar-start timestamps of every cycle the run may have (arrays are sized from it;
        a run that stops early is cut to the cycles it reached).
    sessions
        Trading date of each cycle.
    """

    def __init__(self, times: pd.DatetimeIndex, sessions: Sequence[date]) -> None:
        n = len(times)
        self.times = times
        self.sessions = np.asarray(sessions, dtype=object)
        self.n_cycles = 0
        self.action = np.zeros(n, dtype=np.int8)
        # Four slots: the fourth (BUY_STRADDLE) is written out only for a controller that
        # gave four propensities (records.STRADDLE_COLUMNS).
        # Column-major: each action's column is contiguous (the records take it without a
        # copy) and the straddle's, unless written, is never touched (no memory).
        self.scores = np.zeros((n, 4), order="F")
        self.probs = np.zeros((n, 4), order="F")
        self.probs[:, 0] = 1.0
        self.straddle = False
        self.reason = np.full(n, "", dtype=object)
        self.confidence = np.full(n, np.nan)
        self.controller_vetoes = np.full(n, "", dtype=object)
        self.executed = np.zeros(n, dtype=np.int8)
        # 1.0 / 0.0: the gates would allow / veto a call (put) entry; NaN: not asked
        self.gate_call = np.full(n, np.nan)
        self.gate_put = np.full(n, np.nan)
        self.flat = np.ones(n, dtype=bool)
        self.open_positions = np.zeros(n, dtype=np.int16)
        self.cash = np.zeros(n)
        self.positions_value = np.zeros(n)
        self.vetoes: dict[int, str] = {}
        self.veto_pairs: dict[int, VetoSet] = {}
        # one text and one tuple per distinct set of vetoes, shared by the cycles that have
        # it (a year has ~18,000 vetoed entry attempts and a few hundred distinct sets)
        self._veto_sets: dict[VetoSet, tuple[str, VetoSet]] = {}
        self.veto_counts: dict[str, int] = {}
        self.trades: list[dict[str, Any]] = []
        # (first cycle, reasons) of the batch decisions stored as Arrow text
        self._reason_pieces: list[tuple[int, pd.arrays.ArrowStringArray]] = []

    # -- decisions -----------------------------------------------------------------------
    def set_batch_decisions(self, decisions: pd.DataFrame, start: int = 0) -> None:
        """Store a frame of controller decisions of cycles ``start ..`` (the vectorised
        path: the whole run at once, or a piece of it)."""
        rows = slice(start, start + len(decisions))
        self.action[rows] = decisions["action"].to_numpy(dtype=np.int8)
        self.scores[rows, :3] = decisions[["score_hold", "score_call", "score_put"]].to_numpy(float)
        self.probs[rows, :3] = decisions[["prob_hold", "prob_call", "prob_put"]].to_numpy(float)
        if all(c in decisions.columns for c in STRADDLE_COLUMNS):
            self.straddle = True
            self.scores[rows, 3] = decisions["score_straddle"].to_numpy(float)
            self.probs[rows, 3] = decisions["prob_straddle"].to_numpy(float)
        reason = decisions["reason"].array
        if isinstance(reason, pd.arrays.ArrowStringArray):
            # Kept as Arrow text (a year of reasons: 4 MB) instead of a Python str per cycle
            # (10 MB); the decisions frame joins the pieces (_reasons).
            self._reason_pieces.append((start, reason))
        else:
            self.reason[rows] = decisions["reason"].to_numpy(dtype=object)
        self.confidence[rows] = decisions["confidence"].to_numpy(float)
        self.controller_vetoes[rows] = decisions["controller_vetoes"].to_numpy(dtype=object)

    def reason_of(self, i: int) -> str:
        """Cycle ``i``'s reason, from the batch pieces' Arrow text or the streamed strings."""
        for start, piece in reversed(self._reason_pieces):
            if start <= i < start + len(piece):
                value = piece[i - start]
                return "" if value is None or value is pd.NA else str(value)
        return str(self.reason[i])

    def record_decision(self, i: int, decision: Decision) -> None:
        """Store the controller's decision of cycle ``i`` (the streaming path)."""
        self.action[i] = int(decision.action)
        k = len(decision.probs)
        if k == 4:
            self.straddle = True
        self.scores[i, : len(decision.scores)] = decision.scores
        self.probs[i, :k] = decision.probs
        self.reason[i] = "; ".join(decision.reasons)
        self.confidence[i] = np.nan if decision.confidence is None else decision.confidence
        self.controller_vetoes[i] = VETO_SEPARATOR.join(decision.vetoes)

    def record_vetoes(self, i: int, vetoes: Sequence[tuple[str, str]]) -> None:
        """Store the gates' vetoes of cycle ``i`` as ``(gate, reason)`` pairs."""
        pairs = tuple(vetoes)
        known = self._veto_sets.get(pairs)
        if known is None:
            known = self._veto_sets[pairs] = ("; ".join(f"{g}:{r}" for g, r in pairs), pairs)
        self.vetoes[i], self.veto_pairs[i] = known
        for gate, _ in pairs:
            self.veto_counts[gate] = self.veto_counts.get(gate, 0) + 1

    # -- trades --------------------------------------------------------------------------
    def record_trade(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Store one closed trade (or partial exit); missing context columns stay null.

        Returns the stored row: every :data:`~zerodte.records.TRADE_COLUMNS` key, in order.
        """
        unknown = set(row) - set(TRADE_COLUMNS)
        if unknown:
            raise KeyError(f"trade row has columns outside TRADE_COLUMNS: {sorted(unknown)}")
        stored = {c: row.get(c) for c in TRADE_COLUMNS}
        self.trades.append(stored)
        return stored

    # -- frames --------------------------------------------------------------------------
    def equity_frame(self) -> pd.DataFrame:
        """Equity every cycle (:data:`~zerodte.records.EQUITY_COLUMNS`)."""
        n = self.n_cycles
        cash = self.cash[:n]
        pos = self.positions_value[:n]
        frame = pd.DataFrame(
            {
                "timestamp": self.times[:n],
                "cash": cash,
                "positions_value": pos,
                "equity": cash + pos,
                "open_positions": self.open_positions[:n].astype(np.int64),
            }
        )
        return frame.loc[:, list(EQUITY_COLUMNS)]

    def decisions_frame(self) -> pd.DataFrame:
        """Every cycle's decision (:data:`~zerodte.records.DECISION_COLUMNS`).

        ``executed_action``, ``flat`` and ``vetoes`` make the frame sufficient for a
        vectorised computation of missed opportunities (ghost rewards) after the run.
        Its columns are views of the recorder's arrays where the types agree (a year of
        them is 15 MB): frame the decisions once the run is over.
        """
        n = self.n_cycles
        vetoes = np.full(n, "", dtype=object)
        for i, text in self.vetoes.items():
            if i < n:
                vetoes[i] = text
        cash = self.cash[:n]
        frame = pd.DataFrame(
            {
                "cycle": np.arange(n, dtype=np.int64),
                "timestamp": self.times[:n],
                "session": self.sessions[:n],
                "action": self.action[:n].astype(np.int64),
                "score_hold": self.scores[:n, 0],
                "score_call": self.scores[:n, 1],
                "score_put": self.scores[:n, 2],
                "prob_hold": self.probs[:n, 0],
                "prob_call": self.probs[:n, 1],
                "prob_put": self.probs[:n, 2],
                "reason": self._reasons(n),
                "confidence": self.confidence[:n],
                "controller_vetoes": self.controller_vetoes[:n],
                "vetoes": vetoes,
                "executed_action": self.executed[:n].astype(np.int64),
                "gate_call": self.gate_call[:n],
                "gate_put": self.gate_put[:n],
                "flat": self.flat[:n],
                "open_positions": self.open_positions[:n].astype(np.int64),
                "cash": cash,
                "equity": cash + self.positions_value[:n],
            },
            copy=False,
        )
        columns = list(DECISION_COLUMNS)
        if self.straddle:
            frame["score_straddle"] = self.scores[:n, 3]
            frame["prob_straddle"] = self.probs[:n, 3]
            at = columns.index("prob_put") + 1
            columns[at:at] = list(STRADDLE_COLUMNS)
        return frame.loc[:, columns]

    def _reasons(self, n: int) -> Any:
        """The reason of each of the first ``n`` cycles: the batch pieces' Arrow text joined
        into one array when they cover the run in order (the column then is the one the
        Python strings give, and Parquet writes it in the same bytes), else the strings."""
        pieces = self._reason_pieces
        if not pieces:
            return self.reason[:n]
        covered = 0
        for start, piece in pieces:
            if start != covered:
                break
            covered += len(piece)
        else:
            if covered >= n:
                import pyarrow as pa

                chunks = [c for _, p in pieces for c in p.__arrow_array__().iterchunks()]
                joined = pa.concat_arrays(chunks)[:n]
                return pd.array(joined, dtype=pieces[0][1].dtype)
        out = self.reason[:n].copy()
        for start, piece in pieces:
            stop = min(start + len(piece), n)
            if stop > start:
                out[start:stop] = piece[: stop - start].to_numpy(dtype=object)
        return out

    def trades_frame(self) -> pd.DataFrame:
        """Closed trades (:data:`~zerodte.records.TRADE_COLUMNS`), one row per exit fill."""
        if not self.trades:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in TRADE_COLUMNS})
        return pd.DataFrame(self.trades, columns=list(TRADE_COLUMNS))

    def executed_entries(self) -> int:
        """Number of cycles whose entry was sent to the broker."""
        return int(np.count_nonzero(self.executed[: self.n_cycles] != Action.HOLD))
