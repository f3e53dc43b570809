"""A crash at any step of publishing a run leaves its directory and its store row together.

Each case runs :func:`publish_run` in a child process that dies (``os._exit``, no cleanup)
at one step; then :func:`recover_runs` runs, as the next backtest or ``zerodte runs list``
would, and the run directory exists if and only if the store has the run, with the same
version in both. Fresh runs and reruns (an older version of the run already published).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from zerodte.config.settings import StoreSettings
from zerodte.engine import publish
from zerodte.engine.publish import publish_run, recover_runs, store_lookup
from zerodte.store import RunStore, make_engine

STEPS = (
    "none",
    "writing files",
    "after the marker",
    "before the commit",
    "after the commit",
    "after the first rename",
    "after the move",
)


def _store(db: Path) -> RunStore:
    return RunStore(make_engine(StoreSettings(path=db)))


def _publish(parent: Path, db: Path, version: str, crash: str, trades: pd.DataFrame) -> None:
    """Publish run ``r1`` (files carry ``version``), dying at step ``crash``."""

    def die() -> None:
        os._exit(3)

    def write_files(where: Path) -> None:
        (where / "summary.json").write_text(json.dumps({"version": version}))
        if crash == "writing files":
            die()
        (where / "manifest.json").write_text(json.dumps({"run_id": "r1", "version": version}))

    if crash == "after the marker":
        publish.fsync_tree = lambda root: die()  # type: ignore[assignment]
    replaced = []
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        if Path(dst).parent == parent:  # a rename of the move into place, not a file write
            replaced.append(dst)
            if crash == "after the first rename":
                die()

    publish.os.replace = replace  # type: ignore[assignment]
    if crash == "after the move":
        real_fsync = publish.fsync_dir

        def fsync_dir(path: Path) -> None:
            real_fsync(path)
            if Path(path) == parent:  # the move's own fsync, after both renames
                die()

        publish.fsync_dir = fsync_dir  # type: ignore[assignment]
    store = _store(db)

    def record(token: str) -> None:
        if crash == "before the commit":
            die()
        meta = {"run_id": "r1", "controller": "x", "publish_token": token, "version": version}
        store.record_run(meta, {"version": version}, trades)
        if crash == "after the commit":
            die()

    publish_run(parent / "r1", "r1", write_files, record, store_lookup(store))


def _run_child(  # noqa: PLR0917
    ctx: Any, parent: Path, db: Path, version: str, crash: str, trades: pd.DataFrame
) -> int:
    proc = ctx.Process(target=_publish, args=(parent, db, version, crash, trades))
    proc.start()
    proc.join(timeout=120)
    return int(proc.exitcode or 0)


def _state(parent: Path, db: Path) -> tuple[str | None, str | None]:
    store = _store(db)
    recover_runs(parent, store_lookup(store))
    row = store.get_run("r1")
    on_disk = parent / "r1" / "manifest.json"
    disk = json.loads(on_disk.read_text())["version"] if on_disk.exists() else None
    return disk, None if row is None else str(row["meta"]["version"])


@pytest.mark.parametrize("rerun", [False, True], ids=["fresh", "rerun"])
def test_a_crash_at_any_step_leaves_dir_and_row_together(
    tmp_path: Path,
    rerun: bool,
    make_trades,  # type: ignore[no-untyped-def]
    forkserver: Any,
) -> None:
    trades = make_trades([{"pnl": 1.0}])
    for step in STEPS:
        parent, db = tmp_path / step / "runs", tmp_path / step / "runs.db"
        parent.mkdir(parents=True)
        if rerun:
            assert _run_child(forkserver, parent, db, "old", "none", trades) == 0
        code = _run_child(forkserver, parent, db, "new", step, trades)
        assert code == (0 if step == "none" else 3), (step, code)
        disk, row = _state(parent, db)
        assert disk == row, (step, disk, row)  # both or neither, and the same version
        assert disk in ({"new", "old"} if rerun else {"new", None}), (step, disk)
        if step in ("after the commit", "after the first rename", "after the move", "none"):
            assert disk == "new", step  # committed: recovery completes the directory
        leftovers = [p.name for p in parent.iterdir() if p.name.startswith(".")]
        assert not leftovers, (step, leftovers)


def test_finish_run_publishes_the_directory_with_its_row(tmp_path: Path) -> None:
    """Every run ends through ``finish_run`` (backtests, live and replayed sessions), which
    publishes: a run whose row cannot be written leaves no directory, and a recorded run's
    row carries the token of the directory it names."""
    from zerodte.config import with_overrides
    from zerodte.errors import ConfigError

    from .helpers import backtest, make_market, make_settings

    market = make_market(2, seed=4)
    settings = make_settings(tmp_path, controller="random", random_p_call=0.05)
    done = backtest(settings, market, write=True, record=True)
    row = _store(settings.store.path).get_run(done.run_id)
    assert done.run_dir is not None and done.run_dir.is_dir() and row is not None
    assert row["run_dir"] == str(done.run_dir) and row["meta"]["publish_token"]
    assert not (done.run_dir / publish.MARKER).exists()

    blocked = tmp_path / "blocked.db"
    blocked.mkdir()  # a directory where the database file should be
    broken = with_overrides(settings, {"store.path": blocked})
    target = tmp_path / "runs" / "unrecorded"
    with pytest.raises(ConfigError):
        backtest(broken, market, write=True, record=True, run_dir=target)
    assert not target.exists()
    assert not [p.name for p in target.parent.iterdir() if p.name.startswith(".")]


def test_a_run_never_replaces_a_file_or_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    """Publishing to a file, or to a directory holding anything but an earlier run, is
    refused before any file is written, and both stay as they were; an empty directory and
    an earlier run's directory (a rerun) are replaced."""
    from zerodte.errors import ConfigError

    def write_files(where: Path) -> None:
        (where / "manifest.json").write_text(json.dumps({"run_id": "r1"}))

    note = tmp_path / "notes.txt"
    note.write_text("mine", encoding="utf-8")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "paper.tex").write_text("draft", encoding="utf-8")
    for target, message in ((note, "is a file"), (mine, "holds files but no manifest.json")):
        with pytest.raises(ConfigError, match=message):
            publish_run(target, "r1", write_files, None)
    assert note.read_text(encoding="utf-8") == "mine"
    assert [p.name for p in mine.iterdir()] == ["paper.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "notes.txt"]  # no staging
    empty = tmp_path / "empty"
    empty.mkdir()
    for _ in range(2):  # the second publish is a rerun over the first
        publish_run(empty, "r1", write_files, None)
        assert [p.name for p in empty.iterdir()] == ["manifest.json"]
