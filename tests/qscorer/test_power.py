"""Power study: rows per seed, totals with Wilson intervals, oracle, local and Dask executors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from zerodte.config import load_settings, with_overrides
from zerodte.errors import ConfigError
from zerodte.qscorer.power import parse_seeds, power_study, totals, wilson

SMALL = {"qscorer.ensemble_size": 2, "qscorer.cost_trees": 20}


def _settings(tmp_path):  # type: ignore[no-untyped-def]
    s = load_settings(preset="q_scorer", env={}, dotenv=None)
    return with_overrides(s, {**SMALL, "engine.runs_dir": str(tmp_path / "runs")})


def test_seed_lists_and_wilson() -> None:
    assert parse_seeds("1-3,7") == [1, 2, 3, 7]
    assert parse_seeds("5") == [5]
    for bad in ("", "a-b", "3-1"):
        with pytest.raises(ConfigError, match="seed"):
            parse_seeds(bad)
    lo, hi = wilson(16, 20)
    assert lo == pytest.approx(0.584, abs=1e-3) and hi == pytest.approx(0.919, abs=1e-3)
    assert wilson(0, 0) is None


def test_totals_count_power_and_false_positives() -> None:
    def row(edge: float, sig: bool, own: bool, beats: bool) -> dict:  # type: ignore[type-arg]
        return {
            "edge": edge, "seed": 1, "significant": sig, "own_positive": own,
            "beats_baseline": beats, "pnl": 100.0, "trades": 10, "fees": 13.0,
            "oracle_pnl": 200.0, "oracle_trades": 10, "oracle_efficiency": 0.5,
            "anti_selection_acted_spearman": 0.1, "anti_selection_acted_flag": False,
        }  # fmt: skip

    rows = [row(1, True, True, True), row(1, False, True, False), row(0, False, False, True)]
    rows += [row(0, False, False, False)]
    t = totals(rows)
    assert t["edge_1"]["power"] == 0.5 and t["edge_1"]["power_count"] == 1
    # beating the baseline alone at edge 0 is a false positive
    assert t["edge_0"]["false_positive_rate"] == 0.5
    assert t["edge_1"]["oracle_efficiency_pooled"] == 0.5


@pytest.mark.slow
def test_local_and_dask_executors_agree(tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    s = _settings(tmp_path)
    kw = {"days": 24, "cycles": 12 * 390, "n_boot": 100, "workers": 1}
    local = power_study(s, [3], [1.0], out_dir=tmp_path / "local", **kw)  # type: ignore[arg-type]
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        address = cluster.scheduler_address.removeprefix("tcp://")
        remote = power_study(
            s, [3], [1.0], out_dir=tmp_path / "dask", executor=f"dask://{address}", **kw
        )  # type: ignore[arg-type]
    keys = ("trades", "per_trade_pnl", "per_trade_pnl_ci95", "oracle_trades", "significant")
    assert [r[k] for r in local["rows"] for k in keys] == [
        r[k] for r in remote["rows"] for k in keys
    ]
    r = local["rows"][0]
    assert r["oracle_trades"] > 0 and r["oracle_per_trade_pnl"] is not None
    assert local["totals"]["edge_1"]["power_ci95"] is not None


def test_power_cli_refuses_bad_input_without_a_traceback() -> None:
    from zerodte.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["q", "power", "--seeds", "x-y"])
    assert res.exit_code == 2
    assert "seed" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["q", "power", "--seeds", "1", "--executor", "ray://x"])
    assert res.exit_code == 2 and "executor" in res.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cycles", "0"], "--cycles"),
        (["--workers", "0"], "--workers"),
        (["--n-boot", "0"], "--n-boot"),
        (["--days", "0"], "--days"),
        (["--baseline", "nope"], "nope"),
    ],
)
def test_power_cli_refuses_bad_counts_and_baselines_before_any_run(
    tmp_path, extra: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    """Counts below one and an unknown baseline are flag errors, never a run that fails late."""
    from zerodte.cli.main import app

    out = tmp_path / "p"
    res = CliRunner().invoke(app, ["q", "power", "--seeds", "1", "--out", str(out), *extra])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert message in res.output
    assert not out.exists()
