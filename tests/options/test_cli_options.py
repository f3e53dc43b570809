"""``zerodte options quote``, ``zerodte options chain`` and ``zerodte options calibrate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app

from .cli_helpers import refused

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


QUOTES = """timestamp,root,right,strike,expiry,bid,ask
2021-01-04 10:00:00-05:00,SPXW,C,3700,2021-01-04,4.80,5.40
2021-01-04 10:00:00-05:00,SPXW,P,3700,2021-01-04,22.0,24.0
"""
VIX_COLUMNS = "['date', 'open', 'close']"


@pytest.fixture
def spxw_store(tmp_path: Path) -> Path:
    """A store holding two SPXW quotes and no VIX."""
    quotes = tmp_path / "quotes.csv"
    quotes.write_text(QUOTES, encoding="utf-8")
    store = tmp_path / "store"
    res = runner.invoke(app, ["data", "import-options", str(quotes), "--data-dir", str(store)])
    assert res.exit_code == 0, res.output
    return store


def test_calibrate_unknown_root_is_a_configuration_error() -> None:
    refused(["options", "calibrate", "--root", "XYZ"], "configuration error",
             "--root 'XYZ' is not a known option root", "SPY, SPX, SPXW")  # fmt: skip


def test_calibrate_on_a_store_without_quotes_is_a_data_error(
    tmp_path: Path, spxw_store: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(["options", "calibrate", "--data-dir", str(empty)], "data error",
             f"the store {empty} holds no SPXW option quotes (no option quotes at all)",
             f"zerodte data import-options FILE --data-dir {empty}")  # fmt: skip
    assert list(empty.iterdir()) == []
    refused(["options", "calibrate", "--data-dir", str(spxw_store), "--root", "SPY"],
             "data error", "holds no SPY option quotes (only SPXW)",
             "zerodte data import-options")  # fmt: skip
    refused(["options", "calibrate", "--data-dir", str(spxw_store)], "data error",
             "holds no VIX bars", "--symbol VIX", "--vix FILE")  # fmt: skip


def test_calibrate_bad_vix_file_is_a_data_error(tmp_path: Path, spxw_store: Path) -> None:
    gone = tmp_path / "nonexistent.csv"
    refused(["options", "calibrate", "--vix", str(gone)], "data error", str(gone),
             "no such file", VIX_COLUMNS)  # fmt: skip
    for name, text, needles in [
        ("no_open.csv", "date,close\n2021-01-04,22.5\n",
         ["missing column(s) ['open']", "it has ['date', 'close']", VIX_COLUMNS]),
        ("only_date.csv", "date\n2021-01-04\n", ["missing column(s) ['open', 'close']"]),
        ("empty.csv", "", ["not a readable CSV file"]),
        ("bad_open.csv", "date,open,close\n2021-01-04,x,22\n",
         ["row 0 (line 2) has open='x'", "not a positive number"]),
        ("inf_close.csv", "date,open,close\n2021-01-04,22,inf\n",
         ["row 0 (line 2) has close=", "not a positive number"]),
        ("bad_date.csv", "date,open,close\n2021-01-04,22,22\nsomeday,22,22\n",
         ["row 1 (line 3) has date='someday'"]),
        ("twice.csv", "date,open,close\n2021-01-04,22,22\n2021-01-04,23,23\n",
         ["a date that repeats"]),
    ]:  # fmt: skip
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        args = ["options", "calibrate", "--data-dir", str(spxw_store), "--vix", str(path)]
        refused(args, "data error", str(path), *needles)
    good = tmp_path / "vix.csv"
    good.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n2021-01-04,22.0,23,21,22.5\n", encoding="utf-8")
    args = ["options", "calibrate", "--data-dir", str(spxw_store), "--vix", str(good), "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["quotes"] == 2
