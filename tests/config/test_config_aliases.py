"""Legacy aliases: every one sets its key, conversions hold, and the docs table matches."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from zerodte.config import ALIASES, Alias, Settings, load_settings_with_sources
from zerodte.config.aliases import alias_table_markdown
from zerodte.config.fields import field_specs
from zerodte.errors import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _value(settings: Settings, key: str) -> Any:
    node: Any = settings
    for part in key.split("."):
        node = getattr(node, part)
    return node.get_secret_value() if isinstance(node, SecretStr) else node


def _sample(alias: Alias) -> str:
    """Text for the alias that is valid for its key and differs from the default."""
    spec = alias.spec
    default = spec.default
    annotation = spec.annotation
    if annotation is bool:
        return "false" if default else "true"
    if annotation is float:
        # probabilities (entry.q_min_conf) are bounded by 1
        return str(default + (0.5 if "<= 1" in spec.bounds else 1.5))
    if annotation is int:
        return str(default + 2)
    if alias.key == "gates.day_of_week_filter":
        return "MON,FRI"
    if alias.key == "engine.max_cycles":
        return "250"
    if alias.key == "entry.controller":
        return "q_scorer"
    if alias.key == "store.url":  # store.url must be a database URL
        return "postgresql://sample@localhost/sample"
    if SecretStr in get_args(annotation):
        return "sample-secret-value"
    return "sample/value"


@pytest.mark.parametrize("alias", ALIASES, ids=[a.name for a in ALIASES])
def test_alias_sets_its_key_like_the_explicit_variable(alias: Alias) -> None:
    text = _sample(alias)
    via_alias, sources = load_settings_with_sources(env={alias.name: text}, dotenv=None)
    via_explicit, _ = load_settings_with_sources(env={alias.spec.env_name: text}, dotenv=None)
    assert sources[alias.key] == f"alias:{alias.name}"
    got = _value(via_alias, alias.key)
    assert got == _value(via_explicit, alias.key)
    assert got != _value(Settings(), alias.key), "sample must differ from the default"
    # the alias touches nothing else
    others = {k for k, s in sources.items() if s != "default"}
    assert others == {alias.key}


def test_every_alias_targets_a_real_key_and_names_are_unique() -> None:
    assert {a.key for a in ALIASES} <= set(field_specs())
    assert len({a.name for a in ALIASES}) == len(ALIASES)


def test_docs_table_is_generated_from_the_alias_table() -> None:
    doc = DOC.read_text(encoding="utf-8")
    start = doc.index("<!-- aliases:start -->\n") + len("<!-- aliases:start -->\n")
    end = doc.index("\n<!-- aliases:end -->")
    assert doc[start:end] == alias_table_markdown(), (
        "docs/configuration.md alias table is stale; regenerate it with "
        "`zerodte config aliases --markdown`"
    )
    for alias in ALIASES:
        assert f"`{alias.name}` | `{alias.key}`" in doc


@pytest.mark.parametrize("text", ["-8", "8", " -8.0 ", "8.0"])
def test_hard_stop_takes_the_magnitude(text: str) -> None:
    settings, _ = load_settings_with_sources(env={"HARD_STOP_LOSS_PCT": text}, dotenv=None)
    assert settings.exits.stop_loss_pct == 8.0


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.01, max_value=99.0, allow_nan=False), st.booleans())
def test_hard_stop_magnitude_property(value: float, negative: bool) -> None:
    text = repr(-value if negative else value)
    settings, _ = load_settings_with_sources(env={"HARD_STOP_LOSS_PCT": text}, dotenv=None)
    assert settings.exits.stop_loss_pct == value


def test_hard_stop_not_a_number() -> None:
    with pytest.raises(ConfigError, match=r"HARD_STOP_LOSS_PCT='eight' cannot set exits"):
        load_settings_with_sources(env={"HARD_STOP_LOSS_PCT": "eight"}, dotenv=None)


def test_hard_stop_zero_is_still_rejected() -> None:
    with pytest.raises(ConfigError, match=r"exits.stop_loss_pct = 0.0 \(from alias:HARD_STOP"):
        load_settings_with_sources(env={"HARD_STOP_LOSS_PCT": "0"}, dotenv=None)


@pytest.mark.parametrize(("text", "expected"), [("0", None), ("", None), ("25", 25)])
def test_tt_max_cycles(text: str, expected: int | None) -> None:
    settings, _ = load_settings_with_sources(env={"TT_MAX_CYCLES": text}, dotenv=None)
    assert settings.engine.max_cycles == expected


def test_day_of_week_filter_names_are_normalised() -> None:
    env = {"DAY_OF_WEEK_FILTER": "monday, Fri,wed"}
    settings, _ = load_settings_with_sources(env=env, dotenv=None)
    assert settings.gates.day_of_week_filter == ("MON", "FRI", "WED")


def test_day_of_week_filter_rejects_weekend() -> None:
    with pytest.raises(ConfigError, match=r"gates.day_of_week_filter\[1\] = 'SAT'.*DAY_OF_WEEK"):
        load_settings_with_sources(env={"DAY_OF_WEEK_FILTER": "MON,SAT"}, dotenv=None)


def test_tradier_token_preferred_over_api_key() -> None:
    env = {"TRADIER_API_KEY": "from-api-key", "TRADIER_TOKEN": "from-token"}
    settings, sources = load_settings_with_sources(env=env, dotenv=None)
    assert settings.broker.tradier_token is not None
    assert settings.broker.tradier_token.get_secret_value() == "from-token"
    assert sources["broker.tradier_token"] == "alias:TRADIER_TOKEN"
    only_key, _ = load_settings_with_sources(env={"TRADIER_API_KEY": "k"}, dotenv=None)
    assert only_key.broker.tradier_token is not None
    assert only_key.broker.tradier_token.get_secret_value() == "k"
