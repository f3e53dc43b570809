"""ModelWatcher: the live run's hot reload of the Q-scorer, at the composition root."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd

from zerodte.qscorer.artifacts import save_model
from zerodte.qscorer.controller import QScorerController
from zerodte.qscorer.watcher import ModelWatcher

T0 = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")


def test_watcher_installs_new_pairs_at_most_every_interval(toy_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _d, res = toy_model
    save_model(tmp_path, res.model, {"tag": "a"})
    from zerodte.qscorer.artifacts import load_model

    ctl = QScorerController(load_model(tmp_path), model_dir=None, expected_schema="toy-schema")
    now = [T0]
    watcher = ModelWatcher(tmp_path, ctl, every_s=30, now=lambda: now[0])
    assert watcher.check() is False  # unchanged
    time.sleep(0.01)
    save_model(tmp_path, dataclasses.replace(res.model, offset=res.model.offset + 3), {"tag": "b"})
    now[0] = T0 + pd.Timedelta(seconds=10)
    assert watcher.check() is False  # not due yet
    now[0] = T0 + pd.Timedelta(seconds=31)
    assert watcher.check() is True and ctl.loaded.metadata["tag"] == "b"
    assert watcher.summary() == {"reloads": 1, "refused": 0}


def test_watcher_refuses_a_mismatched_pair_and_keeps_trading(toy_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _d, res = toy_model
    save_model(tmp_path, res.model, {"tag": "a"})
    from zerodte.qscorer.artifacts import load_model

    ctl = QScorerController(load_model(tmp_path), expected_schema="toy-schema")
    watcher = ModelWatcher(tmp_path, ctl, every_s=0, now=lambda: T0)
    time.sleep(0.01)
    other = dataclasses.replace(res.model, schema_hash="f" * 64)
    save_model(tmp_path, other, {"tag": "wrong"})
    assert watcher.check() is False
    assert ctl.loaded.metadata["tag"] == "a" and watcher.refused == 1


def test_watcher_logs_a_refused_or_vanished_pair_once(toy_model, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from zerodte.qscorer.artifacts import METADATA_FILE, MODEL_FILE, load_model

    _d, res = toy_model
    save_model(tmp_path, res.model, {"tag": "a"})
    ctl = QScorerController(load_model(tmp_path), expected_schema="toy-schema")
    now = [T0]
    watcher = ModelWatcher(tmp_path, ctl, every_s=1, now=lambda: now[0])
    time.sleep(0.01)
    (tmp_path / METADATA_FILE).write_text("[]")  # valid JSON, not an object
    with caplog.at_level(logging.WARNING):
        for i in range(200):
            now[0] = T0 + pd.Timedelta(seconds=5 * (i + 1))
            assert watcher.check() is False
        assert watcher.refused == 1 and ctl.loaded.metadata["tag"] == "a"
        (tmp_path / MODEL_FILE).unlink()
        (tmp_path / METADATA_FILE).unlink()
        for i in range(200, 400):
            now[0] = T0 + pd.Timedelta(seconds=5 * (i + 1))
            assert watcher.check() is False
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(messages) == 2, messages
    assert "reload refused" in messages[0] and "vanished" in messages[1]
    assert ctl.loaded.metadata["tag"] == "a"
