"""Settings sections of the entry controllers, gates, sizer and exits beyond the basics.

Each controller has its own nested section (``entry.bandit``, ``entry.consensus``,
``entry.ppo``, ``entry.threshold``, ``entry.quantor``); the V4 gates and the regime quality
filter nest under ``gates``; greeks-aware and dynamic exits under ``exits``. Every one is off
(or inert) by default, so the defaults of a run do not change when a section is added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from zerodte.config.section import Section as _Section
from zerodte.types import SESSION_MINUTES

_Minutes = Annotated[int, Field(ge=1, le=SESSION_MINUTES)]
_Layer = Annotated[int, Field(ge=1, le=4096)]
_Weight = Annotated[float, Field(ge=0)]


class BanditSettings(_Section):
    """Contextual bandit over HOLD / BUY_CALLS / BUY_PUTS (``entry.controller = "bandit"``).

    ``profile = "hmm_strict"`` (the predecessor's default) uses only the HMM regime as
    context and allows an entry only when the HMM trend is beyond ``trend_low`` /
    ``trend_high`` with ``hmm_confidence >= min_hmm_confidence``; ``"full"`` adds the
    predictor outputs, momentum and VIX and lets every action be explored.
    """

    profile: Literal["hmm_strict", "full"] = "hmm_strict"
    epsilon: float = Field(default=0.05, ge=0, le=1, description="exploration probability")
    ridge: float = Field(default=1.0, gt=0, description="ridge prior precision")
    min_value: float = Field(default=0.0, description="greedy entry needs value > this ($)")
    trend_low: float = Field(default=0.3, ge=0, le=1)
    trend_high: float = Field(default=0.7, ge=0, le=1)
    min_hmm_confidence: float = Field(default=0.6, ge=0, le=1)
    learn_from_ghosts: bool = True
    replay: bool = Field(default=False, description="prioritized replay of past rewards")
    replay_size: int = Field(default=2000, ge=1)
    replay_batch: int = Field(default=8, ge=1)
    replay_alpha: float = Field(default=0.6, ge=0, description="priority exponent")
    seed: int = 0
    state_path: Path | None = None  # learned state to restore (saved with its config)

    @model_validator(mode="after")
    def _check_band(self) -> BanditSettings:
        if self.trend_low >= self.trend_high:
            raise ValueError(
                f"entry.bandit.trend_low ({self.trend_low}) must be below trend_high "
                f"({self.trend_high})"
            )
        return self


class QThinkSettings(_Section):
    """QThink reinforcement in the consensus scoring (``entry.consensus.qthink``; off).

    ``state_path`` is a state file written by ``zerodte learn apply``: versions of agent
    weights and time-block penalties, each used only at bars after it was published
    (docs/learning.md).
    """

    enabled: bool = False
    state_path: Path | None = None
    min_quality: float = Field(
        default=0.25, ge=0, le=1, description="weighted aligned agent score an entry needs"
    )

    @model_validator(mode="after")
    def _check_state(self) -> QThinkSettings:
        if self.enabled and self.state_path is None:
            raise ValueError(
                "entry.consensus.qthink.enabled needs entry.consensus.qthink.state_path "
                "(write one with `zerodte learn apply --run RUN --out FILE`)"
            )
        return self


class ConsensusSettings(_Section):
    """All six signals must agree (``entry.controller = "consensus"`` or ``"contrarian"``)."""

    horizons: tuple[_Minutes, _Minutes, _Minutes] = (15, 30, 60)
    horizon_weights: tuple[_Weight, _Weight, _Weight] = (0.5, 0.3, 0.2)
    min_weighted_confidence: float = Field(default=0.15, ge=0, le=1)
    min_hmm_confidence: float = Field(default=0.10, ge=0, le=1)
    trend_low: float = Field(default=0.45, ge=0, le=1, description="hmm_trend below: bearish")
    trend_high: float = Field(default=0.55, ge=0, le=1, description="hmm_trend above: bullish")
    rsi_overbought: float = Field(default=80.0, ge=50, le=100)
    rsi_oversold: float = Field(default=20.0, ge=0, le=50)
    vix_min: float = Field(default=10.0, ge=0)
    vix_max: float = Field(default=35.0, gt=0)
    max_volume_spike: float = Field(default=5.0, gt=0)
    bb_call_max: float = Field(default=0.85, ge=0, le=1)
    bb_put_min: float = Field(default=0.15, ge=0, le=1)
    hull_min_aligned: int = Field(default=2, ge=1, le=3)
    flow_veto_ratio: float = Field(default=1.5, gt=1, description="opposing put/call ratio")
    # contrarian mode
    contrarian: bool = False
    hmm_override_confidence: float = Field(default=0.7, ge=0, le=1)
    exhaustion_rsi_high: float = Field(default=75.0, ge=50, le=100)
    exhaustion_rsi_low: float = Field(default=25.0, ge=0, le=50)
    min_disagreement: int = Field(default=2, ge=1, le=6, description="signals against")
    # straddle
    straddle: bool = False
    straddle_vix_min: float = Field(default=20.0, ge=0)
    straddle_vix_max: float = Field(default=40.0, gt=0)
    straddle_min_hmm_volatility: float = Field(default=0.6, ge=0, le=1)
    straddle_max_direction_confidence: float = Field(default=0.15, ge=0, le=1)
    qthink: QThinkSettings = Field(default_factory=QThinkSettings)


class PPOSettings(_Section):
    """PPO entry policy (``entry.controller = "ppo"``) and its training (``zerodte train ppo``)."""

    model_dir: Path = Path("models/ppo")
    deterministic: bool = Field(default=True, description="argmax (one-hot propensities)")
    allow_exit: bool = Field(default=False, description="EXIT action; backtests cannot use it")
    reward: Literal["pnl", "sharpe"] = "pnl"
    sharpe_window: int = Field(default=20, ge=2, description="trades in the Sharpe shaping")
    timesteps: int = Field(default=20_000, ge=64)
    n_steps: int = Field(default=1024, ge=8)
    batch_size: int = Field(default=256, ge=8)
    learning_rate: float = Field(default=3e-4, gt=0)
    gamma: float = Field(default=0.999, gt=0, le=1)
    ent_coef: float = Field(default=0.01, ge=0)
    hidden: tuple[_Layer, ...] = Field(default=(64, 64), min_length=1)
    episode_sessions: int = Field(default=5, ge=1)
    seed: int = 0


class ThresholdSettings(_Section):
    """RL threshold learner: a per-signal accept/reject filter in front of any controller."""

    enabled: bool = False
    epsilon: float = Field(default=0.05, ge=0, le=1, description="accept-exploration rate")
    ridge: float = Field(default=1.0, gt=0)
    min_value: float = Field(default=0.0, description="accept when predicted value > this")
    warmup_signals: int = Field(default=30, ge=0, description="accept all until this many")
    learn_from_ghosts: bool = True
    replay: bool = False
    replay_size: int = Field(default=2000, ge=1)
    replay_batch: int = Field(default=8, ge=1)
    replay_alpha: float = Field(default=0.6, ge=0)
    seed: int = 0
    state_path: Path | None = None  # learned state to restore (`zerodte train threshold`)


class QuantorSettings(_Section):
    """Fuzzy position sizer (``entry.sizing = "quantor"``) and its volatility analyzer."""

    max_contracts: int = Field(default=5, ge=1)
    max_risk_fraction: float = Field(default=0.02, gt=0, le=1, description="of equity per trade")
    min_score: float = Field(default=0.35, ge=0, le=1, description="below: do not trade")
    max_vrp: float = Field(default=15.0, description="VIX - realised vol above: do not trade")


class V4GateSettings(_Section):
    """V4 gates: expected value under a Bayesian prior, and per-regime attribution."""

    ev_enabled: bool = False
    prior_wins: float = Field(default=5.0, gt=0, description="Beta prior on the win rate")
    prior_losses: float = Field(default=5.0, gt=0)
    prior_payoff: float = Field(default=1.0, gt=0, description="prior avg win / avg loss")
    prior_payoff_weight: float = Field(default=10.0, gt=0, description="prior trades")
    attribution_enabled: bool = False
    min_trades: int = Field(default=20, ge=2, description="per regime before disabling")
    prior_pnl_trades: float = Field(default=10.0, gt=0, description="shrinkage to 0, trades")
    reenable_after_trades: int = Field(default=50, ge=1, description="trades of other regimes")


class RegimeQualitySettings(_Section):
    """The predecessor's regime quality filter (its Phase 6); off: it measured harmful there."""

    enabled: bool = False
    min_quality: float = Field(default=0.5, ge=0, le=1)
    vix_sweet_low: float = Field(default=13.0, ge=0)
    vix_sweet_high: float = Field(default=25.0, gt=0)
    max_vix_change_15m: float = Field(default=2.0, gt=0, description="points; else unstable")
    transition_window: int = Field(default=10, ge=2, description="bars of HMM history")
    max_transitions: int = Field(default=2, ge=1, description="trend flips in the window")


class GreeksExitSettings(_Section):
    """Greeks-aware exits: stop and take-profit scaled by VIX and |delta|."""

    enabled: bool = False
    vix_ref: float = Field(default=15.0, gt=0)
    delta_ref: float = Field(default=0.5, gt=0, le=1)
    min_scale: float = Field(default=0.5, gt=0)
    max_scale: float = Field(default=2.0, gt=0)


class DynamicExitSettings(_Section):
    """The dynamic exit evaluator: each check switchable; the evaluator is off by default."""

    enabled: bool = False
    thesis_invalidation: bool = True
    confidence_collapse: bool = True
    confidence_drop: float = Field(default=0.5, gt=0, le=1, description="relative drop")
    regime_change: bool = True
    theta_vs_gain: bool = True
    momentum_exhaustion: bool = True
    exhaustion_rsi_high: float = Field(default=75.0, ge=50, le=100)
    exhaustion_rsi_low: float = Field(default=25.0, ge=0, le=50)
    flat_time_decay: bool = True
    flat_minutes: float = Field(default=20.0, gt=0)
    flat_band_pct: float = Field(default=2.0, gt=0)
    profit_protection: bool = True
    lock_above_pct: float = Field(default=5.0, gt=0)
    pullback_pct: float = Field(default=3.0, gt=0)
