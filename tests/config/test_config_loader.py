"""Loading: precedence of sources, environment parsing, unknown keys and bad values."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.config import Settings, load_settings, load_settings_with_sources
from zerodte.config.fields import field_specs
from zerodte.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_only() -> None:
    settings, sources = load_settings_with_sources(env={}, dotenv=None)
    assert settings == Settings()
    assert set(sources) == set(field_specs())
    assert set(sources.values()) == {"default"}
    assert "exits.stop_loss_pct" in sources


def test_precedence_default_preset_file_dotenv_env(tmp_path: Path) -> None:
    key = "exits.stop_loss_pct"
    cfg = write(tmp_path / "cfg.toml", "[exits]\nstop_loss_pct = 7.0\n")
    dotenv = write(tmp_path / ".env", "ZERODTE_EXITS__STOP_LOSS_PCT=8.5\n")
    env = {"ZERODTE_EXITS__STOP_LOSS_PCT": "9.5"}

    steps: list[tuple[dict[str, object], float, str]] = [
        ({}, 8.0, "default"),
        ({"preset": "conservative"}, 6.0, "preset:conservative"),
        ({"preset": "conservative", "config_file": cfg}, 7.0, f"file:{cfg}"),
        (
            {"preset": "conservative", "config_file": cfg, "dotenv": dotenv},
            8.5,
            "dotenv:ZERODTE_EXITS__STOP_LOSS_PCT",
        ),
        (
            {"preset": "conservative", "config_file": cfg, "dotenv": dotenv, "env": env},
            9.5,
            "env:ZERODTE_EXITS__STOP_LOSS_PCT",
        ),
    ]
    for kwargs, value, source in steps:
        call = {"env": {}, "dotenv": None, **kwargs}
        settings, sources = load_settings_with_sources(**call)  # type: ignore[arg-type]
        assert settings.exits.stop_loss_pct == value, kwargs
        assert sources[key] == source, kwargs
    # keys the later layers do not touch keep the earlier layer's value and source
    assert sources["gates.max_trades_per_day"] == "preset:conservative"
    assert settings.gates.max_trades_per_day == 4


def test_config_and_preset_from_environment(tmp_path: Path) -> None:
    cfg = write(tmp_path / "cfg.toml", "[gates]\nmax_positions = 3\n")
    other = write(tmp_path / "other.toml", "[gates]\nmax_positions = 4\n")
    env = {"ZERODTE_CONFIG": str(cfg), "ZERODTE_PRESET": "null_market"}
    settings, sources = load_settings_with_sources(env=env, dotenv=None)
    assert settings.gates.max_positions == 3
    assert settings.data.synthetic_edge == 0.0
    assert sources["data.synthetic_edge"] == "preset:null_market"
    # explicit arguments win over the variables
    settings = load_settings(other, preset="aggressive", env=env, dotenv=None)
    assert settings.gates.max_positions == 4
    assert settings.data.synthetic_edge == 1.0
    assert settings.exits.stop_loss_pct == 12.0


def test_zerodte_config_from_dotenv(tmp_path: Path) -> None:
    cfg = write(tmp_path / "cfg.toml", "[engine]\nseed = 11\n")
    dotenv = write(tmp_path / ".env", f"ZERODTE_CONFIG={cfg}\n")
    assert load_settings(env={}, dotenv=dotenv).engine.seed == 11


def test_missing_dotenv_is_skipped(tmp_path: Path) -> None:
    assert load_settings(env={}, dotenv=tmp_path / "absent.env") == Settings()


def test_explicit_env_beats_alias_and_warns_without_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {"ZERODTE_EXITS__STOP_LOSS_PCT": "10.25", "HARD_STOP_LOSS_PCT": "-6.75"}
    with caplog.at_level(logging.WARNING, logger="zerodte.config"):
        settings, sources = load_settings_with_sources(env=env, dotenv=None)
    assert settings.exits.stop_loss_pct == 10.25
    assert sources["exits.stop_loss_pct"] == "env:ZERODTE_EXITS__STOP_LOSS_PCT"
    assert "HARD_STOP_LOSS_PCT" in caplog.text
    assert "ZERODTE_EXITS__STOP_LOSS_PCT" in caplog.text
    assert "10.25" not in caplog.text and "6.75" not in caplog.text


def test_process_alias_beats_dotenv_explicit(tmp_path: Path) -> None:
    dotenv = write(tmp_path / ".env", "ZERODTE_EXITS__STOP_LOSS_PCT=9\nSKIP_MONDAY=true\n")
    settings, sources = load_settings_with_sources(env={"HARD_STOP_LOSS_PCT": "-5"}, dotenv=dotenv)
    assert settings.exits.stop_loss_pct == 5.0
    assert sources["exits.stop_loss_pct"] == "alias:HARD_STOP_LOSS_PCT"
    assert settings.gates.skip_monday is True
    assert sources["gates.skip_monday"] == "dotenv-alias:SKIP_MONDAY"


def test_dotenv_explicit_beats_dotenv_alias(tmp_path: Path) -> None:
    dotenv = write(tmp_path / ".env", "HARD_STOP_LOSS_PCT=-5\nZERODTE_EXITS__STOP_LOSS_PCT=9\n")
    settings, sources = load_settings_with_sources(env={}, dotenv=dotenv)
    assert settings.exits.stop_loss_pct == 9.0
    assert sources["exits.stop_loss_pct"] == "dotenv:ZERODTE_EXITS__STOP_LOSS_PCT"


def test_dotenv_is_read_literally(tmp_path: Path) -> None:
    dotenv = write(tmp_path / ".env", "ZERODTE_ENGINE__RUNS_DIR=${HOME}/runs\n")
    assert str(load_settings(env={"HOME": "/x"}, dotenv=dotenv).engine.runs_dir) == "${HOME}/runs"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("FALSE", False), ("1", True), ("0", False), ("yes", True), ("No", False)],
)
def test_env_bool_words(text: str, expected: bool) -> None:
    settings = load_settings(env={"ZERODTE_GATES__PDT_ENABLED": text}, dotenv=None)
    assert settings.gates.pdt_enabled is expected


def test_env_values_parsed_by_field_type() -> None:
    env = {
        "ZERODTE_GATES__DAY_OF_WEEK_FILTER": "MON,FRI",
        "ZERODTE_QSCORER__HORIZONS": "[5, 10]",
        "ZERODTE_MODELS__TREE_THRESHOLDS_PCT": "0.2,0.4",
        "ZERODTE_DATA__SYMBOLS": "SPY",
        "ZERODTE_ENGINE__MAX_CYCLES": "120",
        "ZERODTE_QSCORER__EMBARGO_MINUTES": "none",
        "ZERODTE_DATA__SYNTHETIC_START": "2023-06-01",
        "ZERODTE_DATA__DATA_DIR": "/tmp/d",
        "zerodte_costs__fee_per_contract": "0.5",
        "ZERODTE_BROKER__MODE": "paper",
    }
    s = load_settings(env=env, dotenv=None)
    assert s.gates.day_of_week_filter == ("MON", "FRI")
    assert s.qscorer.horizons == (5, 10)
    assert s.models.tree_thresholds_pct == (0.2, 0.4)
    assert s.data.symbols == ("SPY",)
    assert s.engine.max_cycles == 120
    assert s.qscorer.embargo_minutes is None
    assert s.data.synthetic_start == date(2023, 6, 1)
    assert s.data.data_dir == Path("/tmp/d")
    assert s.costs.fee_per_contract == 0.5
    empty = load_settings(env={"ZERODTE_GATES__DAY_OF_WEEK_FILTER": ""}, dotenv=None)
    assert empty.gates.day_of_week_filter == ()


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_env_float_round_trip(value: float) -> None:
    env = {"ZERODTE_EXITS__STOP_LOSS_PCT": repr(value)}
    assert load_settings(env=env, dotenv=None).exits.stop_loss_pct == value


def test_unrelated_environment_ignored() -> None:
    env = {"PATH": "/bin", "HOME": "/root", "STOP_LOSS": "x"}
    assert load_settings(env=env, dotenv=None) == Settings()


# --- unknown names -------------------------------------------------------------------------


def test_unknown_file_key_suggests(tmp_path: Path) -> None:
    cfg = write(tmp_path / "cfg.toml", "[exits]\nstop_los_pct = 7\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={}, dotenv=None)
    assert str(info.value) == (
        f"file {cfg}: unknown key exits.stop_los_pct; did you mean exits.stop_loss_pct?"
    )


def test_unknown_file_section_and_misplaced_keys_all_listed(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "cfg.toml",
        "stop_loss_pct = 7\n[exit]\nstop_loss_pct = 7\n[gates]\nstop_loss_pct = 7\n",
    )
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={}, dotenv=None)
    text = str(info.value)
    assert "unknown key stop_loss_pct; did you mean exits.stop_loss_pct?" in text
    assert "unknown section [exit]; did you mean [exits]?" in text
    assert "unknown key gates.stop_loss_pct; did you mean exits.stop_loss_pct?" in text


def test_section_given_as_value(tmp_path: Path) -> None:
    cfg = write(tmp_path / "cfg.toml", "exits = 5\n")
    with pytest.raises(ConfigError, match=r"exits is a section"):
        load_settings(cfg, env={}, dotenv=None)


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("ZERODTE_EXITS__STOP_LOS_PCT", "ZERODTE_EXITS__STOP_LOSS_PCT"),
        ("ZERODTE_EXITS_STOP_LOSS_PCT", "ZERODTE_EXITS__STOP_LOSS_PCT"),
        ("ZERODTE_EXIT__TAKE_PROFIT_PCT", "ZERODTE_EXITS__TAKE_PROFIT_PCT"),
        ("ZERODTE_CONFIGG", "ZERODTE_CONFIG"),
    ],
)
def test_unknown_env_suggests(name: str, suggestion: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={name: "1"}, dotenv=None)
    assert str(info.value) == (f"environment: unknown variable {name}; did you mean {suggestion}?")


def test_unknown_dotenv_variable_names_the_file(tmp_path: Path) -> None:
    dotenv = write(tmp_path / ".env", "ZERODTE_GATES__MAX_POSITION=2\n")
    with pytest.raises(ConfigError, match=r"dotenv .*\.env: unknown variable .*MAX_POSITIONS\?"):
        load_settings(env={}, dotenv=dotenv)


def test_unknown_preset_suggests() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown preset 'conservativ'; did you mean 'conservative'"
    ):
        load_settings(preset="conservativ", env={}, dotenv=None)


# --- bad values ----------------------------------------------------------------------------


def test_bad_value_names_key_value_source_and_allowed() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"ZERODTE_EXITS__STOP_LOSS_PCT": "-3"}, dotenv=None)
    text = str(info.value)
    assert "exits.stop_loss_pct = '-3'" in text
    assert "from env:ZERODTE_EXITS__STOP_LOSS_PCT" in text
    assert "greater than 0" in text
    assert "allowed: a number, > 0" in text


def test_every_bad_field_listed(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "cfg.toml",
        '[broker]\nmode = "demo"\n[dashboard]\nport = 0\n[gates]\nday_of_week_filter = ["SAT"]\n',
    )
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={"ZERODTE_GATES__PDT_ENABLED": "maybe"}, dotenv=None)
    text = str(info.value)
    source = f"(from file:{cfg})"
    assert f"broker.mode = 'demo' {source}" in text
    assert "one of 'paper', 'live'" in text
    assert f"dashboard.port = 0 {source}" in text and ">= 1 and <= 65535" in text
    assert f"gates.day_of_week_filter[0] = 'SAT' {source}" in text
    assert "gates.pdt_enabled = 'maybe' (from env:ZERODTE_GATES__PDT_ENABLED)" in text
    assert "true/false" in text


def test_cross_field_check_names_the_sources(tmp_path: Path) -> None:
    cfg = write(tmp_path / "cfg.toml", "[exits]\ntrailing_activation_pct = 3.0\n")
    env = {"TRAILING_STOP_PCT": "3.5"}
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env=env, dotenv=None)
    text = str(info.value)
    assert "exits.trailing_stop_pct (3.5) must be smaller than" in text
    assert f"exits.trailing_activation_pct from file:{cfg}" in text
    assert "exits.trailing_stop_pct from alias:TRAILING_STOP_PCT" in text


def test_live_needs_both_switches() -> None:
    with pytest.raises(ConfigError, match="paper_trading is true"):
        load_settings(env={"ZERODTE_BROKER__MODE": "live"}, dotenv=None)
    live = load_settings(
        env={"ZERODTE_BROKER__MODE": "live", "PAPER_TRADING": "false"}, dotenv=None
    )
    assert live.broker.mode == "live" and live.broker.paper_trading is False


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_settings(tmp_path / "nope.toml", env={}, dotenv=None)
    with pytest.raises(ConfigError, match=r"ZERODTE_CONFIG"):
        load_settings(env={"ZERODTE_CONFIG": str(tmp_path / "nope.toml")}, dotenv=None)
    bad = write(tmp_path / "bad.toml", "[exits\nstop_loss_pct = 7\n")
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 1"):
        load_settings(bad, env={}, dotenv=None)
