"""``zerodte data`` commands through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.market.store import ParquetStore

runner = CliRunner()


def _parquets(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_generate_is_byte_identical_and_info(tmp_path: Path) -> None:
    for name in ("a", "b"):
        res = runner.invoke(
            app,
            [
                "data",
                "generate",
                "--days",
                "3",
                "--seed",
                "4",
                "--edge",
                "0.5",
                "--start",
                "2024-02-01",
                "--data-dir",
                str(tmp_path / name),
            ],
        )
        assert res.exit_code == 0, res.output
        assert "generated 3 trading days (2024-02-01 .. 2024-02-05)" in res.output
    assert _parquets(tmp_path / "a") == _parquets(tmp_path / "b")
    res = runner.invoke(app, ["data", "info", "--json", "--data-dir", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["symbols"]["SPY"]["trading_days"] == 3 and len(info["data_hash"]) == 64
    res = runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path / "a")])
    assert res.exit_code == 0 and "no problems found" in res.output


def test_import_refuses_bad_file_then_repairs(tmp_path: Path) -> None:
    ts = pd.date_range("2024-03-04 09:30", periods=390, freq="1min")
    px = 500 + np.arange(390) * 0.01
    raw = pd.DataFrame(
        {"time": ts, "o": px, "h": px + 0.1, "l": px - 0.1, "Close": px, "volume": 5.0}
    )
    raw = pd.concat([raw, raw.iloc[[20]]], ignore_index=True)  # duplicate: data row 391
    path = tmp_path / "spy.csv"
    raw.to_csv(path, index=False)
    store = tmp_path / "store"
    args = [
        "data",
        "import",
        str(path),
        "--symbol",
        "SPY",
        "--tz",
        "America/New_York",
        "--data-dir",
        str(store),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 2  # a DataError: the user's file must be fixed
    assert "spy.csv:391 [timestamp] duplicate timestamp" in res.stderr
    assert not (store / "bars").exists()
    res = runner.invoke(app, [*args, "--repair", "drop-duplicates"])
    assert res.exit_code == 0, res.output
    assert "imported 390 SPY bars" in res.output and "dropped 1 row(s)" in res.output


def test_verify_fails_on_empty_or_bad_store(tmp_path: Path) -> None:
    res = runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path)])
    assert res.exit_code == 1 and "no bars stored" in res.output
    res = runner.invoke(
        app, ["data", "generate", "--days", "2", "--seed", "1", "--data-dir", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    # corrupt one stored file behind the store's back: verify must notice
    path = ParquetStore(tmp_path).file_path("SPY", 2024)
    assert path is not None
    frame = pd.read_parquet(path)
    frame.loc[10, "high"] = frame.loc[10, "low"] - 1
    frame.to_parquet(path)
    res = runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path)])
    assert res.exit_code == 1 and "high below low" in res.output


def test_import_start_end_flags(tmp_path: Path) -> None:
    ts = pd.date_range("2024-03-04 09:30", periods=390, freq="1min", tz="America/New_York")
    two = ts.append(ts + pd.Timedelta(days=1))
    px = np.full(len(two), 100.0)
    frame = pd.DataFrame(
        {"timestamp": two, "open": px, "high": px, "low": px, "close": px, "volume": 5.0}
    )
    path = tmp_path / "spy.csv"
    frame.to_csv(path, index=False)
    args = ["data", "import", str(path), "--symbol", "SPY", "--data-dir", str(tmp_path / "d")]
    res = runner.invoke(app, [*args, "--start", "2024-03-05", "--end", "2024-03-05"])
    assert res.exit_code == 0, res.output
    assert "imported 390 SPY bars" in res.output and "outside --start/--end" in res.output
    assert ParquetStore(tmp_path / "d").sessions() == [pd.Timestamp("2024-03-05").date()]
