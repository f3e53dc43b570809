"""The research core's must-hold: the default pipeline finds the planted edge across markets.

20 synthetic years (seeds 1-20, the development seeds), each run through the whole pipeline
with the ``q_scorer`` preset (250 sessions: 100 logged by the exploratory policy, 150 out of
sample), at edge 1 and at edge 0. Measured figures and the seeds nothing was tuned on are
in docs/qscorer.md and benchmarks/RESULTS.md (``benchmarks/bench_power.py``).
"""

from __future__ import annotations

import pytest

from zerodte.config import load_settings, with_overrides
from zerodte.qscorer.power import power_study


@pytest.mark.slow
def test_power_and_false_positives_on_the_development_seeds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = with_overrides(
        load_settings(preset="q_scorer", env={}, dotenv=None),
        {"engine.runs_dir": str(tmp_path / "runs")},
    )
    res = power_study(s, list(range(1, 21)), [1.0, 0.0], out_dir=tmp_path / "p", workers=2)
    planted, null = res["totals"]["edge_1"], res["totals"]["edge_0"]
    print({k: planted[k] for k in ("power", "power_ci95", "trades", "oracle_efficiency_pooled")})
    print({k: null[k] for k in ("false_positive_rate", "false_positive_rate_ci95", "trades")})
    assert planted["power"] >= 0.8, planted
    assert null["false_positive_rate"] <= 0.05, null
    # the anti-selection check among acted rows is significantly negative on no seed
    assert planted["anti_selection_flagged"] == 0 and null["anti_selection_flagged"] == 0
    assert planted["oracle_trades"] > 0 and null["oracle_trades"] == 0  # no drift, no oracle
