"""Anti-selection check: rank correlation of Q with realised reward, sessions resampled."""

from __future__ import annotations

import numpy as np

from zerodte.qscorer.evaluate import anti_selection


def _sessions(n_days: int, per_day: int) -> np.ndarray:
    return np.repeat(np.arange(n_days), per_day)


def test_anti_selection_flags_a_model_that_ranks_backwards() -> None:
    rng = np.random.default_rng(1)
    days = _sessions(40, 50)
    reward = rng.normal(size=len(days))
    pred = -reward + 0.5 * rng.normal(size=len(days))
    out = anti_selection(pred, reward, days, n_boot=500)
    assert out["flag"] is True
    assert out["spearman"] < -0.8 and out["ci95"][1] < 0
    assert out["sessions"] == 40


def test_anti_selection_does_not_flag_a_shared_daily_shock() -> None:
    # Within a day every row shares one shock in both Q and reward (overlapping labels);
    # the days are independent and unrelated, so there is no anti-selection. Their sample
    # correlation happens to be -0.26 (seed 3): a bootstrap over rows would see 2,000
    # "independent" points and flag it; over 20 sessions the interval is honestly wide.
    rng = np.random.default_rng(3)
    days = _sessions(20, 100)
    day_q, day_r = rng.normal(size=20), rng.normal(size=20)
    pred = day_q[days] + 0.05 * rng.normal(size=len(days))
    reward = day_r[days] + 0.05 * rng.normal(size=len(days))
    out = anti_selection(pred, reward, days, n_boot=500)
    lo, hi = out["ci95"]
    assert lo < out["spearman"] < hi
    assert hi - lo > 0.3, out  # honest width for 20 independent days
    assert out["spearman"] < -0.1
    assert out["flag"] is False


def test_anti_selection_ignores_missing_rows_and_needs_variation() -> None:
    days = _sessions(5, 4)
    pred = np.arange(20, dtype=float)
    reward = np.where(np.arange(20) % 3 == 0, np.nan, pred)
    out = anti_selection(pred, reward, days, n_boot=200)
    assert out["n"] == int(np.isfinite(reward).sum())
    assert out["spearman"] > 0.99 and out["flag"] is False
    flat = anti_selection(np.ones(20), reward, days)
    assert flat["spearman"] is None and flat["flag"] is False


def test_deflated_sharpe_counts_distinct_trials_on_one_window(monkeypatch) -> None:
    """Re-runs of a configuration are not new trials, and the Sharpe ratios whose variance
    deflates the winner come from the winner's window only."""
    import zerodte.qscorer.optimize as opt

    calls: dict[str, object] = {}
    rng = np.random.default_rng(0)

    def fake_run(settings, md, loaded, params, stage):  # type: ignore[no-untyped-def]
        base = params["q_threshold"] + (100.0 if stage == "coarse" else 0.0)
        daily = rng.normal(base * 1e-4, 1e-3, 60)
        return opt.Trial(
            dict(params),
            stage,
            50,
            float(daily.sum()),
            float(daily.mean() / daily.std(ddof=1)),
            daily,
        )

    real = opt.deflated_sharpe

    def spy(sr, n_obs, n_trials, var, *moments):  # type: ignore[no-untyped-def]
        calls["n_trials"], calls["var"] = n_trials, var
        return real(sr, n_obs, n_trials, var, *moments)

    monkeypatch.setattr(opt, "_run", fake_run)
    monkeypatch.setattr(opt, "deflated_sharpe", spy)

    class W:
        def __init__(self, days: list[int]) -> None:
            self.sessions = days

    grid = {"q_threshold": (0.0, 1.0, 1.0, 2.0), "q_min_conf": (0.0,), "q_min_abs_ret": (0.0,)}
    res = opt.optimize_thresholds(None, None, W([1, 2]), W([3, 4]), grid=grid, top_k=2)  # type: ignore[arg-type]
    assert res["n_trials"] == 3 == calls["n_trials"]  # the duplicate 1.0 counts once
    b = [t["sharpe_daily"] for t in res["trials"] if t["stage"] == "window_b"]
    assert calls["var"] == np.var(b, ddof=1)


def _logged(n: int, gate_call: np.ndarray, action: np.ndarray, reward: np.ndarray):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame(
        {
            "session": np.repeat(np.arange(n // 10), 10),
            "action": action,
            "prob_hold": 0.9,
            "prob_call": 0.05,
            "prob_put": 0.05,
            "reward": reward,
            "gate_call": gate_call,
            "gate_put": gate_call,
        }
    )


def test_ope_scores_a_gated_row_as_the_gates_outcome() -> None:
    """Where the gates let no entry in (the close window, an open position), every policy
    holds: the value is exactly 0, whatever the model predicts for an entry there."""
    from zerodte.qscorer.evaluate import off_policy_value

    n = 200
    closed = _logged(n, np.zeros(n), np.zeros(n, dtype=int), np.zeros(n))
    q_hat = np.column_stack([np.zeros(n), np.full(n, 5.0), np.full(n, -3.0)])
    out = off_policy_value(closed, np.ones(n, dtype=int), q_hat, n_boot=200)
    assert out["ips"] == 0.0 and out["snips"] == 0.0 and out["dr"] == 0.0
    assert out["gated_target_entries"] == n
    # a logged call the gate vetoed is the gate's outcome (a HOLD), never the call's
    action = np.where(np.arange(n) % 4 == 0, 1, 0)
    vetoed = _logged(n, np.zeros(n), action, np.zeros(n))
    out = off_policy_value(vetoed, np.ones(n, dtype=int), q_hat, n_boot=200)
    assert out["dr"] == 0.0 and out["effective_sample_size"] > 0.9 * n


def test_ope_is_unbiased_for_the_deployed_policy() -> None:
    """Half the rows gated; a call pays 10 where it is allowed. The deployed always-call
    policy is worth 5 per cycle; IPS and DR (with a wrong model) find it on average."""
    from zerodte.qscorer.evaluate import off_policy_value

    rng = np.random.default_rng(0)
    n, est = 4000, {"ips": [], "dr": []}
    for _ in range(20):
        gate = (rng.random(n) < 0.5).astype(float)
        u = rng.random(n)
        action = np.where(u < 0.9, 0, np.where(u < 0.95, 1, 2))
        reward = np.where((action == 1) & (gate == 1), 10.0, 0.0)
        reward = np.where((action == 2) & (gate == 1), -10.0, reward)
        q_hat = np.column_stack([np.zeros(n), np.full(n, 2.0), np.zeros(n)])
        out = off_policy_value(
            _logged(n, gate, action, reward), np.ones(n, dtype=int), q_hat, n_boot=50
        )
        est["ips"].append(out["ips"])
        est["dr"].append(out["dr"])
    assert abs(np.mean(est["ips"]) - 5.0) < 0.5
    assert abs(np.mean(est["dr"]) - 5.0) < 0.5


def test_rows_without_gate_state_or_reward_are_excluded_and_counted() -> None:
    from zerodte.qscorer.evaluate import off_policy_value

    n = 100
    gate = np.ones(n)
    gate[:10] = np.nan
    reward = np.zeros(n)
    action = np.zeros(n, dtype=int)
    action[10:15] = 1
    reward[10:15] = np.nan  # entries sent, no closed trade
    out = off_policy_value(
        _logged(n, gate, action, reward), np.zeros(n, dtype=int), np.zeros((n, 3))
    )
    ex = out["excluded"]
    assert out["n"] == 85 and out["rows"] == 100
    assert sorted(ex.values()) == [5, 10]
