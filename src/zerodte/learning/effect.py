"""The measured effect of the QThink weights on the consensus controller.

One market, two windows: the controller runs without QThink over the whole market; the
trades whose regret was known before the evaluation window opens are assessed and
reinforced into a state; then the controller runs again with QThink on and that state.
Only positions entered in the evaluation window are compared, paired by session
(:func:`zerodte.qscorer.compare.per_trade_diff`: the per-position P&L difference, QThink
minus plain, with the session-block bootstrap interval). Both runs see the same market,
exits and friction; the state used in the evaluation window was made only from the
learning window's trades (every version is published before the window opens).

Each side's P&L and the paired difference are also taken apart
(:mod:`zerodte.research.pnl_parts`): friction, slippage, the direction part (entry delta
times the SPY move, zero-mean on edge 0) and the premium part (how the option's price
compared with the moves that followed). A difference on edge 0 is then seen to come from
the direction of the moves (chance) or from the premium (the option prices).

A claim made over several markets at once ("on these ``family`` edge-0 markets the loop
creates no significance") is one family of comparisons: beside the 95 % intervals each
result then carries QThink's own interval and the paired one at level
``1 - 0.05 / family`` (Bonferroni), and the verdict ``significant_familywise``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte.config import Settings, with_overrides
from zerodte.engine.backtest import run_backtest
from zerodte.io import atomic_write_json
from zerodte.learning.assess import assess_run
from zerodte.learning.reinforce import reinforce
from zerodte.learning.run_inputs import records_from_frame
from zerodte.market.loading import load_market
from zerodte.qscorer.compare import per_trade_diff
from zerodte.research.pnl_parts import pnl_parts, with_pnl_of
from zerodte.research.stats import FAMILY_ALPHA, excludes_zero, per_trade_ci95

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectSetup:
    """One measured configuration (module docstring)."""

    seed: int
    edge: float
    days: int = 120
    learn_sessions: int = 60  # the learning window is the first ``learn_sessions`` sessions
    controller: str = "contrarian"
    min_quality: float = 0.25
    hmm_train_days: int = 20
    predictor_bundle: Path | None = None
    n_boot: int = 1000
    family: int = 1  # the number of (market) comparisons in the claim (module docstring)


def _positions(trades: pd.DataFrame) -> int:
    if trades.empty:
        return 0
    tags = (
        trades["position_tag"].fillna(trades["tag"]) if "position_tag" in trades else trades["tag"]
    )
    return int(tags.nunique())


SPLIT = ("delta_part", "premium_part")
"""The parts of the P&L given with intervals and paired differences (module docstring)."""


def _parts(trades: pd.DataFrame, settings: Settings) -> pd.DataFrame | None:
    if trades.empty:
        return None
    costs = settings.costs
    return pnl_parts(trades, costs.slippage_pct_of_spread, costs.slippage_min_ticks)


def _split(
    trades: pd.DataFrame, parts: pd.DataFrame | None, sessions: list[Any], n_boot: int
) -> dict[str, Any]:
    """Per-trade slippage, mid-to-mid P&L and the two parts with their intervals (each
    None where :func:`pnl_parts` cannot tell them)."""
    out: dict[str, Any] = {}
    for name in ("slippage", "mid_to_mid", *SPLIT):
        out[f"per_trade_{name}"] = None if parts is None else float(parts[name].mean())
    for name in SPLIT:
        ci = None
        if parts is not None:
            ci = per_trade_ci95(with_pnl_of(trades, parts, name), sessions, n_boot=n_boot)
        out[f"per_trade_{name}_ci95"] = None if ci is None else [float(ci[0]), float(ci[1])]
    return out


def _split_diff(
    q_eval: pd.DataFrame,
    q_parts: pd.DataFrame | None,
    b_eval: pd.DataFrame,
    b_parts: pd.DataFrame | None,
    sessions: list[Any],
    *,
    n_boot: int,
) -> dict[str, Any]:
    """The paired difference of the mid-to-mid P&L and of each part, QThink minus plain,
    with its interval."""
    out: dict[str, Any] = {}
    for name in ("mid_to_mid", *SPLIT):
        diff, ci = None, None
        if q_parts is not None and b_parts is not None:
            q, b = with_pnl_of(q_eval, q_parts, name), with_pnl_of(b_eval, b_parts, name)
            diff, ci = per_trade_diff(q, b, sessions, n_boot=n_boot)
        out[f"diff_per_trade_{name}"] = diff
        out[f"diff_per_trade_{name}_ci95"] = ci
    return out


def _side(
    trades: pd.DataFrame, parts: pd.DataFrame | None, sessions: list[Any], n_boot: int
) -> dict[str, Any]:
    ci = per_trade_ci95(trades, sessions, n_boot=n_boot) if len(trades) else None
    n = len(trades)
    # friction split: fees plus the half-spreads paid at entry and exit (``spread_cost``,
    # NaN where a side had no quote: then the split is not given); what is left is the
    # trade's P&L before those costs
    spread = trades["spread_cost"] if "spread_cost" in trades.columns else pd.Series(dtype=float)
    known = n > 0 and len(spread) == n and bool(spread.notna().all())
    fees = float(trades["fees"].sum()) if n else 0.0
    per_friction = (fees + float(spread.sum())) / n if known else None
    return {
        "trades": n,
        "positions": _positions(trades),
        "fees": fees,
        "pnl": float(trades["pnl"].sum()) if n else 0.0,
        "per_trade_pnl": float(trades["pnl"].mean()) if n else None,
        "per_trade_ci95": None if ci is None else [float(ci[0]), float(ci[1])],
        "per_trade_spread_cost": float(spread.mean()) if known else None,
        "per_trade_friction": per_friction,
        "per_trade_before_friction": (
            None if per_friction is None else float(trades["pnl"].mean()) + per_friction
        ),
        **_split(trades, parts, sessions, n_boot),
    }


def measure_effect(settings: Settings, setup: EffectSetup, out_dir: Path) -> dict[str, Any]:
    """Run the comparison of the module docstring; writes the state into ``out_dir``."""
    if setup.family < 1:
        raise ValueError(f"family={setup.family}: a family holds at least this market")
    overrides: dict[str, Any] = {
        "entry.controller": setup.controller,
        "models.hmm_train_days": setup.hmm_train_days,
        "models.regime_context": True,
    }
    if setup.predictor_bundle is not None:
        overrides["models.predictor_bundle"] = str(setup.predictor_bundle)
    plain = with_overrides(settings, overrides)
    md = load_market(plain, days=setup.days, seed=setup.seed, edge=setup.edge)
    sessions = sorted(set(pd.DatetimeIndex(md.frame.index).date))
    if setup.learn_sessions >= len(sessions):
        raise ValueError(
            f"learn_sessions={setup.learn_sessions} leaves no evaluation window in "
            f"{len(sessions)} sessions"
        )
    cut = pd.Timestamp(f"{sessions[setup.learn_sessions]} 09:30", tz="America/New_York")
    base = run_backtest(plain, md, write=False, record=False, n_boot=100)
    exits = pd.to_datetime(base.trades["exit_time"]) if len(base.trades) else pd.Series([])
    learn = base.trades[exits < cut] if len(base.trades) else base.trades
    records = records_from_frame(plain, md.frame, learn, base.decisions)
    a = assess_run(records, plain.entry.consensus, plain.options)
    a_known = type(a)(
        a.outcomes[pd.to_datetime(a.outcomes["known_at"]) < cut] if len(a.outcomes) else a.outcomes,
        a.agents,
    )
    state = reinforce(a_known, source=[f"synthetic seed {setup.seed} edge {setup.edge}"])
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path = out_dir / f"qthink_state_s{setup.seed}_e{setup.edge:g}.json"
    atomic_write_json(state_path, state.to_json())
    qthink = with_overrides(
        plain,
        {
            "entry.consensus.qthink.enabled": True,
            "entry.consensus.qthink.state_path": str(state_path),
            "entry.consensus.qthink.min_quality": setup.min_quality,
        },
    )
    with_q = run_backtest(qthink, md, write=False, record=False, n_boot=100)
    eval_days = sessions[setup.learn_sessions :]

    def in_eval(trades: pd.DataFrame) -> pd.DataFrame:
        if trades.empty:
            return trades
        return trades[pd.to_datetime(trades["entry_time"]) >= cut]

    b_eval, q_eval = in_eval(base.trades), in_eval(with_q.trades)
    b_parts, q_parts = _parts(b_eval, plain), _parts(q_eval, plain)
    diff, ci = per_trade_diff(q_eval, b_eval, eval_days, n_boot=setup.n_boot)
    alpha = FAMILY_ALPHA / setup.family
    _, ci_fw = per_trade_diff(q_eval, b_eval, eval_days, n_boot=setup.n_boot, alpha=alpha)
    own_fw = (
        per_trade_ci95(q_eval, eval_days, n_boot=setup.n_boot, alpha=alpha) if len(q_eval) else None
    )
    last = state.versions[-1]
    return {
        "seed": setup.seed,
        "edge": setup.edge,
        "controller": setup.controller,
        "predictor_bundle": None if setup.predictor_bundle is None else str(setup.predictor_bundle),
        "data_source": md.data_source,
        "sessions": len(sessions),
        "learn_window": [str(sessions[0]), str(sessions[setup.learn_sessions - 1])],
        "eval_window": [str(eval_days[0]), str(eval_days[-1])],
        "learn_trades_assessed": len(a_known.outcomes),
        "state_versions": len(state.versions),
        "weights": dict(last.weights),
        "penalties": dict(last.penalties),
        "min_quality": setup.min_quality,
        "plain": _side(b_eval, b_parts, eval_days, setup.n_boot),
        "qthink": _side(q_eval, q_parts, eval_days, setup.n_boot),
        "diff_per_trade_pnl": diff,
        "diff_per_trade_ci95": ci,
        "significant": excludes_zero(ci),
        "family": setup.family,
        "familywise_alpha": FAMILY_ALPHA,
        "diff_per_trade_ci_familywise": ci_fw,
        "qthink_per_trade_ci_familywise": None if own_fw is None else [float(x) for x in own_fw],
        # the loop "creates significance" when QThink alone clears zero or the paired
        # difference excludes it, each at the family's level
        "significant_familywise": excludes_zero(ci_fw) or (own_fw is not None and own_fw[0] > 0),
        **_split_diff(q_eval, q_parts, b_eval, b_parts, eval_days, n_boot=setup.n_boot),
        "friction": base.manifest.get("execution"),
    }
