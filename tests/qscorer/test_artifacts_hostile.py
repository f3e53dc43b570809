"""Corrupted model pairs never break a running controller; an interrupted deploy never leaves
a directory that cannot be loaded.

Every corruption of the probe (metadata that is valid JSON but not an object, missing or
mistyped fields, layer shapes that do not fit the features, NaN weights, a zero std, a
truncated or foreign ``.pt``, files that vanish) is refused by ``load_model`` with a
``ModelError``; a controller reloading from the directory keeps its model, decides as
before, and logs the refusal exactly once however many bars pass. Both model kinds are
covered: the MLP's corruptions, and the structured model's own (coefficients that do not
fit the terms, NaN coefficients, a zero direction std, a missing or unloadable booster, a
term outside the features, feature moments of another length).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import ModelError
from zerodte.qscorer import artifacts
from zerodte.qscorer.artifacts import (
    METADATA_FILE,
    MODEL_FILE,
    load_model,
    save_model,
    sha256_bytes,
    write_pair,
)
from zerodte.qscorer.controller import QScorerController
from zerodte.types import Observation


def _meta(d: Path) -> dict:
    return json.loads((d / METADATA_FILE).read_text())


def _set_meta(d: Path, value: object) -> None:
    (d / METADATA_FILE).write_text(json.dumps(value))


def _unchecked_pair(d: Path, model: object) -> None:
    """Write a pair for ``model`` without the save-time checks (as a buggy trainer would)."""
    data = artifacts._to_bytes(model)  # type: ignore[arg-type]
    _write_unchecked(d, data)


def _write_unchecked(d: Path, data: bytes) -> None:
    meta = _meta(d) | {"pt_sha256": sha256_bytes(data)}
    write_pair(d, data, meta)


def _bad_payload(**change: Callable[[dict], object]) -> Callable[[Path, object], None]:
    """A structured pair whose ``.pt`` payload has ``change`` applied, written unchecked
    (the structured model checks itself on construction, so the payload is edited)."""

    def apply(d: Path, m: object) -> None:
        import torch

        payload = m.to_payload()  # type: ignore[attr-defined]
        payload |= {k: f(payload) for k, f in change.items()}
        buf = io.BytesIO()
        torch.save({"format_version": artifacts.FORMAT_VERSION, **artifacts._tensors(payload)}, buf)
        _write_unchecked(d, buf.getvalue())

    return apply


def _nan_coef(p: dict) -> object:
    coef = np.array(p["d_coef"], copy=True)
    coef[0, 0] = np.nan
    return coef


def _corrupt_meta(value: object) -> Callable[[Path, object], None]:
    return lambda d, m: _set_meta(d, value)


def _drop_field(name: str) -> Callable[[Path, object], None]:
    return lambda d, m: _set_meta(d, {k: v for k, v in _meta(d).items() if k != name})


def _bad_model(**change: Callable[[object], object]) -> Callable[[Path, object], None]:
    def apply(d: Path, m: object) -> None:
        _unchecked_pair(d, dataclasses.replace(m, **{k: f(m) for k, f in change.items()}))  # type: ignore[type-var]

    return apply


def _shift_layer(m: object) -> object:
    layers = list(m.layers)  # type: ignore[attr-defined]
    w, b = layers[0]
    layers[0] = (w[:, :-1, :], b)  # one input fewer than the feature list
    return tuple(layers)


def _nan_layer(m: object) -> object:
    layers = list(m.layers)  # type: ignore[attr-defined]
    w, b = layers[1]
    w = w.copy()
    w[0, 0, 0] = np.nan
    layers[1] = (w, b)
    return tuple(layers)


def _truncate_pt(d: Path, m: object) -> None:
    (d / MODEL_FILE).write_bytes((d / MODEL_FILE).read_bytes()[:100])


def _foreign_pt(d: Path, m: object) -> None:
    junk = b"PK\x03\x04 not a torch archive"
    (d / MODEL_FILE).write_bytes(junk)
    _set_meta(d, _meta(d) | {"pt_sha256": sha256_bytes(junk)})


def _other_columns(d: Path, m: object) -> None:
    meta = _meta(d)
    _set_meta(d, meta | {"feature_columns": [*meta["feature_columns"][:-1], "zz"]})


GENERIC: dict[str, Callable[[Path, object], None]] = {
    "metadata []": _corrupt_meta([]),
    "metadata null": _corrupt_meta(None),
    "metadata string": _corrupt_meta("model"),
    "metadata number": _corrupt_meta(42),
    "metadata {}": _corrupt_meta({}),
    "metadata not JSON": lambda d, m: (d / METADATA_FILE).write_text("{not json"),
    "no pt_sha256": _drop_field("pt_sha256"),
    "no normalisation": _drop_field("normalisation"),
    "no model kind": _drop_field("model_kind"),
    "horizon text": lambda d, m: _set_meta(d, _meta(d) | {"horizon": "fifteen"}),
    "ensemble size differs": lambda d, m: _set_meta(d, _meta(d) | {"ensemble_size": 99}),
    "feature columns differ": _other_columns,
    "truncated pt": _truncate_pt,
    "foreign pt, matching hash": _foreign_pt,
}
"""Corruptions of either kind's pair."""

MLP: dict[str, Callable[[Path, object], None]] = {
    "layer shapes do not fit": _bad_model(layers=_shift_layer),
    "NaN weight": _bad_model(layers=_nan_layer),
    "zero std": _bad_model(x_std=lambda m: np.zeros_like(m.x_std)),  # type: ignore[attr-defined]
    "inf offset": _bad_model(offset=lambda m: np.array([np.inf, 0.0])),
    "negative target scale": _bad_model(target_scale=lambda m: -1.0),
    "metadata of the structured kind": lambda d, m: _set_meta(
        d, _meta(d) | {"model_kind": "structured"}
    ),
}

STRUCTURED: dict[str, Callable[[Path, object], None]] = {
    "coefficients do not fit the terms": _bad_payload(d_coef=lambda p: p["d_coef"][:, :-1]),
    "NaN coefficient": _bad_payload(d_coef=_nan_coef),
    "zero direction std": _bad_payload(d_std=lambda p: np.zeros_like(p["d_std"])),
    "inf offset": _bad_payload(offset=lambda p: np.array([np.inf, 0.0])),
    "a booster missing": _bad_payload(boosters=lambda p: p["boosters"][:-1]),
    "a booster that does not load": _bad_payload(
        boosters=lambda p: [np.frombuffer(b"{not a booster}", np.uint8).copy(), *p["boosters"][1:]]
    ),
    "term outside the features": _bad_payload(terms=lambda p: json.dumps([[99, -1]] * 2)),
    "feature moments of another length": _bad_payload(x_mean=lambda p: p["x_mean"][:-1]),
    "metadata of the mlp kind": lambda d, m: _set_meta(d, _meta(d) | {"model_kind": "mlp"}),
    "direction std differs": lambda d, m: _set_meta(
        d,
        _meta(d)
        | {
            "normalisation": _meta(d)["normalisation"]
            | {"direction_std": [2.0 * v for v in _meta(d)["normalisation"]["direction_std"]]}
        },
    ),
}

CORRUPTIONS: dict[str, dict[str, Callable[[Path, object], None]]] = {
    "mlp": GENERIC | MLP,
    "structured": GENERIC | STRUCTURED,
}
CASES = [(kind, name) for kind, cases in CORRUPTIONS.items() for name in cases]


KINDS = ("mlp", "structured")


def _deployed(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> tuple[Path, object]:
    """A good pair of ``kind`` saved in ``tmp_path / "deployed"``: (directory, model)."""
    fixture = "toy_model" if kind == "mlp" else "toy_structured_model"
    _d, res = request.getfixturevalue(fixture)
    assert res.model.kind == kind
    d = tmp_path / "deployed"
    save_model(d, res.model, {"feature_set": "toy", "tag": "good"})
    return d, res.model


@pytest.fixture(params=KINDS)
def model_dir(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, object]:
    return _deployed(request, tmp_path, request.param)


@pytest.mark.parametrize(("kind", "case"), CASES, ids=[f"{k}: {c}" for k, c in CASES])
def test_load_refuses(request: pytest.FixtureRequest, tmp_path: Path, kind: str, case: str) -> None:
    d, model = _deployed(request, tmp_path, kind)
    CORRUPTIONS[kind][case](d, model)
    with pytest.raises(ModelError) as err:
        load_model(d)
    assert str(d) in str(err.value) or MODEL_FILE in str(err.value)


def _obs(x: np.ndarray, cols: tuple[str, ...], t: pd.Timestamp) -> Observation:
    features = dict(zip(cols, x.tolist(), strict=True))
    return Observation(0, t, date(2024, 1, 2), 30, 300, 400.0, 300.0, 15.0, features)


LIVE_CASES = [*CASES, *((k, "files vanish") for k in KINDS)]


@pytest.mark.parametrize(("kind", "case"), LIVE_CASES, ids=[f"{k}: {c}" for k, c in LIVE_CASES])
def test_running_controller_keeps_its_model_and_logs_once(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kind: str,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    d, model = _deployed(request, tmp_path, kind)
    clock = [0.0]
    ctl = QScorerController(
        load_model(d), model_dir=d, reload_sec=1.0, time_source=lambda: clock[0]
    )
    before = ctl.loaded.sha256
    x = np.random.default_rng(3).normal(size=(50, len(ctl.feature_columns)))
    t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")
    expected = [ctl.decide(_obs(row, ctl.feature_columns, t)).scores for row in x]
    if case == "files vanish":
        (d / MODEL_FILE).unlink()
        (d / METADATA_FILE).unlink()
    else:
        CORRUPTIONS[kind][case](d, model)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="zerodte.qscorer.controller"):
        for i, row in enumerate(x):
            clock[0] += 5.0  # a reload check every bar
            assert ctl.decide(_obs(row, ctl.feature_columns, t)).scores == expected[i]
    assert ctl.loaded.sha256 == before
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    reason = warnings[0].getMessage()
    assert ("vanished" if case == "files vanish" else "reload refused") in reason


def test_a_repaired_pair_is_reloaded_after_a_refusal(model_dir: tuple[Path, object]) -> None:
    d, model = model_dir
    clock = [0.0]
    ctl = QScorerController(
        load_model(d), model_dir=d, reload_sec=1.0, time_source=lambda: clock[0]
    )
    _set_meta(d, [])
    clock[0] += 5
    assert not ctl.maybe_reload(clock[0]) and ctl.refused_reloads == 1
    shifted = dataclasses.replace(model, offset=model.offset + 3.0)  # type: ignore[type-var]
    save_model(d, shifted, {"feature_set": "toy", "tag": "fixed"})
    clock[0] += 5
    assert ctl.maybe_reload(clock[0]) and ctl.loaded.metadata["tag"] == "fixed"


class Crash(Exception):
    """Stands for the process dying after the n-th atomic write of a deploy."""


@pytest.mark.parametrize("writes_before_crash", [0, 1, 2, 3])
def test_deploy_interrupted_at_any_step_leaves_a_loadable_model(
    model_dir: tuple[Path, object], writes_before_crash: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, model = model_dir
    old = load_model(d).sha256
    new_model = dataclasses.replace(model, offset=model.offset + 5.0)  # type: ignore[type-var]
    import zerodte.io as zio

    done = [0]
    real_bytes, real_json = zio.atomic_write_bytes, zio.atomic_write_json

    def counted(real: Callable[..., Path]) -> Callable[..., Path]:
        def write(*args: object) -> Path:
            if done[0] == writes_before_crash:
                raise Crash
            done[0] += 1
            return real(*args)

        return write

    monkeypatch.setattr(zio, "atomic_write_bytes", counted(real_bytes))
    monkeypatch.setattr(zio, "atomic_write_json", counted(real_json))
    with pytest.raises(Crash):
        save_model(d, new_model, {"feature_set": "toy", "tag": "new"})
    monkeypatch.undo()
    loaded = load_model(d, fallback=True)  # what a restarting controller does
    assert loaded.sha256 == old  # the new pair was never complete
    save_model(d, new_model, {"feature_set": "toy", "tag": "new"})
    assert load_model(d).metadata["tag"] == "new"
