"""The ``oracle`` controller: trade the synthetic market's planted drift from its hidden state.

The positive ceiling of every learner on the synthetic market. It reads what no causal model
can see, the hidden flow regime ``k`` (through ``kappa``), and knows the planted drift
exactly (``docs/market.md``)::

    mu_{t+j}  = edge * kappa(k) * R30 / 30            per minute, while the regime lasts
    m_t       = edge * kappa(k_t) * R30_t * H / 30     expected H-minute SPY return
    v_t       = 0.5 * spy_close_t * m_t * 100          expected P&L of an ATM contract,
                                                       delta 0.5, before friction
    BUY_CALLS if v_t >= min_move_dollars, BUY_PUTS if v_t <= -min_move_dollars, else HOLD

(``m_t`` ignores that the regime may switch and that ``R30`` moves within the horizon; it
is the drift's first-order value.) At ``edge = 0`` the drift is zero, so the oracle never
trades. It is deterministic (one-hot propensities) and refused on real data, which has no
hidden state. The engine's gates, exits, fills and fees apply to it as to any controller.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from zerodte.errors import ConfigError
from zerodte.policy.base import decision_frame, one_hot
from zerodte.types import Action, Decision, Observation

DEFAULT_MIN_MOVE_DOLLARS = 15.0
"""Expected delta-dollar move per contract the oracle needs before it trades: about twice
the round-trip friction of an ATM 0DTE contract (spread, slippage and $1.30 of fees)."""


def oracle_move(market: Any, horizon: int) -> pd.Series:
    """``v_t`` of every bar of ``market`` (a MarketData of the synthetic market).

    Raises
    ------
    ConfigError
        ``market`` is not synthetic (real data has no hidden state to act on).
    """
    cfg = getattr(market, "synthetic", None)
    if cfg is None:
        raise ConfigError(
            f"the oracle controller acts on the synthetic market's hidden state, and "
            f"{getattr(market, 'source', 'this data')} is not synthetic; it is a research "
            "ceiling only: use it with --seed/--edge (synthetic data), never on real data"
        )
    from zerodte.market.synthetic import simulate_market

    state = simulate_market(cfg).state
    frame = market.frame
    st = state.reindex(pd.DatetimeIndex(frame.index))
    if st["kappa_next"].isna().any():
        raise ConfigError(
            "the market frame has bars its synthetic config does not generate; the oracle "
            "needs the very market the config describes"
        )
    m = float(cfg.edge) * st["kappa_next"] * st["r30"] * horizon / 30.0
    v = 0.5 * frame["spy_close"].astype(float) * m * 100.0
    return v.rename("oracle_move")


class OracleController:
    """Act on the planted drift's expected value (see the module docstring).

    Parameters
    ----------
    move
        ``v_t`` per bar, indexed by bar timestamps (:func:`oracle_move`).
    min_move_dollars
        The expected P&L per contract (before friction) needed to trade.
    """

    name = "oracle"

    def __init__(self, move: pd.Series, min_move_dollars: float = DEFAULT_MIN_MOVE_DOLLARS):
        if not min_move_dollars >= 0:
            raise ValueError(f"min_move_dollars must be >= 0, got {min_move_dollars}")
        self.min_move_dollars = float(min_move_dollars)
        idx = pd.DatetimeIndex(move.index).as_unit("ns").asi8
        self._move = dict(zip(idx.tolist(), move.to_numpy(np.float64).tolist(), strict=True))

    @classmethod
    def from_market(
        cls, market: Any, horizon: int, min_move_dollars: float = DEFAULT_MIN_MOVE_DOLLARS
    ) -> OracleController:
        """The oracle of ``market`` at ``horizon`` minutes."""
        return cls(oracle_move(market, horizon), min_move_dollars)

    def _rule(self, v: np.ndarray) -> np.ndarray:
        action = np.zeros(len(v), dtype=np.int8)
        with np.errstate(invalid="ignore"):
            action[v >= self.min_move_dollars] = int(Action.BUY_CALLS)
            action[v <= -self.min_move_dollars] = int(Action.BUY_PUTS)
        return action

    def _reason(self, v: float) -> str:
        return f"oracle: expected move {v:+.2f} $/contract vs ±{self.min_move_dollars:g}"

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        return np.array([self._move.get(int(k), np.nan) for k in keys], dtype=np.float64)

    def decide(self, observation: Observation) -> Decision:
        """Act on the bar's expected move (NaN, a bar outside the market: HOLD)."""
        v = self._lookup(np.array([pd.Timestamp(observation.time).value]))
        a = Action(int(self._rule(v)[0]))
        known = bool(np.isfinite(v[0]))
        return Decision(
            a,
            scores=(0.0, float(np.nan_to_num(v[0])), -float(np.nan_to_num(v[0]))),
            probs=tuple(one_hot(np.array([int(a)]))[0].tolist()),
            reasons=(self._reason(float(v[0])) if known else "oracle: bar unknown",),
            context={"oracle_move": float(v[0])} if known else {},
        )

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The same rule over every row (index: bar timestamps)."""
        v = self._lookup(pd.DatetimeIndex(frame.index).as_unit("ns").asi8)
        action = self._rule(v)
        sv = np.nan_to_num(v)
        reasons = [self._reason(x) if np.isfinite(x) else "oracle: bar unknown" for x in v.tolist()]
        return decision_frame(
            frame.index,
            action,
            np.column_stack([np.zeros(len(v)), sv, -sv]),
            one_hot(action),
            reasons,
            context={"oracle_move": v},
        )
