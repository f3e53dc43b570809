"""``zerodte config ...`` and ``zerodte presets ...`` through the real command tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from zerodte.cli.context import current_settings
from zerodte.cli.main import app
from zerodte.cli.state import CliState
from zerodte.config.fields import field_specs

TOKEN = "tok-SENTINEL-cli-55"


@pytest.fixture
def runner(clean_env: Path) -> CliRunner:
    return CliRunner()


def test_show_lists_every_key_with_source(runner: CliRunner, clean_env: Path) -> None:
    (clean_env / "cfg.toml").write_text("[exits]\nstop_loss_pct = 7.5\n", encoding="utf-8")
    result = runner.invoke(
        app, ["--config", "cfg.toml", "config", "show"], env={"TRADIER_TOKEN": TOKEN}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["key", "value", "source"]
    assert len(lines) == 1 + len(field_specs())
    row = next(line for line in lines if line.startswith("exits.stop_loss_pct "))
    assert row.split() == ["exits.stop_loss_pct", "7.5", "file:cfg.toml"]
    token_row = next(line for line in lines if line.startswith("broker.tradier_token "))
    assert token_row.split() == ["broker.tradier_token", "**********", "alias:TRADIER_TOKEN"]
    assert TOKEN not in result.output


def test_show_json_with_preset_and_env(runner: CliRunner) -> None:
    env = {"ZERODTE_EXITS__TAKE_PROFIT_PCT": "15", "ZERODTE_BROKER__TRADIER_TOKEN": TOKEN}
    result = runner.invoke(app, ["config", "show", "--json", "--preset", "q_scorer"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["settings"]["entry"]["controller"] == "q_scorer"
    assert data["settings"]["exits"]["take_profit_pct"] == 15.0
    assert data["sources"]["entry.controller"] == "preset:q_scorer"
    assert data["sources"]["exits.take_profit_pct"] == "env:ZERODTE_EXITS__TAKE_PROFIT_PCT"
    assert data["settings"]["broker"]["tradier_token"] == "**********"
    assert set(data["sources"]) == set(field_specs())
    assert TOKEN not in result.output


def test_show_changed_only(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["--preset", "null_market", "config", "show", "--changed", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["sources"] == {
        "data.source": "preset:null_market",
        "data.synthetic_edge": "preset:null_market",
    }
    assert data["settings"] == {"data": {"source": "synthetic", "synthetic_edge": 0.0}}
    plain = runner.invoke(app, ["config", "show", "--changed"])
    assert plain.output.strip() == "every setting has its default value"


def test_zerodte_config_env_feeds_show_and_context(runner: CliRunner, clean_env: Path) -> None:
    cfg = clean_env / "env.toml"
    cfg.write_text("[engine]\nseed = 9\n", encoding="utf-8")
    result = runner.invoke(app, ["config", "show", "--json"], env={"ZERODTE_CONFIG": str(cfg)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sources"]["engine.seed"] == f"file:{cfg}"
    # the settings of one invocation: loaded once from its root options, not shared
    ctx = typer.Context(get_command(app), obj=CliState(config_file=cfg, preset="conservative"))
    settings = current_settings(ctx)
    assert settings.engine.seed == 9 and settings.exits.stop_loss_pct == 6.0
    assert current_settings(ctx) is settings
    other = current_settings(typer.Context(get_command(app)))
    assert other is not settings and other.engine.seed != 9


def test_dotenv_in_working_directory_is_read(runner: CliRunner, clean_env: Path) -> None:
    (clean_env / ".env").write_text("SKIP_FRIDAY=yes\n", encoding="utf-8")
    result = runner.invoke(app, ["config", "show", "--changed"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split() == [
        "gates.skip_friday",
        "true",
        "dotenv-alias:SKIP_FRIDAY",
    ]


def test_config_errors_exit_2_with_suggestion(runner: CliRunner, clean_env: Path) -> None:
    (clean_env / "cfg.toml").write_text("[exits]\nstop_los_pct = 7\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", "cfg.toml", "config", "show"])
    assert result.exit_code == 2
    assert "did you mean exits.stop_loss_pct?" in result.output
    bad = runner.invoke(app, ["config", "show"], env={"ZERODTE_GATES__MAX_TRADES": "3"})
    assert bad.exit_code == 2
    assert "ZERODTE_GATES__MAX_TRADES_PER_DAY" in bad.output


def test_presets_list_and_show(runner: CliRunner) -> None:
    listed = runner.invoke(app, ["presets", "list"])
    assert listed.exit_code == 0, listed.output
    names = [line.split()[0] for line in listed.output.splitlines()[1:]]
    assert {"default", "conservative", "aggressive", "q_scorer", "null_market"} <= set(names)
    as_json = json.loads(runner.invoke(app, ["presets", "list", "--json"]).output)
    assert {p["name"] for p in as_json} == set(names)
    shown = runner.invoke(app, ["presets", "show", "null_market"])
    assert shown.exit_code == 0
    assert "synthetic_edge = 0.0" in shown.output
    missing = runner.invoke(app, ["presets", "show", "nul_market"])
    assert missing.exit_code == 2
    assert "did you mean 'null_market'?" in missing.output


def test_aliases_markdown_matches_module(runner: CliRunner) -> None:
    from zerodte.config.aliases import alias_table_markdown

    result = runner.invoke(app, ["config", "aliases", "--markdown"])
    assert result.exit_code == 0
    assert result.output.strip() == alias_table_markdown()
    plain = runner.invoke(app, ["config", "aliases"])
    assert "HARD_STOP_LOSS_PCT" in plain.output and "exits.stop_loss_pct" in plain.output


def _market_commands() -> list[tuple[str, ...]]:
    """Every command that takes the market options (it has ``--days``)."""
    out: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        elif any("--days" in getattr(p, "opts", ()) for p in getattr(cmd, "params", ())):
            out.append(path)

    walk(get_command(app), ())
    return out


def test_market_commands_accept_config_and_preset_after_the_command(
    runner: CliRunner, clean_env: Path
) -> None:
    commands = _market_commands()
    assert ("backtest",) in commands and ("q", "pipeline") in commands, commands
    (clean_env / "cfg.toml").write_text("[exits]\nstop_los_pct = 7\n", encoding="utf-8")
    for path in commands:
        # a bad file given after the command is read (and refused) before any work starts
        result = runner.invoke(app, [*path, "--config", "cfg.toml", "--days", "2"])
        assert result.exit_code == 2, (path, result.output)
        assert "did you mean exits.stop_loss_pct?" in result.output, (path, result.output)
        bad_preset = runner.invoke(app, [*path, "--preset", "no_such_preset", "--days", "2"])
        assert bad_preset.exit_code == 2, (path, bad_preset.output)
        assert "no_such_preset" in bad_preset.output, (path, bad_preset.output)
    (clean_env / "good.toml").write_text('[entry]\ncontroller = "random"\n', encoding="utf-8")
    args = ["backtest", "--config", "good.toml", "--days", "1", "--seed", "3", "--json"]
    ran = runner.invoke(app, args)
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["controller"] == "random"  # the file after the command
    # and nothing of that invocation reaches the next one
    plain = runner.invoke(app, ["config", "show", "--changed"])
    assert plain.output.strip() == "every setting has its default value", plain.output
