"""Column schemas of the records every run writes (trades, equity, decisions, missed).

The engine's recorder writes them, research computes statistics from them, the store
persists them and the Q-scorer learns from them: this module is where they agree.
Optional context columns are present on every trade row and null when no component
supplied them (never zero-filled).
"""

from __future__ import annotations

TRADE_COLUMNS: tuple[str, ...] = (
    "trade_id",  # int, 0.. within the run; a partial exit makes its own row
    "tag",  # client tag of the opening order
    "session",  # trading date of entry
    "entry_time",
    "exit_time",
    "symbol",  # OCC symbol
    "underlying",
    "right",  # "C" | "P"
    "strike",
    "expiry",
    "qty",
    "entry_price",  # premium per share paid (ask + slippage)
    "exit_price",  # premium per share received (bid - slippage)
    "fees",  # entry + exit fees of this row's contracts
    "pnl",  # (exit_price - entry_price) * 100 * qty - fees
    "pnl_pct",  # pnl / (entry_price * 100 * qty) * 100
    "exit_reason",
    "hold_minutes",
    "max_gain_pct",
    "max_drawdown_pct",
    "spy_price",
    "vix_level",
    "exit_spy_price",
    "exit_vix_level",
    "delta",
    "iv",
    "entry_controller",
    "signal_strategy",
    "signal_reasoning",
    "momentum_5m",
    "momentum_15m",
    "volume_spike",
    "predicted_return",
    "direction_prob_down",
    "direction_prob_neutral",
    "direction_prob_up",
    "hmm_trend",
    "hmm_volatility",
    "hmm_liquidity",
    "hmm_confidence",
    "ml_confidence",
    "calibrated_confidence",
    "q_hold",
    "q_call",
    "q_put",
    "position_tag",  # tag of the position: the leg's own tag, or the straddle's group
    "legs",  # legs of the position (1, or 2 for a straddle)
    "prediction_timeframe",  # minutes of the prediction horizon the entry acted on
    "exit_hmm_trend",  # hmm_trend when the exit was decided
    "spread_cost",  # dollars: (entry spread / 2 + exit spread / 2) * 100 * qty (half spreads)
    "entry_quote",  # "real" (a stored real quote), "model" (the option model's), "venue" (live)
    "exit_quote",  # the same for the exit ("": settled at expiry, no quote)
)

EQUITY_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "cash",
    "positions_value",  # open positions marked at the bid
    "equity",  # cash + positions_value
    "open_positions",
)

CONTROLLER_COLUMNS: tuple[str, ...] = (
    "action",  # controller's action (Action int)
    "score_hold",
    "score_call",
    "score_put",
    "prob_hold",
    "prob_call",
    "prob_put",
    "reason",
    "confidence",  # the controller's confidence in its decision (null when it has none)
    "controller_vetoes",  # the controller's own vetoes ("; "-joined), before any gate
)
"""What a controller's ``decide_batch`` returns per cycle (part of every DecisionRecord);
``ctx_<key>`` context columns may follow (:func:`zerodte.policy.base.decision_frame`)."""

STRADDLE_COLUMNS: tuple[str, ...] = ("score_straddle", "prob_straddle")
"""Added to the decision frame and the DecisionRecords of a controller that can straddle
(its decisions carry a fourth score and propensity, for ``Action.BUY_STRADDLE``)."""

# Every DecisionRecord has these columns. A run with a predictor bundle
# (``models.predictor_bundle``) appends the observation's prediction and regime columns
# (``direction_prob_*``, ``predicted_return``, ``ml_confidence``, ``hmm_*`` ...) after them;
# the features themselves are referenced by the manifest's ``feature_set``.
DECISION_COLUMNS: tuple[str, ...] = (
    "cycle",
    "timestamp",
    "session",
    *CONTROLLER_COLUMNS,
    "vetoes",  # "gate:reason; gate:reason" or ""
    "executed_action",  # action actually sent to the broker (HOLD if vetoed/flat)
    "gate_call",  # 1.0 the entry gates allow a call entry at this cycle, 0.0 they veto it,
    "gate_put",  # null when not asked (asked on every entry, every cycle with probe_gates)
    "flat",  # no open position at decision time
    "open_positions",
    "cash",
    "equity",
)

MISSED_KEY_COLUMNS: tuple[str, ...] = ("cycle", "timestamp", "session", "reason")
"""Key columns of MissedOpportunityRecords; ghost reward columns follow, one per right and
horizon: ``ghost_call_15m``, ``ghost_put_15m`` ... (dollars per contract, net of friction,
null where that horizon was unavailable)."""


def ghost_column(right: str, horizon: int) -> str:
    """Name of the ghost-reward column for ``right`` ("call"/"put") at ``horizon`` minutes."""
    return f"ghost_{right}_{horizon}m"


REGRET_COLUMNS: tuple[str, ...] = (
    "entry_regret",
    "exit_regret",
    "timing_regret",
    "decay_regret",
    "pin_regret",
    "trap_entry_regret",
    "late_exit_regret",
)
"""The QThink regret scores of an assessed trade, each in [0, 1] (``zerodte.learning.regret``)."""
