"""The exit rules run along ghost paths, vectorised over every cycle at once.

:class:`~zerodte.exits.manager.ExitManager` applies :func:`~zerodte.exits.rules.build_exit_rules`
to one position per minute. This module applies the same rules, with the same marks and the
same order, to a whole matrix of ghost positions ``(cycle, minute held)``:

- the mark at decision bar ``d`` is the BID of bar ``d``'s close quote;
  ``pnl_pct = (bid - entry) / entry * 100``; ``max_gain_pct`` is the running maximum of the
  marks seen so far (a missing quote keeps the last mark and only time rules apply);
- ``minutes_held = (start_d - start_entry) / 1 min + 1`` (1 at the entry bar's close);
- price rules (loss cap, stop, take profit, trailing stop, the runner trail of a single
  contract in partial mode) need a usable quote; time rules (max hold, expiry guard,
  end-of-day flatten) do not.

A ghost is one contract, so a partial take-profit never sells (it cannot split one
contract) and the position becomes a runner exactly as :class:`~zerodte.exits.rules.RunnerTrail`
treats a single contract. :func:`first_exit_step` returns, for every cycle, the first path
step at which any rule fires; ``tests/qscorer/test_ghosts.py`` checks it against the exit
manager itself, step by step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zerodte.config.settings import ExitsSettings
from zerodte.types import CONTRACT_MULTIPLIER


@dataclass(frozen=True)
class GhostPath:
    """Marks of ghost positions along their first ``K`` decision bars.

    Attributes
    ----------
    bid
        ``(n, K)`` close bids (premium per share); NaN where there is no usable quote or
        the step is past the path's end.
    held
        ``(n, K)`` minutes held at each decision.
    minutes_to_close
        ``(n, K)`` minutes from each decision (the bar's close) to the session close.
    valid
        ``(n, K)`` steps that exist (same session, before the path's last exit bar).
    entry_price
        ``(n,)`` fill price per share paid at entry (ask plus slippage).
    entry_fee
        Fee of the entry (one contract), counted by the dollar loss cap.
    expires_today
        Whether the contract expires in the session it was bought (the expiry guard
        applies only then).
    """

    bid: np.ndarray
    held: np.ndarray
    minutes_to_close: np.ndarray
    valid: np.ndarray
    entry_price: np.ndarray
    entry_fee: float
    expires_today: bool


def rule_fires(path: GhostPath, exits: ExitsSettings) -> np.ndarray:
    """``(n, K)`` mask of the steps at which at least one exit rule fires.

    The rules and their formulas are those of :mod:`zerodte.exits.rules`; because only the
    first firing step matters (:func:`first_exit_step`), the union of the rules gives the
    same exit as applying them in order.

    Raises
    ------
    ConfigError
        Greeks-aware or dynamic exits are enabled: they read greeks, features and context
        along the path and are not vectorised here, so ghost labels would not match them.
    """
    if exits.greeks.enabled or exits.dynamic.enabled:
        from zerodte.errors import ConfigError

        raise ConfigError(
            "qscorer.apply_exit_rules cannot run exits.greeks or exits.dynamic along ghost "
            "paths; disable them or set qscorer.apply_exit_rules = false"
        )
    entry = path.entry_price[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        pnl = (path.bid - entry) / entry * 100.0
    fresh = np.isfinite(pnl) & path.valid
    # max_gain_pct: running maximum of the marks seen (NaN until the first usable one).
    peak = np.fmax.accumulate(np.where(fresh, pnl, np.nan), axis=1)
    with np.errstate(invalid="ignore"):
        loss = (entry - path.bid) * CONTRACT_MULTIPLIER + path.entry_fee
        fire = fresh & (loss >= exits.max_loss_per_trade)
        fire |= (
            fresh & (path.held > exits.stop_loss_min_hold_minutes) & (pnl <= -exits.stop_loss_pct)
        )
        if exits.use_partial_take_profit:
            # One contract cannot be split: it becomes a runner once its peak gain reached
            # the partial target (RunnerTrail with qty == 1).
            fire |= (
                fresh
                & (peak >= exits.partial_take_profit_pct)
                & (pnl <= peak - exits.runner_trail_pct)
            )
        else:
            fire |= fresh & (pnl >= exits.take_profit_pct)
        if exits.use_trailing_stop:
            # A single contract never has its partial taken, so the trail applies in both modes.
            fire |= (
                fresh
                & (peak >= exits.trailing_activation_pct)
                & (pnl <= peak - exits.trailing_stop_pct)
            )
    fire |= path.valid & (path.held >= exits.max_hold_minutes)
    if path.expires_today:
        fire |= path.valid & (path.minutes_to_close <= exits.expiry_exit_minutes)
    fire |= path.valid & (path.minutes_to_close <= exits.eod_flatten_minutes)
    return fire


def first_exit_step(path: GhostPath, exits: ExitsSettings) -> np.ndarray:
    """First step (column of the path) at which a rule fires, ``-1`` where none does."""
    fire = rule_fires(path, exits)
    first = np.argmax(fire, axis=1)
    return np.where(fire.any(axis=1), first, -1)
