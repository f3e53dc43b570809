"""Secrets come only from the environment and never appear in errors, logs or manifests."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from zerodte.config import Settings, load_settings, settings_hash, settings_manifest
from zerodte.errors import ConfigError

TOKEN = "tok-SENTINEL-7f3a9c"
PASSWORD = "pw-SENTINEL-42"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("section", "key"),
    [("broker", "tradier_token"), ("data", "polygon_api_key"), ("dashboard", "api_token")],
)
def test_secret_in_file_refused_without_echo(tmp_path: Path, section: str, key: str) -> None:
    cfg = write(tmp_path / "cfg.toml", f'[{section}]\n{key} = "{TOKEN}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={}, dotenv=None)
    text = str(info.value)
    assert f"{section}.{key} is a secret" in text
    assert f"ZERODTE_{section.upper()}__{key.upper()}" in text
    assert TOKEN not in text


def test_url_with_password_refused_in_file(tmp_path: Path) -> None:
    url = f"postgresql://bot:{PASSWORD}@db.example/zerodte"
    cfg = write(tmp_path / "cfg.toml", f'[store]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env={}, dotenv=None)
    assert "store.url contains a password" in str(info.value)
    assert PASSWORD not in str(info.value)
    plain = write(tmp_path / "plain.toml", '[store]\nurl = "sqlite:///runs/z.db"\n')
    assert load_settings(plain, env={}, dotenv=None).store.url == "sqlite:///runs/z.db"


def test_secrets_from_env_and_dotenv(tmp_path: Path) -> None:
    dotenv = write(tmp_path / ".env", f"POLYGON_API_KEY={TOKEN}-poly\n")
    settings = load_settings(env={"TRADIER_TOKEN": TOKEN}, dotenv=dotenv)
    assert settings.broker.tradier_token is not None
    assert settings.broker.tradier_token.get_secret_value() == TOKEN
    assert settings.data.polygon_api_key is not None
    assert settings.data.polygon_api_key.get_secret_value() == f"{TOKEN}-poly"
    assert TOKEN not in repr(settings)


def test_token_never_leaks_into_errors_logs_or_manifest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql://bot:{PASSWORD}@db.example/zerodte"
    env = {
        "TRADIER_TOKEN": TOKEN,
        "ZERODTE_BROKER__TRADIER_TOKEN": TOKEN,  # both set: the warning names, never values
        "ZERODTE_DASHBOARD__API_TOKEN": TOKEN,
        "DATABASE_URL": url,
        "ZERODTE_EXITS__STOP_LOSS_PCT": "-1",  # a validation error in another field
        "ZERODTE_BROKER__MODE": "live",  # and a section-level error in the secret's section
    }
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as info:
        load_settings(env=env, dotenv=None)
    message = str(info.value)
    assert "exits.stop_loss_pct" in message and "broker" in message
    assert info.value.__cause__ is None

    good = {k: v for k, v in env.items() if k not in {"ZERODTE_EXITS__STOP_LOSS_PCT"}}
    good["ZERODTE_BROKER__MODE"] = "paper"
    with caplog.at_level(logging.DEBUG):
        settings = load_settings(env=good, dotenv=None)
    manifest = settings_manifest(settings)
    dumped = json.dumps(manifest)

    for text in (message, caplog.text, dumped, settings_hash(settings), repr(settings)):
        assert TOKEN not in text
        assert PASSWORD not in text
    assert manifest["broker"]["tradier_token"] == "**********"
    assert manifest["dashboard"]["api_token"] == "**********"
    assert manifest["data"]["polygon_api_key"] is None
    assert manifest["store"]["url"] == "postgresql://bot:**********@db.example/zerodte"
    # the loaded value itself is intact
    assert settings.store.url == url


def test_secret_values_with_validation_error_in_secret_free_field(tmp_path: Path) -> None:
    dotenv = write(tmp_path / ".env", f"TRADIER_API_KEY={TOKEN}\nZERODTE_DASHBOARD__PORT=99999\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, dotenv=dotenv)
    assert "dashboard.port = '99999' (from dotenv:ZERODTE_DASHBOARD__PORT)" in str(info.value)
    assert TOKEN not in str(info.value)


def test_manifest_is_json_ready_and_round_trips() -> None:
    settings = load_settings(
        env={"ZERODTE_GATES__DAY_OF_WEEK_FILTER": "MON", "ZERODTE_ENGINE__SEED": "5"},
        dotenv=None,
    )
    manifest = settings_manifest(settings)
    restored = Settings.model_validate(json.loads(json.dumps(manifest)))
    assert restored == settings
    assert manifest["gates"]["day_of_week_filter"] == ["MON"]
    assert manifest["data"]["data_dir"] == "data"


def test_hash_is_stable_sensitive_and_ignores_credentials() -> None:
    base = load_settings(env={}, dotenv=None)
    same = load_settings(env={}, dotenv=None)
    changed = load_settings(env={"ZERODTE_ENGINE__SEED": "1"}, dotenv=None)
    with_token = load_settings(env={"TRADIER_TOKEN": TOKEN}, dotenv=None)
    assert len(settings_hash(base)) == 64
    assert settings_hash(base) == settings_hash(same)
    assert settings_hash(base) != settings_hash(changed)
    assert settings_hash(base) == settings_hash(with_token)
