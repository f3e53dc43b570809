"""Reinforcement: agent weights and time-block penalties, one version per known trade.

Trades are taken in the order their regret became known (``known_at``); each publishes a
new version of the state at its ``known_at`` (:mod:`zerodte.policy.qthink_state`), which a
decision uses only at later bars. For each agent ``a`` involved in the trade, with aligned
score ``x = a``'s support for the trade's direction (``|x| <= 1``):

* **aligned winner** (``x > 0``, ``pnl > 0`` and ``regret_sum < 1``): ``w_a <- w_a (1 +
  0.20 x)``, raised by up to 20 %;
* **high regret or signal failure** (``x > 0`` and ``pnl < 0``): ``w_a <- w_a (1 - 0.30 x
  s)`` with severity ``s = min(1, regret_sum / 2)``, 1 as well on ``model_failure`` and
  ``conflict_failure``: lowered by up to 30 %;
* an agent that opposed the trade (``x <= 0``) or was not involved is unchanged.

Weights stay within ``[0.25, 4]``. Penalty points (``labels.penalty_points``: +10, +15,
+20) accumulate per time block with decay: ``P_b <- 0.9 P_b + points`` for each trade of
block ``b``, capped at 100; the consensus threshold in block ``b`` is multiplied by
``1 + P_b / 100``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import cast

import numpy as np
import pandas as pd

from zerodte.learning.assess import Assessment
from zerodte.policy.controllers.consensus_agents import AGENTS
from zerodte.policy.qthink_state import (
    BLOCK_NAMES,
    QThinkState,
    StateVersion,
    neutral_version,
)

FAILURE_LABELS = frozenset({"model_failure", "conflict_failure"})


@dataclass(frozen=True)
class ReinforceConfig:
    """The update rule's constants (module docstring)."""

    raise_max: float = 0.20
    lower_max: float = 0.30
    good_regret: float = 1.0
    severe_regret: float = 2.0
    min_weight: float = 0.25
    max_weight: float = 4.0
    penalty_decay: float = 0.9
    penalty_cap: float = 100.0


def reinforce(
    assessment: Assessment,
    start: QThinkState | None = None,
    config: ReinforceConfig | None = None,
    source: Sequence[str] = (),
) -> QThinkState:
    """The state after ``assessment``'s trades, continuing from ``start`` (neutral if None).

    Raises when a trade became known before the last version of ``start`` (a state learns
    forward in time only).
    """
    cfg = config or ReinforceConfig()
    base = start or QThinkState.neutral(AGENTS)
    last = base.versions[-1]
    weights = {a: float(last.weights.get(a, 1.0)) for a in AGENTS}
    penalties = {b: float(last.penalties.get(b, 0.0)) for b in BLOCK_NAMES}
    o = assessment.outcomes.copy()
    o["known_at"] = pd.to_datetime(o["known_at"])
    o = o.sort_values(["known_at", "trade_id"], kind="stable")
    if len(o) and last.published_at is not None and o["known_at"].iloc[0] < last.published_at:
        raise ValueError(
            f"the first trade became known at {o['known_at'].iloc[0]}, before the state's last "
            f"version ({last.published_at}); learn from later runs only"
        )
    by_trade = {int(cast(int, t)): g for t, g in assessment.agents.groupby("trade_id")}
    versions = list(base.versions) if start is not None else [neutral_version(AGENTS)]
    count = last.trades
    for rec in o.to_dict(orient="records"):
        pnl, total = float(rec["pnl"]), float(rec["regret_sum"])
        failure = rec["label"] in FAILURE_LABELS
        g = by_trade.get(int(rec["trade_id"]))
        if g is not None:
            for a, x in zip(g["agent"], g["aligned_score"].to_numpy(np.float64), strict=True):
                if a not in weights or not math.isfinite(x) or x <= 0:
                    continue
                x = min(x, 1.0)
                if pnl > 0 and total < cfg.good_regret:
                    weights[a] *= 1.0 + cfg.raise_max * x
                elif pnl < 0:
                    severity = 1.0 if failure else min(1.0, total / cfg.severe_regret)
                    weights[a] *= 1.0 - cfg.lower_max * x * severity
                weights[a] = min(max(weights[a], cfg.min_weight), cfg.max_weight)
        block = str(rec["time_block"])
        if block in penalties:
            penalties[block] = min(
                cfg.penalty_decay * penalties[block] + float(rec["penalty_points"]),
                cfg.penalty_cap,
            )
        count += 1
        versions.append(
            StateVersion(
                len(versions), pd.Timestamp(rec["known_at"]), count, dict(weights), dict(penalties)
            )
        )
    meta = {
        **dict(base.meta),
        "reinforce": asdict(cfg),
        "sources": [*base.meta.get("sources", []), *source],
    }
    return QThinkState(AGENTS, tuple(versions), meta)
