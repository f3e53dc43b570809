"""The entry-controller and gate seams, and the one table that carries batch decisions.

``decide_batch`` returns a frame built by :func:`decision_frame`: the columns of
:data:`~zerodte.records.CONTROLLER_COLUMNS` plus one ``ctx_<key>`` column per context key.
:class:`DecisionTable` turns row ``i`` back into the :class:`~zerodte.types.Decision` that
``decide`` returns for the same observation: action, scores, propensities, reasons, the
controller's own vetoes, its confidence and its context. Gates and trade records therefore
see the same inputs in a vectorised backtest as live (batch/stream parity, invariant 2).

A controller that can straddle passes four-column ``scores`` and ``probs``; the frame then
also has ``score_straddle`` and ``prob_straddle`` (:data:`~zerodte.records.STRADDLE_COLUMNS`)
and its decisions carry four values, as ``decide``'s do.

Conventions both paths follow: a context never holds NaN (an unknown value is an absent
key); ``confidence`` is NaN in the frame exactly when ``Decision.confidence`` is ``None``;
``controller_vetoes`` is the controller's vetoes joined by ``"; "``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from zerodte.records import CONTROLLER_COLUMNS, STRADDLE_COLUMNS
from zerodte.types import Action, Decision, Observation, Veto

CONTEXT_PREFIX = "ctx_"
VETO_SEPARATOR = "; "


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


def clean_context(context: Mapping[str, float | str]) -> dict[str, float | str]:
    """``context`` without NaN values (an unknown value is an absent key, in both paths)."""
    return {k: v for k, v in context.items() if not (isinstance(v, float) and math.isnan(v))}


def one_hot(action: np.ndarray, n_actions: int = 3) -> np.ndarray:
    """``(n, n_actions)`` propensities of a deterministic policy that took ``action``."""
    a = np.asarray(action, np.int64)
    return (a[:, None] == np.arange(n_actions)[None, :]).astype(np.float64)


def decision_frame(
    index: pd.Index,
    action: np.ndarray,
    scores: np.ndarray | None,
    probs: np.ndarray,
    reasons: Sequence[str] | np.ndarray,
    *,
    confidence: np.ndarray | None = None,
    vetoes: Sequence[str] | np.ndarray | None = None,
    context: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The frame ``decide_batch`` returns (see the module docstring).

    Parameters
    ----------
    index
        The input frame's index (one row per bar).
    action
        ``(n,)`` :class:`~zerodte.types.Action` ints.
    scores, probs
        ``(n, 3)`` per-action scores (``None``: zeros) and propensities; ``(n, 4)`` for a
        controller that can straddle.
    reasons
        ``(n,)`` reason texts (``"; "``-joined when a decision has several).
    confidence
        ``(n,)`` the controller's confidence, NaN where it has none.
    vetoes
        ``(n,)`` the controller's own vetoes, ``"; "``-joined (``""``: none).
    context
        ``key -> (n,)`` context values; NaN entries are dropped from the rebuilt context.
    """
    n = len(index)
    pr = np.asarray(probs, np.float64).reshape(n, -1)
    k = pr.shape[1]
    if k not in (3, 4):
        raise ValueError(f"probs must have 3 or 4 columns (one per action), got {k}")
    sc = np.zeros((n, k)) if scores is None else np.asarray(scores, np.float64).reshape(n, k)
    cols: dict[str, object] = {
        "action": np.asarray(action).astype(np.int8),
        "score_hold": sc[:, 0],
        "score_call": sc[:, 1],
        "score_put": sc[:, 2],
        "prob_hold": pr[:, 0],
        "prob_call": pr[:, 1],
        "prob_put": pr[:, 2],
        "reason": np.asarray(reasons, dtype=object),
        "confidence": np.full(n, np.nan)
        if confidence is None
        else np.asarray(confidence, np.float64),
        "controller_vetoes": np.full(n, "", dtype=object)
        if vetoes is None
        else np.asarray(vetoes, dtype=object),
    }
    if k == 4:
        cols["score_straddle"] = sc[:, 3]
        cols["prob_straddle"] = pr[:, 3]
    for key, values in (context or {}).items():
        cols[CONTEXT_PREFIX + key] = np.asarray(values)
    return pd.DataFrame(cols, index=index)


class DecisionTable:
    """Row-wise access to a :func:`decision_frame` as :class:`~zerodte.types.Decision` s."""

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in CONTROLLER_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(
                f"decide_batch output lacks columns {missing}; build it with "
                "zerodte.policy.base.decision_frame"
            )
        self.actions: list[int] = frame["action"].to_numpy(dtype=np.int64).tolist()
        extra = all(c in frame.columns for c in STRADDLE_COLUMNS)
        score_cols = ["score_hold", "score_call", "score_put"]
        prob_cols = ["prob_hold", "prob_call", "prob_put"]
        if extra:
            score_cols.append("score_straddle")
            prob_cols.append("prob_straddle")
        self._scores = frame[score_cols].to_numpy(float)
        self._probs = frame[prob_cols].to_numpy(float)
        self._reasons = frame["reason"].to_numpy(dtype=object)
        self._conf = frame["confidence"].to_numpy(float)
        self._vetoes = frame["controller_vetoes"].to_numpy(dtype=object)
        self._ctx = {
            str(c)[len(CONTEXT_PREFIX) :]: frame[c].to_numpy()
            for c in frame.columns
            if str(c).startswith(CONTEXT_PREFIX)
        }

    def __len__(self) -> int:
        return len(self.actions)

    def decision(self, i: int) -> Decision:
        """Row ``i`` as the Decision ``decide`` returns for the same observation."""
        reason = self._reasons[i]
        veto = self._vetoes[i]
        conf = float(self._conf[i])
        context: dict[str, float | str] = {}
        for key, values in self._ctx.items():
            v = values[i]
            if isinstance(v, str):
                context[key] = v
            elif v is not None and not math.isnan(float(v)):
                context[key] = float(v)
        return Decision(
            action=Action(self.actions[i]),
            scores=tuple(self._scores[i].tolist()),
            probs=tuple(self._probs[i].tolist()),
            reasons=(str(reason),) if reason else (),
            vetoes=tuple(str(veto).split(VETO_SEPARATOR)) if veto else (),
            confidence=None if math.isnan(conf) else conf,
            context=context,
        )
