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
import pyarrow as pa

from zerodte.policy.base import VETO_SEPARATOR
from zerodte.records import DECISION_COLUMNS, EQUITY_COLUMNS, STRADDLE_COLUMNS, TRADE_COLUMNS
from zerodte.types import Action, Decision

VetoSet = tuple[tuple[str, str], ...]
"""The ``(gate, reason)`` vetoes of one cycle."""


GATE_ALLOWS, GATE_VETOES, GATE_NOT_ASKED = 1, 0, -1
"""The recorder's codes of a cycle's gate state (``Recorder.gate_call``, ``gate_put``)."""


def gate_values(codes: np.ndarray) -> np.ndarray:
    """Gate codes as the records' values: 1.0 allowed, 0.0 vetoed, NaN not asked."""
    return np.where(codes == GATE_NOT_ASKED, np.nan, codes.astype(np.float64))


class ReasonPiece:
    """The reasons of a piece of batch decisions, as dictionary-encoded Arrow text.

    A run's reasons repeat: a year of momentum decisions has about 1,500 distinct texts
    in 97,740 cycles, so codes and one copy of each text take a tenth of the plain text.
    """

    __slots__ = ("_codes", "dtype")

    def __init__(self, reason: pd.arrays.ArrowStringArray) -> None:
        self.dtype = reason.dtype
        self._codes: pa.ChunkedArray = reason.__arrow_array__().dictionary_encode()

    def __len__(self) -> int:
        return len(self._codes)

    def text(self, j: int) -> str:
        """The ``j``-th reason of the piece ("" for a missing one)."""
        value = self._codes[j].as_py()
        return "" if value is None else str(value)

    def chunks(self) -> list[pa.Array]:
        """The piece as plain Arrow text, chunk by chunk (the arrays it was made from)."""
        return [c.dictionary_decode() for c in self._codes.iterchunks()]

    def array(self) -> Any:
        """The piece as the pandas array it was made from."""
        chunks = self.chunks()
        value_type = self._codes.type.value_type
        joined = pa.concat_arrays(chunks) if chunks else pa.array([], type=value_type)
        return pd.array(joined, dtype=self.dtype)


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
        self.sessions: Sequence[date] | np.ndarray = sessions  # the feed's own list
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
        self._reason: np.ndarray | None = None  # made on first use (see reason)
        self.confidence = np.full(n, np.nan)
        self.controller_vetoes = np.full(n, "", dtype=object)
        self.executed = np.zeros(n, dtype=np.int8)
        # GATE_ALLOWS / GATE_VETOES: the gates would allow / veto a call (put) entry;
        # GATE_NOT_ASKED otherwise. A byte a cycle; the records hold 1.0 / 0.0 / NaN.
        self.gate_call = np.full(n, GATE_NOT_ASKED, dtype=np.int8)
        self.gate_put = np.full(n, GATE_NOT_ASKED, dtype=np.int8)
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
        self._reason_pieces: list[tuple[int, ReasonPiece]] = []

    @property
    def reason(self) -> np.ndarray:
        """Each cycle's reason as a Python string (made on first use: a batch run keeps
        the controller's reasons as Arrow text instead, see :meth:`set_batch_decisions`)."""
        if self._reason is None:
            self._reason = np.full(len(self.action), "", dtype=object)
        return self._reason

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
            # Kept as dictionary-encoded Arrow text (a year of reasons: 0.4 MB; as plain
            # Arrow text 4 MB, as a Python str per cycle 10 MB); the decisions frame joins
            # the pieces (_reasons).
            self._reason_pieces.append((start, ReasonPiece(reason)))
        else:
            self.reason[rows] = decisions["reason"].to_numpy(dtype=object)
        self.confidence[rows] = decisions["confidence"].to_numpy(float)
        self.controller_vetoes[rows] = decisions["controller_vetoes"].to_numpy(dtype=object)

    def reason_of(self, i: int) -> str:
        """Cycle ``i``'s reason, from the batch pieces' Arrow text or the streamed strings."""
        for start, piece in reversed(self._reason_pieces):
            if start <= i < start + len(piece):
                return piece.text(i - start)
        return "" if self._reason is None else str(self._reason[i])

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
                "gate_call": gate_values(self.gate_call[:n]),
                "gate_put": gate_values(self.gate_put[:n]),
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
                chunks = [c for _, p in pieces for c in p.chunks()]
                joined = pa.concat_arrays(chunks)[:n]
                return pd.array(joined, dtype=pieces[0][1].dtype)
        out = self.reason[:n].copy()
        for start, piece in pieces:
            stop = min(start + len(piece), n)
            if stop > start:
                out[start:stop] = piece.array()[: stop - start].to_numpy(dtype=object)
        return out

    def trades_frame(self) -> pd.DataFrame:
        """Closed trades (:data:`~zerodte.records.TRADE_COLUMNS`), one row per exit fill."""
        if not self.trades:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in TRADE_COLUMNS})
        return pd.DataFrame(self.trades, columns=list(TRADE_COLUMNS))

    def executed_entries(self) -> int:
        """Number of cycles whose entry was sent to the broker."""
        return int(np.count_nonzero(self.executed[: self.n_cycles] != Action.HOLD))
