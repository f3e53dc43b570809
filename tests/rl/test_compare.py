"""``zerodte compare``: on an edge-0 market no controller is significant, alone or against
the reference; the command prints the table, the number compared and the equity plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import Settings, with_overrides
from zerodte.market.loading import load_market
from zerodte.rl.compare import compare_controllers

CONTROLLERS = ["momentum", "random", "bandit", "consensus", "contrarian"]
# A short HMM training window, so that the regime (and the bandit) is known in 30 sessions.
SHORT_REGIME = {"models.regime_context": True, "models.hmm_train_days": 10}


def _settings(tmp_path: Path) -> Settings:
    return with_overrides(
        Settings(),
        {
            **SHORT_REGIME,
            "engine.runs_dir": tmp_path / "runs",
            "store.path": tmp_path / "runs" / "z.db",
        },
    )


def test_no_controller_is_significant_on_an_edge_0_market(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    md = load_market(s, days=30, seed=5, edge=0.0)
    result = compare_controllers(s, md, CONTROLLERS, n_boot=300)
    payload = result.to_dict()
    assert payload["n_compared"] == len(CONTROLLERS)
    rows = {r["controller"]: r for r in payload["table"]}
    assert set(rows) == set(CONTROLLERS)
    traded = [name for name, r in rows.items() if r["trades"] > 0]
    assert {"momentum", "random", "bandit"} <= set(traded), rows  # not a vacuous table
    for name, r in rows.items():
        ci = r["per_trade_pnl_ci95"]
        assert not r["significant"] and (ci is None or ci[0] <= 0), (name, ci)
        paired = r["diff_vs_reference_ci95"]
        assert paired is None or paired[0] <= 0, (name, "better than momentum", paired)
        # the verdicts are family-wise (Bonferroni): their intervals hold the 95 % ones
        for ci95, fw in ((ci, r["per_trade_pnl_ci_familywise"]),
                         (paired, r["diff_vs_reference_ci_familywise"])):  # fmt: skip
            assert (ci95 is None) == (fw is None), (name, ci95, fw)
            if fw is not None:
                assert fw[0] <= ci95[0] and fw[1] >= ci95[1], (name, ci95, fw)
        # worse than the reference can be real at edge 0 (more friction per trade); better
        # cannot
        assert not r["diff_significant"] or r["diff_vs_reference_ci_familywise"][1] < 0, name
    assert payload["familywise_alpha"] == 0.05
    assert any(r["diff_vs_reference_ci_familywise"] for r in rows.values())
    # the random controller is the stochastic logging run; deterministic targets get OPE
    assert payload["logging_controller"] == "random"
    assert rows["momentum"]["ope_snips"] is not None


def test_compare_command_prints_json_and_plots(tmp_path: Path) -> None:
    env = {
        "ZERODTE_ENGINE__RUNS_DIR": str(tmp_path / "runs"),
        "ZERODTE_STORE__PATH": str(tmp_path / "runs" / "z.db"),
        "ZERODTE_MODELS__HMM_TRAIN_DAYS": "10",
    }
    out = tmp_path / "plots"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            "--controllers",
            "random,consensus",
            "--days",
            "12",
            "--seed",
            "3",
            "--edge",
            "0",
            "--n-boot",
            "100",
            "--out",
            str(out),
            "--json",
        ],
        env=env,
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["n_compared"] == 3  # the reference runs too
    assert [r["controller"] for r in payload["table"]] == ["momentum", "random", "consensus"]
    assert payload["data_source"].startswith("synthetic(seed=3")
    assert (out / "compare_equity.png").stat().st_size > 0
    store = tmp_path / "data"
    bad = CliRunner().invoke(
        app,
        ["compare", "--controllers", "bandti", "--days", "3"],
        env={**env, "ZERODTE_DATA__DATA_DIR": str(store)},
    )
    assert bad.exit_code == 2 and "bandit" in bad.stderr
    assert not store.exists()  # refused before a market was generated into the store
    for extra, message in (
        (["--controllers", " , "], "names no controller"),
        (["--n-boot", "0"], "--n-boot"),
    ):
        bad = CliRunner().invoke(
            app,
            ["compare", "--days", "3", *extra],
            env={**env, "ZERODTE_DATA__DATA_DIR": str(store)},
        )
        assert bad.exit_code == 2 and message in bad.stderr, bad.output
        assert not store.exists()


def test_a_claim_over_several_windows_widens_each_windows_family(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    md = load_market(s, days=8, seed=3, edge=0.0)
    one = compare_controllers(s, md, ["random"], n_boot=400).to_dict()
    three = compare_controllers(s, md, ["random"], n_boot=400, windows=3).to_dict()
    assert (one["family_windows"], three["family_windows"]) == (1, 3)
    (r1,) = [r for r in one["table"] if r["controller"] == "random"]
    (r3,) = [r for r in three["table"] if r["controller"] == "random"]
    for key in ("per_trade_pnl_ci_familywise", "diff_vs_reference_ci_familywise"):
        narrow, wide = r1[key], r3[key]
        assert wide[0] <= narrow[0] and wide[1] >= narrow[1], (key, narrow, wide)
        assert wide[1] - wide[0] > narrow[1] - narrow[0], key
    assert r1["per_trade_pnl_ci95"] == r3["per_trade_pnl_ci95"]  # the 95 % one is unchanged
    with pytest.raises(ValueError, match="windows=0"):
        compare_controllers(s, md, ["random"], windows=0)
