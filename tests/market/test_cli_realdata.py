"""The CLI never hands a user synthetic data they did not ask for, and --json is JSON."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_tree import cli_commands
from zerodte.cli.main import app
from zerodte.market.store import ParquetStore
from zerodte.market.synthetic import generate_market

runner = CliRunner()


def _strict_json(text: str) -> dict[str, object]:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    out: dict[str, object] = json.loads(text, parse_constant=refuse)
    return out


@pytest.fixture
def real_store(tmp_path: Path) -> Path:
    """A store labelled as real (a file import) with SPY and VIX minutes."""
    bars = generate_market(date(2024, 3, 4), 2, seed=8)
    ParquetStore(tmp_path / "real").write_many(
        {"SPY": bars["SPY"], "VIX": bars["VIX"]}, "file:minutes.csv"
    )
    return tmp_path / "real"


def test_an_empty_named_data_dir_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "typo"
    res = runner.invoke(app, ["backtest", "--controller", "random", "--data-dir", str(empty)])
    assert res.exit_code == 2
    assert "holds no market data" in res.stderr and res.stdout == ""
    assert not (empty / "bars").exists()


# A power study runs on synthetic seeds by construction (its --seeds name them).
SYNTHETIC_ONLY = {"q power"}


def test_every_command_that_loads_market_data_takes_data_dir(tmp_path: Path) -> None:
    """A command with a market window (--days or --start) also takes --data-dir, and a named
    empty store stops it with the same message as backtest."""
    windowed = {}
    for name, cmd in cli_commands():
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        if {"--days", "--start"} & opts and name not in SYNTHETIC_ONLY:
            windowed[name] = "--data-dir" in opts
    assert {"backtest", "compare", "train ppo", "train bandit", "q train"} <= set(windowed)
    assert [name for name, has in windowed.items() if not has] == []
    empty = tmp_path / "typo"
    for args in (["compare"], ["train", "ppo"], ["demo", "--skip-pipeline"]):
        res = runner.invoke(app, [*args, "--data-dir", str(empty)])
        assert res.exit_code == 2, (args, res.output)
        assert "holds no market data" in res.stderr and not (empty / "bars").exists()
        assert "--seed N on the commands that take it" in res.stderr  # demo has no --seed


def test_generate_refuses_to_merge_into_a_real_store(real_store: Path) -> None:
    before = ParquetStore(real_store).data_hash()
    res = runner.invoke(app, ["data", "generate", "--days", "2", "--data-dir", str(real_store)])
    assert res.exit_code == 2 and "synthetic and real data never share a store" in res.stderr
    assert ParquetStore(real_store).data_hash() == before


def test_backtest_json_names_the_store_and_demo_uses_it(real_store: Path) -> None:
    res = runner.invoke(
        app, ["backtest", "--controller", "random", "--data-dir", str(real_store), "--json"]
    )
    assert res.exit_code == 0, res.stderr
    summary = _strict_json(res.stdout)
    ds = summary["data_source"]
    assert isinstance(ds, dict) and ds["kind"] == "store" and ds["synthetic"] is False
    assert ds["path"] == str(real_store) and ds["vix"] == "1min" and ds["sessions"] == 2
    demo = runner.invoke(app, ["--data-dir", str(real_store), "demo", "--json", "--skip-pipeline"])
    assert demo.exit_code == 0, demo.stderr
    assert _strict_json(demo.stdout)["data_source"]["path"] == str(real_store)  # type: ignore[index]


def test_verify_says_the_store_is_empty(tmp_path: Path) -> None:
    res = runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path / "none")])
    assert res.exit_code == 1 and "the store is empty" in res.stdout
