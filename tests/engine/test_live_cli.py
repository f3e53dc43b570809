"""``zerodte trade``: live only with all three switches; secrets never in logs, journals,
run directories or errors; the replay prints the backtest's summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from zerodte.broker.tradier.client import TradierClient, http_client
from zerodte.cli.main import app
from zerodte.cli.trade_compose import TradeOptions, choose_mode
from zerodte.config import load_settings
from zerodte.errors import ConfigError

LIVE_TOKEN = "live-token-0a1b2c3d4e5f"
SANDBOX_TOKEN = "sandbox-token-9f8e7d6c"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean directory and environment (no stray ZERODTE_* variables or .env)."""
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("ZERODTE_") or name.startswith("TRADIER_"):
            monkeypatch.delenv(name, raising=False)
    return tmp_path


def _settings(env: dict[str, str]):  # type: ignore[no-untyped-def]
    return load_settings(env=env, dotenv=None)


@pytest.mark.parametrize(
    ("live", "flag", "token", "missing"),
    [
        (True, False, False, ["go-live flag file", "no live token"]),
        (True, True, False, ["no live token"]),
        (True, False, True, ["go-live flag file"]),
        (False, True, True, ["--live flag was not given"]),
    ],
)
def test_live_is_refused_without_all_three_switches(
    workdir: Path, live: bool, flag: bool, token: bool, missing: list[str]
) -> None:
    env = {"ZERODTE_BROKER__TRADIER_LIVE_ACCOUNT_ID": "6YA00001"}
    if token:
        env["ZERODTE_BROKER__TRADIER_LIVE_TOKEN"] = LIVE_TOKEN
    if flag:
        (workdir / "go_live.flag").touch()
    options = TradeOptions(live=live, broker="tradier")
    with pytest.raises(ConfigError, match="live trading refused") as err:
        choose_mode(options, _settings(env))
    for what in missing:
        assert what in str(err.value)
    assert LIVE_TOKEN not in str(err.value)


def test_all_three_switches_choose_live(workdir: Path) -> None:
    (workdir / "go_live.flag").touch()
    env = {
        "ZERODTE_BROKER__TRADIER_LIVE_TOKEN": LIVE_TOKEN,
        "ZERODTE_BROKER__TRADIER_LIVE_ACCOUNT_ID": "6YA00001",
    }
    assert choose_mode(TradeOptions(live=True, broker="tradier"), _settings(env)) == "live"
    assert choose_mode(TradeOptions(), _settings(env)) == "paper"
    assert choose_mode(TradeOptions(broker="tradier-sandbox"), _settings(env)) == "sandbox"
    with pytest.raises(ConfigError, match="not fake-tradier"):
        choose_mode(TradeOptions(live=True, broker="fake-tradier"), _settings(env))


def test_cli_refusal_names_what_is_missing(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["trade", "--live", "--broker", "tradier"])
    assert result.exit_code == 2
    assert "go-live flag file" in result.output and "no live token" in result.output


def test_secrets_stay_out_of_logs_journal_run_dir_and_output(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ZERODTE_BROKER__TRADIER_LIVE_TOKEN", LIVE_TOKEN)
    monkeypatch.setenv("TRADIER_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("ZERODTE_ENGINE__MAX_CYCLES", "90")  # the first hour and a half
    caplog.set_level(logging.DEBUG)
    args = [
        "--log-level",
        "DEBUG",
        "trade",
        "--replay",
        "--days",
        "1",
        "--seed",
        "7",
        "--journal",
        str(workdir / "journal.db"),
        "--run-dir",
        str(workdir / "run"),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["cycles"] == 90 and summary["trades"] > 0
    assert "orders" in summary and "reconciliations" in summary and "faults" in summary
    texts = [result.output, caplog.text]
    texts += [p.read_bytes().decode("latin-1") for p in workdir.rglob("*") if p.is_file()]
    for secret in (LIVE_TOKEN, SANDBOX_TOKEN):
        assert not any(secret in t for t in texts), f"a secret leaked: {secret[:8]}..."
    manifest = json.loads((workdir / "run" / "manifest.json").read_text())
    assert manifest["config"]["broker"]["tradier_live_token"] == "**********"


def test_client_logs_no_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="Unauthorized Account: VA1")

    http = http_client("https://t/v1", LIVE_TOKEN, transport=httpx.MockTransport(handler))
    with pytest.raises(ConfigError) as err:
        TradierClient(http, account_id="VA1").balances()
    assert LIVE_TOKEN not in str(err.value) and LIVE_TOKEN not in caplog.text
