"""QThink in the consensus scoring: weights and penalties change decisions, only from
versions published before the bar, identically in ``decide`` and ``decide_batch``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from zerodte.config import Settings, with_overrides
from zerodte.config.decision_settings import ConsensusSettings, QThinkSettings
from zerodte.errors import ConfigError
from zerodte.policy.controllers import build_controller
from zerodte.policy.controllers.consensus import ConsensusController
from zerodte.policy.controllers.consensus_agents import AGENTS
from zerodte.policy.qthink_state import (
    BLOCK_NAMES,
    QThinkState,
    StateVersion,
    load_state,
    neutral_version,
)
from zerodte.types import Action

from .controller_contract import check_batch_equals_decide
from .decision_inputs import decision_frame_inputs, observation_of
from .test_consensus_scenarios import BULL

TZ = "America/New_York"
AT = pd.Timestamp("2024-01-10 10:30", tz=TZ)  # chop_mid
LOW = {"predictions": 1.0, "hmm": 1.0, "momentum": 0.25, "volatility": 0.25,
       "technicals": 0.25, "flow": 4.0, "q_scorer": 1.0}  # fmt: skip
# BULL's aligned scores: predictions 0.33, hmm 0.6, momentum tanh(1), volatility 1,
# technicals 0.5, flow -tanh(ln 0.9); quality with LOW = 0.2837..., with weights 1 = 0.549...


def state(*versions: tuple[str, dict[str, float], dict[str, float]]) -> QThinkState:
    out = [neutral_version(AGENTS)]
    for i, (when, w, p) in enumerate(versions, start=1):
        out.append(
            StateVersion(
                i, pd.Timestamp(when, tz=TZ), i, w, {**dict.fromkeys(BLOCK_NAMES, 0.0), **p}
            )
        )
    return QThinkState(AGENTS, tuple(out))


def controller(
    st: QThinkState | None, min_quality: float = 0.25, **kw: object
) -> ConsensusController:
    q = QThinkSettings(enabled=st is not None, state_path=Path("unused.json") if st else None,
                       min_quality=min_quality)  # fmt: skip
    return ConsensusController(ConsensusSettings(qthink=q, **kw), qthink_state=st)  # type: ignore[arg-type]


def decide(ctrl: ConsensusController, row: dict[str, float], at: pd.Timestamp = AT):  # type: ignore[no-untyped-def]
    frame = pd.DataFrame([row], index=pd.DatetimeIndex([at]))
    return ctrl.decide(observation_of(frame, 0))


def test_quality_formula_on_the_bull_row() -> None:
    d = decide(controller(state()), BULL)
    aligned = [0.33, 0.6, np.tanh(1.0), 1.0, 0.5, -np.tanh(np.log(0.9))]
    assert d.context["qthink_quality"] == pytest.approx(np.mean(aligned), abs=1e-9)
    w = [LOW[a] for a in AGENTS[:6]]
    low = decide(controller(state(("2024-01-10 10:00", LOW, {}))), BULL)
    assert low.context["qthink_quality"] == pytest.approx(np.dot(w, aligned) / sum(w), abs=1e-9)


@pytest.mark.parametrize(
    ("versions", "min_quality", "want"),
    [
        ((), 0.25, Action.BUY_CALLS),  # neutral weights: 0.549 >= 0.25
        ((("2024-01-10 10:00", LOW, {}),), 0.25, Action.BUY_CALLS),  # 0.284 >= 0.25
        ((("2024-01-10 10:00", LOW, {}),), 0.30, Action.HOLD),  # 0.284 < 0.30
        ((("2024-01-10 10:00", LOW, {"chop_mid": 20.0}),), 0.25, Action.HOLD),  # need 0.30
        ((("2024-01-10 10:00", LOW, {"early_open": 20.0}),), 0.25, Action.BUY_CALLS),  # other block
        ((("2024-01-10 10:30", LOW, {"chop_mid": 20.0}),), 0.25, Action.BUY_CALLS),  # not before t
        ((("2024-01-10 10:29", LOW, {"chop_mid": 20.0}),), 0.25, Action.HOLD),  # a minute before
        (
            (("2024-01-10 10:00", LOW, {"chop_mid": 20.0}), ("2024-01-10 10:15", {}, {})),
            0.25,
            Action.BUY_CALLS,  # the later version (neutral again) is the one in force
        ),
        ((), 0.60, Action.HOLD),  # even neutral weights fall short of 0.60
    ],
)
def test_weights_and_penalties_change_the_decision(
    versions: tuple[tuple[str, dict[str, float], dict[str, float]], ...],
    min_quality: float,
    want: Action,
) -> None:
    d = decide(controller(state(*versions), min_quality), BULL)
    assert d.action is want
    if want is Action.HOLD:
        assert "qthink_low_quality" in d.vetoes


def test_off_by_default_and_off_ignores_a_state() -> None:
    assert ConsensusSettings().qthink.enabled is False
    plain = decide(ConsensusController(ConsensusSettings()), BULL)
    ignored = ConsensusController(
        ConsensusSettings(), qthink_state=state(("2024-01-10 10:00", LOW, {"chop_mid": 90.0}))
    )
    assert decide(ignored, BULL) == plain and "qthink_quality" not in plain.context


def test_contrarian_entries_pass_the_same_check() -> None:
    row = {**BULL, "rsi_14": 85.0, "jerk_5m": -0.001}  # fade exhaustion: puts
    st = state(("2024-01-10 10:00", LOW, {}))
    assert decide(controller(None, contrarian=True), row).action is Action.BUY_PUTS
    # toward puts most agents disagree: quality < 0 vetoes the fade
    d = decide(controller(st, contrarian=True), row)
    assert d.action is Action.HOLD and "qthink_low_quality" in d.vetoes


def test_batch_equals_decide_with_a_versioned_state() -> None:
    frame = decision_frame_inputs(n=400)
    t = frame.index
    st = state(
        (str(t[50].tz_localize(None)), LOW, {"early_open": 30.0}),
        (str(t[120].tz_localize(None)), {**LOW, "hmm": 3.0}, {"chop_mid": 60.0}),
        (str(t[121].tz_localize(None)), {"momentum": 0.3}, {"early_open": 5.0}),
    )
    for contrarian in (False, True):
        ctrl = controller(st, 0.2, contrarian=contrarian)
        table = check_batch_equals_decide(ctrl, frame, lambda i: observation_of(frame, i))
        assert len(table) == len(frame)
    on = controller(st, 0.2, contrarian=True).decide_batch(frame)["action"].to_numpy()
    plain = ConsensusController(ConsensusSettings(contrarian=True))
    off = plain.decide_batch(frame)["action"].to_numpy()
    assert (off != 0).sum() >= 10 and (on != off).any()
    assert ((on == off) | (on == 0)).all()  # QThink only ever vetoes


def test_the_state_file_and_the_setting(tmp_path: Path) -> None:
    st = state(("2024-01-10 10:00", LOW, {"chop_mid": 20.0}))
    path = tmp_path / "state.json"
    path.write_text(json.dumps(st.to_json()))
    assert load_state(path).versions == st.versions
    settings = with_overrides(
        Settings(),
        {
            "entry.controller": "consensus",
            "entry.consensus.qthink.enabled": True,
            "entry.consensus.qthink.state_path": str(path),
        },
    )
    ctrl = build_controller(settings)
    assert decide(ctrl, BULL).action is Action.HOLD  # type: ignore[arg-type]
    with pytest.raises((ValidationError, ConfigError), match="state_path"):
        QThinkSettings(enabled=True)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**st.to_json(), "format": "other"}))
    with pytest.raises(ConfigError, match="learn apply"):
        load_state(bad)
    # a list, a field of the wrong kind and bytes that are not UTF-8 are ConfigErrors too
    for content, message in (
        (b"[]", "holds a JSON list, not a QThink state object"),
        (json.dumps({**st.to_json(), "versions": 5}).encode(), "versions must be a JSON list"),
        (json.dumps({**st.to_json(), "meta": []}).encode(), "meta must be a JSON dict"),
        (b"\xff\xfe{", "cannot read the QThink state"),
    ):
        bad.write_bytes(content)
        with pytest.raises(ConfigError, match=message):
            load_state(bad)
