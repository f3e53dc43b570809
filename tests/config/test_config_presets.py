"""Shipped presets: listed, described, loadable, and none of them switches on live trading."""

from __future__ import annotations

import tomllib

import pytest

from zerodte.config import PresetInfo, list_presets, load_settings_with_sources, preset_text
from zerodte.config.presets import preset_names
from zerodte.errors import ConfigError

REQUIRED = {"default", "conservative", "aggressive", "q_scorer", "null_market"}


def test_required_presets_listed_with_descriptions() -> None:
    infos = list_presets()
    assert all(isinstance(i, PresetInfo) for i in infos)
    assert {i.name for i in infos} >= REQUIRED
    assert [i.name for i in infos] == sorted(i.name for i in infos)
    for info in infos:
        assert len(info.description) > 20, info
        assert preset_text(info.name).lstrip().startswith("#"), info.name


def test_no_live_preset() -> None:
    for name in preset_names():
        assert "live" not in name
        data = tomllib.loads(preset_text(name))
        broker = data.get("broker", {})
        assert broker.get("mode", "paper") == "paper", name
        assert broker.get("paper_trading", True) is True, name


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_preset_loads_and_is_attributed(name: str) -> None:
    data = tomllib.loads(preset_text(name))
    settings, sources = load_settings_with_sources(preset=name, env={}, dotenv=None)
    preset_keys = {f"{s}.{k}" for s, table in data.items() for k in table}
    assert {k for k, v in sources.items() if v == f"preset:{name}"} == preset_keys
    assert settings is not None


def test_preset_contents() -> None:
    q, _ = load_settings_with_sources(preset="q_scorer", env={}, dotenv=None)
    assert q.entry.controller == "q_scorer"
    assert q.entry.q_min_conf > 0
    null, _ = load_settings_with_sources(preset="null_market", env={}, dotenv=None)
    assert null.data.synthetic_edge == 0.0
    cons, _ = load_settings_with_sources(preset="conservative", env={}, dotenv=None)
    aggr, _ = load_settings_with_sources(preset="aggressive", env={}, dotenv=None)
    assert cons.exits.stop_loss_pct < aggr.exits.stop_loss_pct
    assert cons.gates.daily_loss_limit < aggr.gates.daily_loss_limit
    _settings, sources = load_settings_with_sources(preset="default", env={}, dotenv=None)
    assert set(sources.values()) == {"default"}


def test_preset_text_accepts_suffix_and_rejects_unknown() -> None:
    assert preset_text("default.toml") == preset_text("default")
    with pytest.raises(ConfigError, match=r"unknown preset 'agressive'; did you mean 'aggressive'"):
        preset_text("agressive")
    with pytest.raises(ConfigError, match=r"Available presets: aggressive, conservative"):
        preset_text("../settings")
