"""Outcome assessment of every closed trade of a run: regrets, labels, blocks, archetypes,
agents.

:func:`assess_run` is a pure function of the run's records (:class:`RunRecords`): the
trades, the DecisionRecords, the observation frame the controller read (market frame with
features and context), the ghost rewards around each entry and the prior-day open-interest
chains. It returns one outcome row per trade (:data:`OUTCOME_COLUMNS`) and one attribution
row per trade and agent (:data:`AGENT_COLUMNS`).

Agent attribution: each agent's score at the decision bar (``consensus_agents``), its
aligned score ``a`` toward the trade's direction, the weight in force (the QThink state's
version at that bar, 1 without a state), its polarity ``sign(a)``, whether it conflicted
with the final direction (``a < 0``) and whether it was right about the outcome
(``sign(a) = sign(pnl)``). The trade's **agent alignment** is the share of involved agents
with ``a > 0``; below 0.6 is **mesh confusion**.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from zerodte.config.decision_settings import ConsensusSettings
from zerodte.config.settings import OptionsSettings
from zerodte.learning.labels import archetype, label, penalty_points, regret_sum
from zerodte.learning.path import MarketPath
from zerodte.learning.regret import REGRET_KINDS, RegretConfig, TradeFacts, regret_scores
from zerodte.options.expiry import expiry_close
from zerodte.options.gex import (
    GammaInputs,
    exposures,
    max_pain,
    validate_chain,
    zero_gamma_flip,
)
from zerodte.options.model import OptionModel
from zerodte.policy.controllers.consensus import ConsensusController
from zerodte.policy.controllers.consensus_agents import AGENTS, DIRECTIONLESS
from zerodte.policy.qthink_state import QThinkState, time_blocks
from zerodte.records import ghost_column

OUTCOME_COLUMNS: tuple[str, ...] = (
    "trade_id",
    "position_tag",
    "session",
    "right",
    "direction",
    "decision_time",
    "entry_time",
    "exit_time",
    "hold_minutes",
    "pnl",
    "pnl_per_contract",
    "win",
    "entry_score",
    "exit_score",
    "time_block",
    "regime",
    "gex_regime",
    "above_flip",
    "low_iv",
    "macro_event",
    "max_pain",
    "pin_strike",
    "zero_gamma_flip",
    "net_gex",
    "agent_alignment",
    "mesh_confusion",
    *REGRET_KINDS,
    "regret_sum",
    "regrets_available",
    "label",
    "penalty_points",
    "archetype",
    "known_at",
)
AGENT_COLUMNS: tuple[str, ...] = (
    "trade_id",
    "agent",
    "score",
    "aligned_score",
    "weight",
    "polarity",
    "involved",
    "conflict",
    "outcome_aligned",
)
LOW_IV_VIX = 15.0


@dataclass(frozen=True)
class RunRecords:
    """The recorded inputs of an assessment (module docstring)."""

    trades: pd.DataFrame
    decisions: pd.DataFrame
    observations: pd.DataFrame
    ghosts: pd.DataFrame | None
    chains: Mapping[date, pd.DataFrame] = field(default_factory=dict)
    macro_days: frozenset[date] | None = None


@dataclass(frozen=True)
class Assessment:
    """Outcome rows and agent rows of one run."""

    outcomes: pd.DataFrame
    agents: pd.DataFrame


def decision_times(trades: pd.DataFrame, decisions: pd.DataFrame) -> pd.Series:
    """The decision bar of each trade: the last entering cycle before its entry fill."""
    entered = decisions[decisions["executed_action"].to_numpy(np.int64) != 0]
    ts = pd.DatetimeIndex(pd.to_datetime(entered["timestamp"])).as_unit("ns")
    entries = pd.DatetimeIndex(pd.to_datetime(trades["entry_time"])).as_unit("ns")
    pos = np.searchsorted(np.asarray(ts.asi8), np.asarray(entries.asi8), side="left") - 1
    if (pos < 0).any():
        first = int(np.flatnonzero(pos < 0)[0])
        raise ValueError(
            f"trade {trades['trade_id'].iloc[first]} entered at {entries[first]} with no "
            "entering decision before it; pass the run's own decisions.parquet"
        )
    return pd.Series(ts[pos], index=trades.index)


def _score_before(decisions: pd.DataFrame, times: pd.DatetimeIndex, column: str) -> np.ndarray:
    ts = pd.DatetimeIndex(pd.to_datetime(decisions["timestamp"])).as_unit("ns")
    pos = np.searchsorted(np.asarray(ts.asi8), np.asarray(times.as_unit("ns").asi8), "left") - 1
    values = decisions[column].to_numpy(np.float64) if column in decisions else None
    if values is None:
        return np.full(len(times), np.nan)
    return np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan)


def _pins(  # noqa: PLR0917 (the decision's market values)
    chains: Mapping[date, pd.DataFrame],
    pains: Mapping[date, float],
    session: date,
    spot: float,
    minutes: float,
    vix: float,
    model: OptionModel,
) -> tuple[float, float, float, float]:
    """(max pain, largest-|GEX| strike, flip, net GEX) at the decision; NaN without a chain."""
    chain = chains.get(session)
    if chain is None or chain.empty or not (math.isfinite(spot) and math.isfinite(vix)):
        return (math.nan,) * 4
    pain = pains[session]
    inputs = GammaInputs(max(minutes, 1.0), vix, model.surface, model.rate, model.div)
    per = exposures(chain, spot, inputs).groupby("strike")["gex"].sum()
    top = float(per.index[int(np.argmax(np.abs(per.to_numpy())))])
    flip = zero_gamma_flip(chain, spot, inputs, width=0.03, points=61)
    return (
        pain,
        top,
        math.nan if flip is None else flip,
        float(per.sum()),
    )


def _regime(trend: float) -> str:
    if not math.isfinite(trend):
        return "unknown"
    return "bull" if trend > 0.55 else ("bear" if trend < 0.45 else "neutral")


def assess_run(
    records: RunRecords,
    consensus: ConsensusSettings,
    options: OptionsSettings,
    config: RegretConfig | None = None,
    state: QThinkState | None = None,
) -> Assessment:
    """Outcome and agent rows of every closed trade (module docstring)."""
    cfg = config or RegretConfig()
    trades = records.trades.sort_values("trade_id").reset_index(drop=True)
    if trades.empty:
        return Assessment(
            pd.DataFrame(columns=list(OUTCOME_COLUMNS)), pd.DataFrame(columns=list(AGENT_COLUMNS))
        )
    path = MarketPath.from_frame(records.observations)
    model = OptionModel(options)
    t0 = pd.DatetimeIndex(decision_times(trades, records.decisions))
    entries = pd.DatetimeIndex(pd.to_datetime(trades["entry_time"]))
    exits = pd.DatetimeIndex(pd.to_datetime(trades["exit_time"]))
    direction = np.where(trades["right"].astype(str).str.upper().str[0] == "C", 1.0, -1.0)
    obs_rows = records.observations.reindex(t0)
    agents = ConsensusController(consensus).agent_frame(obs_rows)
    weights = (
        state.weight_matrix(t0, AGENTS)
        if state is not None
        else np.ones((len(trades), len(AGENTS)))
    )
    blocks = time_blocks(t0)
    after_entry, after_exit = cfg.known_after()
    entry_score = _score_before(records.decisions, entries, "confidence")
    exit_calls = _score_before(records.decisions, exits, "score_call")
    exit_puts = _score_before(records.decisions, exits, "score_put")
    ghosts = records.ghosts
    chains = {d: validate_chain(c, f"open interest of {d}") for d, c in records.chains.items()}
    pains = {d: max_pain(c) for d, c in chains.items() if not c.empty}
    rows: list[dict[str, object]] = []
    agent_rows: list[dict[str, object]] = []
    for i in range(len(trades)):
        tr = trades.iloc[i]
        d = float(direction[i])
        qty = float(tr["qty"])
        if not qty > 0:
            raise ValueError(
                f"trade {tr['trade_id']} has qty={tr['qty']!r}; a closed trade has qty > 0"
            )
        pnl = float(tr["pnl"])
        pnl_c = pnl / qty
        entry_px, exit_px = float(tr["entry_price"]), float(tr["exit_price"])
        pos0 = path.position(t0[i])
        posx = int(np.searchsorted(path.times.asi8, exits[i].as_unit("ns").value, "right") - 1)
        posx = max(min(posx, len(path.close) - 1), pos0)
        aligned_vec = []
        for j, a in enumerate(AGENTS):
            s = float(agents[a].iloc[i])
            al = s if a in DIRECTIONLESS else d * s
            inv = math.isfinite(s)
            aligned_vec.append(al if inv else math.nan)
            agent_rows.append(
                {
                    "trade_id": int(tr["trade_id"]),
                    "agent": a,
                    "score": s,
                    "aligned_score": al if inv else math.nan,
                    "weight": float(weights[i, j]),
                    "polarity": float(np.sign(al)) if inv else math.nan,
                    "involved": inv,
                    "conflict": bool(inv and al < 0),
                    "outcome_aligned": bool(inv and np.sign(al) == np.sign(pnl) and pnl != 0),
                }
            )
        involved = [x for x in aligned_vec if math.isfinite(x)]
        alignment = sum(x > 0 for x in involved) / len(involved) if involved else math.nan
        session = pd.Timestamp(t0[i]).date()
        spot0, vix0 = float(path.close[pos0]), float(path.vix[pos0])
        mp, pin_k, flip, net = _pins(
            chains, pains, session, spot0, float(path.minutes_to_close[pos0]), vix0, model
        )
        expiry = pd.Timestamp(tr["expiry"]).date()
        close_ns = expiry_close(expiry).value
        mte_e = (close_ns - entries[i].value) / 60e9
        mte_x = (close_ns - exits[i].value) / 60e9
        spot_e = float(tr["spy_price"])
        # the trade's recorded VIX, else the market's VIX at the decision bar (both recorded)
        vix_e = float(tr["vix_level"]) if math.isfinite(float(tr["vix_level"])) else vix0
        strike = float(tr["strike"])
        mids = model.price(spot_e, strike, d > 0, np.array([mte_e, mte_x]), vix_e)["mid"]
        facts = TradeFacts(
            direction=d,
            premium=entry_px * 100.0,
            pnl_per_contract=pnl_c,
            gross_pct=(exit_px - entry_px) / entry_px * 100.0 if entry_px > 0 else math.nan,
            max_gain_pct=float(tr["max_gain_pct"]),
            delta=float(tr["delta"]),  # NaN (not recorded): the missed-move term is unknown
            decision_pos=pos0,
            exit_pos=posx,
            entry_spot=spot_e,
            exit_spot=float(tr["exit_spy_price"]),
            alignment=alignment,
            block=str(blocks[i]),
            decay_dollars=100.0 * float(mids[0] - mids[1]),
            max_pain=mp,
            pin_strike=pin_k,
            net_gex=net,
        )
        window = path.window(pos0, cfg.entry_window, cfg.entry_window)
        col = ghost_column("call" if d > 0 else "put", cfg.ghost_horizon)
        if ghosts is not None and col in ghosts.columns:
            g = ghosts[col].reindex(path.times[window]).to_numpy(np.float64)
        else:
            g = np.full(len(window), np.nan)
        at = int(np.flatnonzero(window == pos0)[0])
        r = regret_scores(path, facts, g, at, cfg)
        total, n_avail = regret_sum(r)
        confused = math.isfinite(alignment) and alignment < cfg.alignment_floor
        lab = label(r, pnl, confused)
        feats = obs_rows.iloc[i]
        arch = archetype(
            path,
            pos0,
            d,
            float(feats.get("momentum_5m", math.nan)),
            float(feats.get("momentum_15m", math.nan)),
            float(feats.get("rsi_14", math.nan)),
            flip,
            mp,
            band=cfg.pin_band,
            trap_minutes=cfg.trap_minutes,
            lookback=cfg.breakout_lookback,
        )
        session_end = path.times[path.window(pos0, 0, 10_000)[-1]] + pd.Timedelta(minutes=1)
        known = min(max(t0[i] + after_entry, exits[i] + after_exit), session_end)
        known = max(known, exits[i])
        trend = float(feats.get("hmm_trend", math.nan))
        rows.append(
            {
                "trade_id": int(tr["trade_id"]),
                "position_tag": tr.get("position_tag", tr.get("tag")),
                "session": session,
                "right": str(tr["right"]),
                "direction": d,
                "decision_time": t0[i],
                "entry_time": entries[i],
                "exit_time": exits[i],
                "hold_minutes": float(tr["hold_minutes"]),
                "pnl": pnl,
                "pnl_per_contract": pnl_c,
                "win": pnl > 0,
                "entry_score": float(entry_score[i]),
                "exit_score": float(exit_calls[i] if d > 0 else exit_puts[i]),
                "time_block": str(blocks[i]),
                "regime": _regime(trend),
                "gex_regime": None if not math.isfinite(net) else ("long" if net > 0 else "short"),
                "above_flip": None if not math.isfinite(flip) else bool(spot0 > flip),
                "low_iv": bool(vix0 < LOW_IV_VIX) if math.isfinite(vix0) else None,
                "macro_event": None
                if records.macro_days is None
                else session in records.macro_days,
                "max_pain": mp,
                "pin_strike": pin_k,
                "zero_gamma_flip": flip,
                "net_gex": net,
                "agent_alignment": alignment,
                "mesh_confusion": confused,
                **r,
                "regret_sum": total,
                "regrets_available": n_avail,
                "label": lab,
                "penalty_points": penalty_points(r, lab),
                "archetype": arch,
                "known_at": known,
            }
        )
    outcomes = pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))
    return Assessment(outcomes, pd.DataFrame(agent_rows, columns=list(AGENT_COLUMNS)))
