"""The q_scorer controller: decision rule, decide/decide_batch parity, hot reload, schema."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date

import numpy as np
import pandas as pd
import pytest

from policy.controller_contract import check_batch_equals_decide
from zerodte.errors import ModelError
from zerodte.qscorer.artifacts import load_model, save_model
from zerodte.qscorer.controller import QScorerController
from zerodte.types import Action, Observation


def _obs(x: np.ndarray, cols: tuple[str, ...], t: pd.Timestamp) -> Observation:
    return Observation(
        index=0,
        time=t,
        session=date(2024, 1, 2),
        minutes_since_open=30,
        minutes_to_close=300,
        spy=400.0,
        qqq=300.0,
        vix=15.0,
        features=dict(zip(cols, x.tolist(), strict=True)),
    )


def _frame(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)) * 1.5
    x[5, 2] = np.nan  # warm-up row
    idx = pd.date_range("2024-01-02 09:30", periods=n, freq="1min", tz="America/New_York")
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(4)], index=idx)


@pytest.mark.parametrize("thr,conf,absret", [(0.0, 0.0, 0.0), (3.0, 0.6, 2.0), (-100, 0.9, 0.0)])
def test_decide_batch_matches_decide(toy_model, thr: float, conf: float, absret: float) -> None:
    d, _ = toy_model
    ctl = QScorerController(load_model(d), q_threshold=thr, q_min_conf=conf, q_min_abs_ret=absret)
    frame = _frame()
    cols = ctl.feature_columns
    table = check_batch_equals_decide(
        ctl, frame, lambda i: _obs(frame.iloc[i].to_numpy(), cols, frame.index[i])
    )
    decisions = [table.decision(i) for i in range(len(frame))]
    # confidence and context reach the batch path (gates and trade rows read them)
    assert all(d.confidence is not None for d in decisions if d.action != Action.HOLD)
    assert all("q_call" in d.context for d in decisions if d.action != Action.HOLD)
    if conf > 0:
        assert any(d.vetoes for d in decisions)
    acts = {int(d.action) for d in decisions}
    if thr == 0.0:
        assert acts == {0, 1, 2}  # the rule really trades both ways on this model


def test_rule_and_vetoes(toy_model) -> None:
    d, _ = toy_model
    loaded = load_model(d)
    cols = loaded.model.feature_columns
    t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")
    strong_call = np.array([3.0, 0, 0, 0])
    dec = QScorerController(loaded).decide(_obs(strong_call, cols, t))
    assert dec.action is Action.BUY_CALLS
    assert dec.scores[1] > dec.scores[2] and dec.scores[0] == 0.0
    assert dec.probs == (0.0, 1.0, 0.0)
    assert dec.context["q_call"] == dec.scores[1]
    # a state where the call's expected reward is positive but uncertain
    grid = np.column_stack([np.linspace(0.0, 0.6, 601), np.zeros((601, 3))])
    pred = loaded.model.predict(grid)
    pick = np.flatnonzero((pred.confidence[:, 0] > 0.6) & (pred.confidence[:, 0] < 0.95))
    assert len(pick)
    weak = grid[pick[0]]
    ok = QScorerController(loaded, q_threshold=-1e6).decide(_obs(weak, cols, t))
    assert ok.action is not Action.HOLD and ok.confidence is not None and ok.confidence < 0.99
    ctl = QScorerController(loaded, q_threshold=-1e6, q_min_conf=0.99)
    vetoed = ctl.decide(_obs(weak, cols, t))
    assert vetoed.action is Action.HOLD and any("q_min_conf" in v for v in vetoed.vetoes)
    big = QScorerController(loaded, q_min_abs_ret=1e6).decide(_obs(strong_call, cols, t))
    assert big.action is Action.HOLD and any("q_min_abs_ret" in v for v in big.vetoes)
    high = QScorerController(loaded, q_threshold=1e6).decide(_obs(strong_call, cols, t))
    assert high.action is Action.HOLD and "threshold" in high.reasons[0]


def test_schema_mismatch_refused(toy_model) -> None:
    d, _ = toy_model
    with pytest.raises(ModelError, match="feature schema") as err:
        QScorerController(load_model(d), expected_schema="f" * 64, model_dir=d)
    assert "toy-schema"[:10] in str(err.value) and "ffffffff" in str(err.value)


def test_hot_reload_respects_interval(toy_model, tmp_path) -> None:
    _d, res = toy_model
    save_model(tmp_path, res.model, {"tag": "a"})
    now = [0.0]
    ctl = QScorerController(
        load_model(tmp_path), model_dir=tmp_path, reload_sec=30, time_source=lambda: now[0]
    )
    shifted = dataclasses.replace(res.model, offset=res.model.offset + 7.0)
    time.sleep(0.01)
    save_model(tmp_path, shifted, {"tag": "b"})
    x = np.array([0.5, 0, 0, 0])
    t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")
    ctl.decide(_obs(x, ctl.feature_columns, t))  # first check at now=0: loads b
    assert ctl.loaded.metadata["tag"] == "b"
    save_model(tmp_path, res.model, {"tag": "c"})
    now[0] = 10.0
    ctl.decide(_obs(x, ctl.feature_columns, t))
    assert ctl.loaded.metadata["tag"] == "b"  # checked at most every reload_sec
    now[0] = 31.0
    ctl.decide(_obs(x, ctl.feature_columns, t))
    assert ctl.loaded.metadata["tag"] == "c"


def test_hot_reload_under_concurrent_writer_never_partial(toy_model, tmp_path) -> None:
    _d, res = toy_model
    models = {
        "a": res.model,
        "b": dataclasses.replace(res.model, offset=res.model.offset + 11.0),
    }
    probe = np.random.default_rng(5).normal(size=(8, 4))
    expected = {k: m.predict(probe).lcb for k, m in models.items()}
    save_model(tmp_path, models["a"], {"tag": "a"})
    clock = [0.0]
    ctl = QScorerController(
        load_model(tmp_path), model_dir=tmp_path, reload_sec=1.0, time_source=lambda: clock[0]
    )
    stop = threading.Event()
    writes = [0]

    def writer() -> None:
        i = 0
        while not stop.is_set():
            tag = "ab"[i % 2]
            save_model(tmp_path, models[tag], {"tag": tag, "i": i})
            writes[0] += 1
            i += 1

    th = threading.Thread(target=writer)
    th.start()
    seen: set[str] = set()
    try:
        deadline = time.perf_counter() + 3.0
        while time.perf_counter() < deadline:
            clock[0] += 1.0
            ctl.maybe_reload(clock[0])
            cur = ctl.loaded
            tag = cur.metadata["tag"]
            seen.add(tag)
            # the model in use is always exactly the one its metadata names
            np.testing.assert_array_equal(cur.model.predict(probe).lcb, expected[tag])
    finally:
        stop.set()
        th.join()
    assert writes[0] > 20
    assert ctl.reloads > 5 and seen == {"a", "b"}
