"""One contract every entry controller passes: ``decide_batch`` row i == ``decide`` on row i.

The comparison covers the whole :class:`~zerodte.types.Decision`: action, scores,
propensities, reasons, the controller's own vetoes, its confidence and its context. The
vectorised backtest hands gates and trade records the rebuilt decision
(:class:`~zerodte.policy.base.DecisionTable`), so anything less would let a backtest see
other inputs than live trading.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from zerodte.policy.base import BatchEntryController, DecisionTable
from zerodte.types import Decision, Observation


def _same(a: float | str | None, b: float | str | None) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def assert_same_decision(batch: Decision, single: Decision, where: str = "") -> None:
    """Field-by-field equality (NaN equals NaN); the message names the field and row."""
    assert batch.action == single.action, f"{where} action {batch.action} != {single.action}"
    for name in ("scores", "probs"):
        a, b = np.array(getattr(batch, name)), np.array(getattr(single, name))
        assert np.array_equal(a, b, equal_nan=True), f"{where} {name} {a} != {b}"
    assert "; ".join(batch.reasons) == "; ".join(single.reasons), f"{where} reasons"
    assert batch.vetoes == single.vetoes, f"{where} vetoes {batch.vetoes} != {single.vetoes}"
    assert _same(batch.confidence, single.confidence), (
        f"{where} confidence {batch.confidence} != {single.confidence}"
    )
    assert set(batch.context) == set(single.context), (
        f"{where} context keys {sorted(batch.context)} != {sorted(single.context)}"
    )
    for key, value in single.context.items():
        assert _same(batch.context[key], value), f"{where} context[{key!r}]"


def check_batch_equals_decide(
    controller: BatchEntryController,
    frame: pd.DataFrame,
    observe: Callable[[int], Observation],
) -> DecisionTable:
    """Run the contract on every row of ``frame``; returns the batch table."""
    out = controller.decide_batch(frame)
    assert list(out.index) == list(frame.index)
    table = DecisionTable(out)
    assert len(table) == len(frame)
    for i in range(len(frame)):
        assert_same_decision(table.decision(i), controller.decide(observe(i)), f"row {i}:")
    return table
