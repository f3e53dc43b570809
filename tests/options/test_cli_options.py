"""``zerodte options quote`` and ``zerodte options chain``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from zerodte.cli.main import app

runner = CliRunner()


def test_quote_json() -> None:
    res = runner.invoke(
        app,
        [
            "options",
            "quote",
            "--spot",
            "590",
            "--strike",
            "590",
            "--right",
            "call",
            "--minutes-to-close",
            "120",
            "--vix",
            "15",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["bid"] < data["mid"] < data["ask"]
    assert 0.4 < data["delta"] < 0.6 and data["iv"] > 0


def test_quote_bad_right() -> None:
    res = runner.invoke(
        app, ["options", "quote", "--spot", "590", "--strike", "590", "--right", "straddle"]
    )
    assert res.exit_code != 0


def test_chain_text_and_json() -> None:
    res = runner.invoke(
        app,
        [
            "options",
            "chain",
            "--spot",
            "590",
            "--vix",
            "15",
            "--minutes-to-close",
            "120",
            "--width",
            "2",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "590.00" in res.output
    res = runner.invoke(app, ["options", "chain", "--spot", "590", "--width", "2", "--json"])
    rows = json.loads(res.output)["chain"]
    assert [r["strike"] for r in rows] == [588.0, 589.0, 590.0, 591.0, 592.0]
    calls = [r["call"]["mid"] for r in rows]
    assert calls == sorted(calls, reverse=True)


def test_quote_and_chain_refuse_impossible_numbers() -> None:
    cases = [
        (["quote", "--spot", "590", "--strike", "-1"], "--strike"),
        (["quote", "--spot", "nan", "--strike", "590"], "--spot"),
        (["quote", "--spot", "590", "--strike", "590", "--vix", "0"], "--vix"),
        (["quote", "--spot", "590", "--strike", "590", "--minutes-to-close", "-5"], "--minutes"),
        (["quote", "--spot", "590", "--strike", "590", "--minutes-to-expiry", "inf"], "--minutes"),
        (["chain", "--spot", "0"], "--spot"),
        (["chain", "--spot", "590", "--vix", "-2"], "--vix"),
    ]
    for args, option in cases:
        res = runner.invoke(app, ["options", *args, "--json"])
        assert res.exit_code == 2, (args, res.output)
        assert f"Invalid value for {option}" in res.output, (args, res.output)
        assert "must be a finite number" in res.output, (args, res.output)
        assert '"mid"' not in res.output, args  # no quote printed
