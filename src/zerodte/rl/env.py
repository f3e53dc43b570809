"""A gymnasium environment that steps zerodte's own engine, broker and exits.

One step is one minute (one engine cycle). The agent's action is the decision of that
cycle, fed to the engine through :class:`ActionDecisions` (a ``DecisionSource``); the
engine does everything else exactly as in a backtest: gates, contract selection, sizing,
the paper broker's fills at the next bar's open with slippage and fees, the exit rules
(hard rules first), settlement. There is no second simulator.

Episode: ``episode_sessions`` consecutive sessions drawn with the environment's seeded
generator (or every session in order, ``episode_sessions=None``). Reward: the net P&L
(after every fee and slippage) of the trades closed during the step, in dollars; with
``reward="sharpe"`` each closed trade's P&L is divided by the standard deviation of the
last ``sharpe_window`` trade P&Ls (at least $1). No reward for entering. Positions still
open at the end of an episode are closed by the engine's end-of-data rule, and that P&L is
the last step's reward, so an episode's rewards add up to its trades' P&L.

The predictor is frozen: its walk-forward predictions (``models.predictor_bundle``) and the
walk-forward HMM regime are computed once for the whole frame and read per cycle, as in a
backtest (two-phase training: supervised predictor first, then the policy).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from zerodte.broker.paper import PaperBroker
from zerodte.config.root import Settings
from zerodte.engine.backtest import observation_context
from zerodte.engine.build import build_engine, modelled_quote_books, validate_settings
from zerodte.engine.clock import SimulatedClock
from zerodte.engine.engine import Engine
from zerodte.engine.feed import BoxedTimes, HistoricalFeed
from zerodte.engine.recorder import Recorder
from zerodte.engine.sources import RowView
from zerodte.features import compute_features
from zerodte.market.loading import MarketData
from zerodte.policy.controllers.ppo_state import (
    BUY_CALL,
    BUY_PUT,
    EXIT,
    N_ACTIONS,
    action_mask,
    state_features,
    state_vector,
)
from zerodte.types import Action, Decision, Observation

logger = logging.getLogger(__name__)

ENV_RUN_ID = "ppo-env"
"""Run id of the environment's engines (it only seeds the order tags of the paper broker)."""

_ONE_HOT = {0: (1.0, 0.0, 0.0), 1: (0.0, 1.0, 0.0), 2: (0.0, 0.0, 1.0)}


class ActionDecisions:
    """The decision source of the environment: the agent's action, set before each cycle."""

    name = "rl"

    def __init__(self, features: pd.DataFrame) -> None:
        self._index = {c: j for j, c in enumerate(features.columns)}
        self._features = features.to_numpy(dtype=float)
        self.next_action = 0

    def prepare(self, recorder: Recorder) -> None:
        """Decisions are recorded one by one."""
        self._recorder = recorder

    def action(self, i: int, observe: Callable[[], Observation]) -> int:
        """The action set for this cycle."""
        return self.next_action

    def decision(self, i: int) -> Decision:
        """The agent's decision (deterministic given the action: one-hot)."""
        a = self.next_action
        return Decision(
            Action(a), probs=_ONE_HOT[a], reasons=("ppo action",), context={"strategy": "PPO"}
        )

    def features(self, i: int) -> Mapping[str, float]:
        """Feature values of cycle ``i``."""
        return RowView(self._index, self._features[i])


class TradingEnv(gym.Env):
    """See the module docstring. ``action_masks()`` serves sb3-contrib's MaskablePPO."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium declares it)

    def __init__(
        self,
        settings: Settings,
        market_data: MarketData,
        *,
        feature_set: str = "default",
        episode_sessions: int | None = None,
    ) -> None:
        super().__init__()
        self.settings = validate_settings(settings)
        self.market_data = market_data
        frame = market_data.frame
        self.features = compute_features(frame, feature_set)
        self.context_values = observation_context(self.settings, frame)
        self.state_names = state_features(list(self.features.columns))
        self.sessions = list(pd.unique(frame["session"]))
        self.episode_sessions = episode_sessions
        cfg = self.settings.entry.ppo
        self.allow_exit = cfg.allow_exit
        self.reward_mode = cfg.reward
        self.sharpe_window = cfg.sharpe_window
        self.observation_space = gym.spaces.Box(
            -10.0, 10.0, shape=(len(self.state_names),), dtype=np.float32
        )
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self.engine: Engine | None = None
        self._pnls: list[float] = []

    # -- episode -------------------------------------------------------------------------
    def _rows(self) -> np.ndarray:
        sessions = self.market_data.frame["session"].to_numpy()
        k = self.episode_sessions
        if k is None or k >= len(self.sessions):
            return np.arange(len(sessions))
        start = int(self.np_random.integers(0, len(self.sessions) - k + 1))
        chosen = set(self.sessions[start : start + k])
        return np.flatnonzero([s in chosen for s in sessions])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: a fresh broker and engine over the episode's sessions."""
        super().reset(seed=seed)
        rows = self._rows()
        frame = self.market_data.frame.iloc[rows]
        starts = BoxedTimes(pd.DatetimeIndex(frame.index))  # boxed once for feed and quotes
        feed = HistoricalFeed(
            frame,
            modelled_quote_books(self.settings, frame, starts),
            SimulatedClock(),
            starts=starts,
        )
        self.recorder = Recorder(feed.columns.times, feed.columns.sessions)
        context = None
        if self.context_values is not None:
            from zerodte.models import context_source

            part = self.context_values.iloc[rows]
            context = context_source(part, list(part.columns))
        self.engine = build_engine(
            self.settings,
            feed=feed,
            broker=PaperBroker.from_settings(self.settings),
            recorder=self.recorder,
            controller_name="ppo",
            run_id=ENV_RUN_ID,
            context=context,
        )
        self.source = ActionDecisions(self.features.iloc[rows])
        self.n = len(frame)
        self.i = 0
        self._seen = 0
        self.engine.begin(self.source)
        self.engine.open_cycle(0)
        return self._state(), {}

    def _state(self) -> np.ndarray:
        assert self.engine is not None
        return state_vector(self.engine.observation(), self.state_names)

    def action_masks(self) -> np.ndarray:
        """Allowed actions at the current cycle (used in training and at inference)."""
        assert self.engine is not None
        return action_mask(bool(self.engine.observation().positions), self.allow_exit)

    def _reward(self) -> float:
        trades = self.recorder.trades
        new = [float(t["pnl"]) for t in trades[self._seen :]]
        self._seen = len(trades)
        if self.reward_mode == "pnl" or not new:
            return float(sum(new))
        total = 0.0
        for pnl in new:
            self._pnls = [*self._pnls[-(self.sharpe_window - 1) :], pnl]
            scale = float(np.std(self._pnls)) if len(self._pnls) > 1 else 1.0
            total += pnl / max(scale, 1.0)
        return total

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Act on the current cycle, then run the engine to the next decision."""
        assert self.engine is not None
        a = int(action)
        if not self.action_masks()[a]:
            a = 0  # a masked action is a HOLD (MaskablePPO never picks one)
        if a == EXIT:
            self.engine.exit_all()
        entry = a if a in (BUY_CALL, BUY_PUT) else 0
        self.source.next_action = entry
        self.engine.decide(self.i, entry)
        self.engine.close_cycle(self.i)
        self.i += 1
        if self.i < self.n:
            self.engine.open_cycle(self.i)
            return self._state(), self._reward(), False, False, {}
        self.engine.end(self.n)
        done = np.zeros(len(self.state_names), np.float32)
        return done, self._reward(), True, False, {}

    def trades(self) -> pd.DataFrame:
        """The episode's trades so far (``records.TRADE_COLUMNS``)."""
        return self.recorder.trades_frame()
