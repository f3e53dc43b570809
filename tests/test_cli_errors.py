"""User mistakes end in a message on stderr and exit code 2, never a traceback.

Every case of issue 14's list: bad files given to ``data import`` (a directory, binary,
UTF-16, empty, header-only, an extra field, a missing column, NaT, epoch times outside the
calendar, garbage/truncated/empty Parquet), bad options (``--tz``, ``--symbol``,
``--log-level``), a broken model in ``backtest`` and an unreachable database. ``--debug``
adds the traceback.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.market.synthetic import generate_market

runner = CliRunner()


@pytest.fixture(scope="module")
def day() -> pd.DataFrame:
    bars = generate_market(date(2024, 3, 4), 1, seed=2)["SPY"]
    return bars.assign(timestamp=bars["timestamp"].dt.tz_localize(None))


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf)
    return buf.getvalue()


FILES = {
    "binary.csv": lambda f: bytes(range(256)) * 4,
    "utf16.csv": lambda f: _csv(f).decode().encode("utf-16"),
    "empty.csv": lambda f: b"",
    "header_only.csv": lambda f: b"timestamp,open,high,low,close,volume\n",
    "extra_field.csv": lambda f: b"\n".join(
        line + b",7" if i == 3 else line for i, line in enumerate(_csv(f).split(b"\n"))
    ),
    "no_close.csv": lambda f: _csv(f.drop(columns=["close"])),
    "nat.csv": lambda f: _csv(
        f.assign(timestamp=f["timestamp"].astype(object).where(f.index != 3))
    ),
    "epoch_1970.csv": lambda f: _csv(f.assign(timestamp=f["timestamp"].astype("int64") // 10**12)),
    "year_2099.csv": lambda f: _csv(f.assign(timestamp=f["timestamp"] + pd.DateOffset(years=75))),
    "garbage.parquet": lambda f: b"PAR1 garbage",
    "truncated.parquet": lambda f: _parquet(f)[:300],
    "empty.parquet": lambda f: _parquet(f.iloc[:0]),
    "inf.csv": lambda f: _csv(f.assign(close=f["close"].where(f.index != 7, float("inf")))),
    "cut.csv": lambda f: _csv(f)[:-4],
    "saturday.csv": lambda f: _csv(f.assign(timestamp=f["timestamp"] + pd.Timedelta(days=5))),
}


def _no_traceback(res) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)


@pytest.mark.parametrize("name", list(FILES))
def test_bad_files_are_data_errors(tmp_path: Path, day: pd.DataFrame, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(FILES[name](day))
    store = tmp_path / "store"
    args = ["data", "import", str(path), "--symbol", "SPY", "--tz", "America/New_York"]
    res = runner.invoke(app, [*args, "--data-dir", str(store)])
    _no_traceback(res)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("data error:") and name in res.stderr, res.stderr
    assert not list(store.rglob("*.parquet"))


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--tz", "Mars/Olympus_Mons"], "--tz"),
        (["--symbol", "../../../../outside_store"], "not a symbol"),
        (["--symbol", "SPY/2024"], "not a symbol"),
        (["--symbol", ""], "not a symbol"),
    ],
)
def test_bad_options_are_data_errors(
    tmp_path: Path, day: pd.DataFrame, options: list[str], needle: str
) -> None:
    path = tmp_path / "spy.csv"
    path.write_bytes(_csv(day))
    base = {"--symbol": "SPY", "--tz": "America/New_York"}
    base.update(dict(zip(options[::2], options[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    store = tmp_path / "data" / "store"
    res = runner.invoke(app, ["data", "import", str(path), *flat, "--data-dir", str(store)])
    _no_traceback(res)
    assert res.exit_code == 2 and needle in res.stderr, res.output
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "spy.csv"]
    assert written == [], written  # nothing anywhere, inside the data directory or out


def test_directory_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.csv").mkdir()
    res = runner.invoke(app, ["data", "import", str(tmp_path / "x.csv"), "--symbol", "SPY"])
    _no_traceback(res)
    assert res.exit_code == 2 and "is a directory" in res.stderr


def test_bogus_log_level() -> None:
    res = runner.invoke(app, ["--log-level", "BOGUS", "data", "info"])
    _no_traceback(res)
    assert res.exit_code == 2 and "BOGUS" in res.output


def test_broken_model_in_backtest_and_debug_traceback(
    tmp_path: Path, toy_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = toy_model_dir / "q_scorer_metadata.json"
    meta.write_text(json.dumps([]))
    monkeypatch.setenv("MODEL_RUN_DIR", str(toy_model_dir))
    monkeypatch.setenv("ZERODTE_STORE__PATH", str(tmp_path / "runs.db"))
    args = ["backtest", "--controller", "q_scorer", "--days", "2", "--seed", "1"]
    res = runner.invoke(app, args)
    _no_traceback(res)
    assert res.exit_code == 2 and res.stderr.startswith("model error:"), res.output
    assert "not a JSON object" in res.stderr
    debug = runner.invoke(app, ["--debug", *args])
    assert debug.exit_code == 2 and "Traceback" in debug.stderr


@pytest.mark.parametrize(
    ("args", "label", "needle"),
    [
        (["trade", "--paper", "--live"], "configuration error:", "exclude each other"),
        (["trade", "--controller", "randm", "--days", "1"], "configuration error:", "--controller"),
        (["trade", "--broker", "fake-tradier"], "configuration error:", "--replay"),
        (
            ["fake-tradier", "serve", "--faults", "bogus=2", "--days", "1"],
            "configuration error:",
            "bogus",
        ),
        (["q", "power"], "configuration error:", "--seeds is required"),
        (["q", "power", "--seeds", "3-1"], "configuration error:", "seed"),
        (["q", "power", "--seeds", "1", "--horizon", "0"], "configuration error:", "--horizon"),
        (["eval", "calibration", "--seeds", "a-b"], "configuration error:", "seed"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_the_newer_commands_map_errors_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], label: str, needle: str
) -> None:
    """``trade``, ``fake-tradier``, ``q power`` and ``eval calibration --seeds`` leave their
    errors to ``cli/main.py``: the label and message on stderr, exit code 2."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    _no_traceback(res)
    assert res.exit_code == 2, res.output
    assert label in res.stderr and needle in res.stderr, res.stderr
    assert res.stdout == "", res.stdout


def test_a_file_that_is_not_a_database_is_refused_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store path or an order journal naming a file of other bytes is a configuration
    error naming it (no SQLAlchemy traceback), and the file is not touched."""
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"garbage garbage garbage")
    monkeypatch.chdir(tmp_path)
    for args, env in (
        (["runs", "list"], {"ZERODTE_STORE__PATH": str(junk)}),
        (["experiments", "status", "--store", f"sqlite:///{junk}"], {}),
        (["trade", "--replay", "--days", "1", "--seed", "1", "--journal", str(junk)], {}),
    ):
        res = runner.invoke(app, args, env=env)
        _no_traceback(res)
        assert res.exit_code == 2, res.output
        assert f"sqlite:///{junk} cannot be used: file is not a database" in res.stderr
    assert junk.read_bytes() == b"garbage garbage garbage"


def test_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    res = runner.invoke(app, ["runs", "list"])
    _no_traceback(res)
    assert res.exit_code == 2 and "cannot open the run store" in res.stderr, res.output
    assert "127.0.0.1:1" in res.stderr


@pytest.fixture
def toy_model_dir(tmp_path: Path) -> Path:
    """A valid (random, untrained) model pair that the test may then corrupt."""
    import numpy as np

    from zerodte.features import get_feature_set
    from zerodte.qscorer.artifacts import save_model
    from zerodte.qscorer.model import QScorerModel

    fs = get_feature_set("minimal")
    n, rng = len(fs.columns), np.random.default_rng(0)
    layers = (
        (rng.normal(size=(2, n, 8)), np.zeros((2, 8))),
        (rng.normal(size=(2, 8, 2)), np.zeros((2, 2))),
    )
    model = QScorerModel(
        layers,
        tuple(fs.columns),
        fs.schema_hash,
        np.zeros(n),
        np.ones(n),
        1.0,
        np.zeros(2),
        1.0,
        15,
    )
    return save_model(tmp_path / "model", model, {"feature_set": "minimal"})


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["fake-tradier", "serve", "--port", "-3"], "--port"),
        (["fake-tradier", "serve", "--port", "70000"], "--port"),
        (["data", "serve", "--collect-minutes", "nan"], "--collect-minutes"),
        (["data", "serve", "--collect-minutes", "-3"], "--collect-minutes"),
        (
            ["experiments", "study", "--param", "exits.stop_loss_pct=10:20", "--seed", "-1"],
            "--seed",
        ),
        (["eval", "calibration", "--seeds", "1", "--workers", "0"], "--workers"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_out_of_range_numbers_are_flag_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    """A port outside 0-65535, a NaN or negative collection interval, a negative sampler seed
    and zero workers are refused at the flag (exit 2), never a bind or NumPy traceback, and
    nothing is written."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    _no_traceback(res)
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["backtest"], ["trade", "--replay"]])
def test_a_run_dir_that_is_not_a_run_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """``--run-dir`` naming a file, or a directory of other files, stops the command before
    it replays or trades (a run would have replaced them); nothing is deleted or written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "ch1.tex").write_text("draft", encoding="utf-8")
    for target, needle in (("notes.txt", "is a file"), ("thesis", "holds files but no")):
        res = runner.invoke(app, [*command, "--days", "1", "--seed", "1", "--run-dir", target])
        _no_traceback(res)
        assert res.exit_code == 2, res.output
        assert res.stderr.startswith("configuration error: ") and needle in res.stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert [p.name for p in (tmp_path / "thesis").iterdir()] == ["ch1.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "thesis"]


def test_every_out_option_checks_its_kind_of_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``--out`` is checked as a directory or as a file when it is parsed, so a file
    where a directory belongs (or the reverse) is a flag error before any work, never a
    FileExistsError or IsADirectoryError after the training."""
    from cli_tree import cli_commands
    from zerodte.cli.paths import output_dir, output_file

    kinds = {}
    for name, cmd in cli_commands():
        for param in cmd.params:
            if "--out" in getattr(param, "opts", []):
                kinds[name] = getattr(param.callback, "__wrapped__", param.callback)
    assert {"train trees", "q train", "q power", "compare", "train bandit"} <= set(kinds)
    assert {n: c for n, c in kinds.items() if c not in (output_dir, output_file)} == {}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    for args, needle in (
        (["train", "trees", "--days", "16", "--out", "notes.txt"], "notes.txt is a file"),
        (["train", "bandit", "--days", "4", "--out", "folder"], "folder is a directory"),
    ):
        res = runner.invoke(app, args)
        _no_traceback(res)
        assert res.exit_code == 2 and needle in res.output, res.output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "notes.txt"]


def test_a_file_where_a_runs_or_data_directory_belongs_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """engine.runs_dir, a parent of --run-dir, the data directory or its ``bars`` being a
    file is a clear error before the run (never a FileExistsError or NotADirectoryError
    traceback), and the file stays as it was."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").write_text("mine", encoding="utf-8")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "bars").write_text("mine", encoding="utf-8")
    day = ["--days", "1", "--seed", "1"]
    for args, env, needle in (
        (["backtest", *day], {"ZERODTE_ENGINE__RUNS_DIR": "notes"}, "notes is a file, where"),
        (["trade", "--replay", *day], {"ZERODTE_ENGINE__RUNS_DIR": "notes/runs"},
         "notes is a file, so the directory notes/runs cannot be made"),
        (["backtest", *day, "--run-dir", "notes/run"], {}, "notes is a file, where"),
        (["data", "info", "--data-dir", "notes"], {}, "notes is a file, not a directory"),
        (["backtest", "--days", "1", "--data-dir", "store"], {},
         "store/bars is a file, not a directory"),
    ):  # fmt: skip
        res = runner.invoke(app, args, env=env)
        _no_traceback(res)
        assert res.exit_code == 2, res.output
        assert needle in res.stderr, res.stderr
    assert (tmp_path / "notes").read_text(encoding="utf-8") == "mine"
    assert (tmp_path / "store" / "bars").read_text(encoding="utf-8") == "mine"
