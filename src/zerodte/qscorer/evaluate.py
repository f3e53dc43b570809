"""Evaluation of a Q-scorer on logged data: fit quality, anti-selection and off-policy value.

Off-policy estimators of the value ``V(pi)`` (dollars per decision cycle) of the new,
deterministic policy ``pi`` *as deployed*, from data logged by a policy ``mu`` with recorded
propensities ``mu(a | x_i)`` (``prob_hold/call/put``), logged action ``a_i`` and realised
reward ``r_i`` (0 for HOLD or a vetoed entry, the trade's P&L per contract otherwise).

Gates come first. ``g_i(a)`` is 1 when the entry gates allowed action ``a`` at cycle ``i``
(``gate_call``/``gate_put``, HOLD always allowed). A gated entry ends as HOLD, for the
logger and for ``pi`` alike, so the estimators compare *effective* actions::

    pi_d(x_i)  = pi(x_i) if g_i(pi(x_i)) else HOLD          the deployed policy
    a'_i       = a_i if g_i(a_i) else HOLD                   what the logged action became
    mu'(a|x_i) = mu(a|x_i) g_i(a)  for entries,  mu(HOLD|x_i) + sum_{gated a} mu(a|x_i)

A logged veto is the gate's outcome (the row's effective action is HOLD, reward 0), never
the vetoed action's. Rows whose gate state is unknown, or whose effective entry has no
realised reward (no closed trade), are excluded and counted. Then, over the rows kept::

    w_i   = 1[a'_i = pi_d(x_i)] / mu'(a'_i | x_i)
    IPS   = (1/n) sum_i w_i r_i                               (Horvitz & Thompson 1952)
    SNIPS = sum_i w_i r_i / sum_i w_i                         (Swaminathan & Joachims 2015)
    DR    = (1/n) sum_i [ q(x_i, pi_d(x_i)) + w_i (r_i - q(x_i, a'_i)) ]   (Dudik et al. 2011)

with ``q`` the Q-model's calibrated ensemble mean (``q(x, HOLD) = 0``). They are unbiased
(DR: if either ``q`` or ``mu`` is right) only when ``mu`` gives every action ``pi`` may take
a positive probability: log with an exploratory policy such as the ``random`` controller,
whose propensities are exact. A deterministic logger (momentum) gives ``w = 0`` or
``1 / 1`` and the estimates are meaningless; this module reports the share of rows whose
propensity for ``pi_d``'s action is zero (``unsupported``). Each cycle is scored as a
one-step decision: the gate state the logger's own trades produced (an open position,
a cooldown) stands in for the state ``pi``'s trades would have produced. Intervals are
percentile bootstrap intervals resampling blocks of consecutive sessions
(:func:`~zerodte.research.bootstrap.session_bootstrap_ci`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr

from zerodte.qscorer.controller import QScorerController
from zerodte.qscorer.dataset import QDataset
from zerodte.research.bootstrap import SESSION_BLOCK, session_bootstrap_ci

logger = logging.getLogger(__name__)


def _corr(a: np.ndarray, b: np.ndarray) -> dict[str, float | None]:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return {"n": int(ok.sum()), "pearson": None, "spearman": None}
    return {
        "n": int(ok.sum()),
        "pearson": float(pearsonr(a[ok], b[ok])[0]),
        "spearman": float(spearmanr(a[ok], b[ok])[0]),
    }


def reliability(pred: np.ndarray, target: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Mean prediction vs mean target by decile of the prediction."""
    ok = np.isfinite(pred) & np.isfinite(target)
    p, t = pred[ok], target[ok]
    if len(p) < bins:
        return []
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append(
                {
                    "decile": b + 1,
                    "n": int(m.sum()),
                    "mean_predicted": float(p[m].mean()),
                    "mean_realised": float(t[m].mean()),
                }
            )
    return out


def _day_groups(sessions: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniq = pd.factorize(pd.Series(sessions), sort=True)
    return np.asarray(codes), len(uniq)


def _boot_days(
    per_day: dict[str, np.ndarray], stat: Any, n_boot: int, seed: int
) -> tuple[float, float] | None:
    return session_bootstrap_ci(per_day, stat, n_boot=n_boot, seed=seed)


def gate_matrix(frame: pd.DataFrame) -> np.ndarray:
    """``(n, 3)`` gate state per action (HOLD, CALL, PUT): 1 allowed, 0 vetoed, NaN unknown."""
    n = len(frame)
    cols = [
        frame[c].to_numpy(np.float64) if c in frame.columns else np.full(n, np.nan)
        for c in ("gate_call", "gate_put")
    ]
    return np.column_stack([np.ones(n), *cols])


def deployed_actions(action: np.ndarray, gates: np.ndarray) -> np.ndarray:
    """The action each row ends with after the gates (a gated entry becomes HOLD).

    Rows whose gate state for their action is unknown keep the action.
    """
    a = np.asarray(action, np.int64)
    g = gates[np.arange(len(a)), a]
    return np.where(g == 0.0, 0, a)


def off_policy_value(
    frame: pd.DataFrame,
    target_action: np.ndarray,
    q_hat: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """IPS, SNIPS and DR estimates of a deterministic policy as deployed behind the gates.

    Parameters
    ----------
    frame
        Logged rows with ``action``, ``prob_hold/call/put``, ``reward``, ``session`` and the
        gate state ``gate_call``/``gate_put``.
    target_action
        The new policy's action per row before the gates (0 HOLD, 1 CALL, 2 PUT).
    q_hat
        ``(n, 3)`` direct-method reward model per action (column 0 is HOLD = 0).
    """
    n_all = len(frame)
    gates = gate_matrix(frame)
    known_gate = np.isfinite(gates).all(axis=1)
    a_log = frame["action"].to_numpy(np.int64)
    a_eff = deployed_actions(a_log, np.where(np.isfinite(gates), gates, 1.0))
    r_all = frame["reward"].to_numpy(np.float64)
    reward_ok = np.isfinite(r_all)
    ok = known_gate & reward_ok
    excluded = {
        "gate state unknown (records without gate_call/gate_put)": int((~known_gate).sum()),
        "effective entry without a realised reward (no closed trade)": int(
            (known_gate & ~reward_ok).sum()
        ),
    }
    f = frame.loc[ok]
    g = gates[ok]
    probs = f[["prob_hold", "prob_call", "prob_put"]].to_numpy(np.float64)
    eff = probs * g
    eff[:, 0] = probs[:, 0] + (probs[:, 1:] * (1.0 - g[:, 1:])).sum(axis=1)
    a = a_eff[ok]
    r = r_all[ok]
    pi = deployed_actions(np.asarray(target_action, np.int64)[ok], g)
    q = np.asarray(q_hat, np.float64)[ok]
    n = len(f)
    rows = np.arange(n)
    mu_a = eff[rows, a]
    match = a == pi
    w = np.where(match & (mu_a > 0), 1.0 / np.where(mu_a > 0, mu_a, 1.0), 0.0)
    unsupported = float(np.mean(eff[rows, pi] <= 0)) if n else 0.0
    dr_i = q[rows, pi] + w * (r - q[rows, a])
    codes, n_days = _day_groups(f["session"].to_numpy())
    per_day = {
        "wr": np.bincount(codes, w * r, n_days),
        "w": np.bincount(codes, w, n_days),
        "dr": np.bincount(codes, dr_i, n_days),
        "n": np.bincount(codes, None, n_days).astype(np.float64),
    }
    ips_ci = snips_ci = dr_ci = None
    if n_days >= 2:
        ips_ci = _boot_days(per_day, lambda s: s["wr"] / s["n"], n_boot, seed)
        snips_ci = _boot_days(per_day, lambda s: s["wr"] / s["w"], n_boot, seed)
        dr_ci = _boot_days(per_day, lambda s: s["dr"] / s["n"], n_boot, seed)
    sw = float(w.sum())
    return {
        "n": int(n),
        "rows": int(n_all),
        "excluded": excluded,
        "gated_target_entries": int((np.asarray(target_action)[ok] != 0).sum() - (pi != 0).sum()),
        "unit": "dollars per decision cycle",
        "interval": SESSION_BLOCK,
        "ips": float((w * r).mean()) if n else None,
        "ips_ci95": ips_ci,
        "snips": float((w * r).sum() / sw) if sw > 0 else None,
        "snips_ci95": snips_ci,
        "dr": float(dr_i.mean()) if n else None,
        "dr_ci95": dr_ci,
        "logged_value": float(r.mean()) if n else None,
        "matched_rows": int(match.sum()),
        "effective_sample_size": float(sw**2 / (w**2).sum()) if sw > 0 else 0.0,
        "unsupported_share": unsupported,
    }


def anti_selection(
    pred: np.ndarray,
    realised: np.ndarray,
    sessions: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Spearman correlation of predicted Q and realised reward with a session-bootstrap CI.

    Rows of one session share overlapping label windows, so the interval resamples whole
    sessions (ranks are taken once; each replicate is the Pearson correlation of the ranks
    of the resampled sessions, from per-session sums). ``flag`` is true when the whole 95 %
    interval is below zero: higher Q means lower realised reward (the model anti-selects; do
    not deploy it, investigate the labels).
    """
    ok = np.isfinite(pred) & np.isfinite(realised)
    p, y = pred[ok], realised[ok]
    if len(p) < 10 or np.std(p) == 0 or np.std(y) == 0:
        return {"n": len(p), "spearman": None, "ci95": None, "flag": False}
    rho = float(spearmanr(p, y)[0])
    rp = pd.Series(p).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    codes, n_days = _day_groups(np.asarray(sessions)[ok])

    def per_day(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=n_days)

    sums = {
        "n": per_day(np.ones(len(rp))),
        "a": per_day(rp),
        "b": per_day(ry),
        "aa": per_day(rp * rp),
        "bb": per_day(ry * ry),
        "ab": per_day(rp * ry),
    }

    def corr(s: dict[str, np.ndarray]) -> np.ndarray:
        n = s["n"]
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = s["ab"] - s["a"] * s["b"] / n
            var = (s["aa"] - s["a"] ** 2 / n) * (s["bb"] - s["b"] ** 2 / n)
            return np.asarray(cov / np.sqrt(var))

    ci = _boot_days(sums, corr, n_boot, seed)
    return {
        "n": len(p),
        "sessions": n_days,
        "spearman": rho,
        "ci95": None if ci is None else [ci[0], ci[1]],
        "flag": ci is not None and ci[1] < 0,
    }


def evaluate_q_scorer(
    ds: QDataset,
    controller: QScorerController,
    *,
    rows: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every evaluation of ``controller``'s model on ``ds`` (optionally a subset of rows).

    Returns a JSON-ready dict: ``trade_rate``, per-head fit (``call``/``put``: correlation
    with the target, reliability by decile), ``missed_positive_ev``, ``anti_selection`` and
    ``ope``.
    """
    frame = ds.frame if rows is None else ds.frame.iloc[rows]
    x = ds.features(frame)
    r = controller._evaluate(x)  # the exact rule decide/decide_batch apply
    proposed = r["action"].astype(np.int64)
    gates = gate_matrix(frame)
    gates_known = bool(np.isfinite(gates).all())
    # the policy as deployed: a gated entry is a HOLD (the close window, the first minutes,
    # an open position, a cooldown); unknown gate states leave the proposal as it is
    action = deployed_actions(proposed, np.where(np.isfinite(gates), gates, 1.0))
    mean = r["mean"]
    out: dict[str, Any] = {
        "rows": len(frame),
        "gates_known": gates_known,
        "proposed_entries": int((proposed != 0).sum()),
        "gated_entries": int(((proposed != 0) & (action == 0)).sum()),
        "trade_rate": float(np.mean(action != 0)) if len(frame) else 0.0,
        "trades": {"call": int((action == 1).sum()), "put": int((action == 2).sum())},
    }
    chosen_pred = np.full(len(frame), np.nan)
    chosen_real = np.full(len(frame), np.nan)
    for k, head in enumerate(("call", "put")):
        y = frame[f"target_{head}"].to_numpy(np.float64)
        src = frame["source"].to_numpy()
        out[head] = {
            "vs_target": _corr(mean[:, k], y),
            "vs_ghost": _corr(mean[:, k], np.where(src == "ghost", y, np.nan)),
            "vs_realised_trades": _corr(mean[:, k], np.where(src == "trade", y, np.nan)),
            "reliability": reliability(mean[:, k], y),
        }
        acted = action == k + 1
        chosen_pred[acted] = mean[acted, k]
        chosen_real[acted] = y[acted]
    ys = frame[["target_call", "target_put"]].to_numpy(np.float64)
    best_y = np.nanmax(np.where(np.isfinite(ys), ys, -np.inf), axis=1)
    held = action == 0
    pos = held & np.isfinite(best_y) & (best_y > 0)
    out["missed_positive_ev"] = {
        "count": int(pos.sum()),
        "share_of_held": float(pos.sum() / max(held.sum(), 1)),
        "mean_reward": float(best_y[pos].mean()) if pos.any() else None,
    }
    acted_all = action != 0
    out["acted_unlabelled"] = int((acted_all & ~np.isfinite(chosen_real)).sum())
    out["acted_mean_target"] = (
        float(np.nanmean(chosen_real)) if np.isfinite(chosen_real).any() else None
    )
    # Anti-selection over every labelled (row, head): does a higher Q mean a lower reward?
    days = frame["session"].to_numpy()
    out["anti_selection"] = anti_selection(
        mean.ravel(), ys.ravel(), np.repeat(days, 2), n_boot=n_boot, seed=seed
    )
    out["anti_selection_acted"] = anti_selection(
        chosen_pred[acted_all], chosen_real[acted_all], days[acted_all], n_boot=n_boot, seed=seed
    )
    q_hat = np.column_stack([np.zeros(len(frame)), np.nan_to_num(mean, nan=0.0)])
    out["ope"] = off_policy_value(frame, proposed, q_hat, n_boot=n_boot, seed=seed)
    return out
