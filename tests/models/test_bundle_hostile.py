"""Corrupted bundles are refused with a ModelError; an interrupted save leaves a loadable one."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest

from zerodte.errors import ModelError
from zerodte.models.bundle import META_FILE, MODEL_FILE, ModelBundle, load_bundle


def _bundle(kind: str = "trees") -> ModelBundle:
    return ModelBundle(
        kind=kind,
        config={},
        feature_set="minimal",
        feature_set_version=1,
        schema_hash="h" * 64,
        columns=("ret_1m",),
        horizon_minutes=15,
        embargo_minutes=15,
        segments=[],
    )


def _meta(d: Path) -> dict:
    return json.loads((d / META_FILE).read_text())


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: (d / META_FILE).write_text("[]"),
        lambda d: (d / META_FILE).write_text("null"),
        lambda d: (d / META_FILE).write_text("{broken"),
        lambda d: (d / META_FILE).write_text(json.dumps({"kind": "trees"})),
        lambda d: (d / MODEL_FILE).write_bytes(b"garbage"),
        lambda d: (
            (d / MODEL_FILE).write_bytes(b"\x80\x04garbage"),
            (d / META_FILE).write_text(
                json.dumps(
                    _meta(d) | {"model_sha256": hashlib.sha256(b"\x80\x04garbage").hexdigest()}
                )
            ),
        ),
        lambda d: (
            (d / MODEL_FILE).write_bytes(blob := pickle.dumps({"not": "a bundle"})),
            (d / META_FILE).write_text(
                json.dumps(_meta(d) | {"model_sha256": hashlib.sha256(blob).hexdigest()})
            ),
        ),
    ],
    ids=["list", "null", "not json", "fields missing", "garbage", "bad pickle", "other object"],
)
def test_corrupted_bundle_is_refused(tmp_path: Path, corrupt) -> None:  # type: ignore[no-untyped-def]
    d = _bundle().save(tmp_path / "b")
    corrupt(d)
    with pytest.raises(ModelError):
        load_bundle(d)


def test_interrupted_save_keeps_the_previous_bundle(tmp_path: Path) -> None:
    d = _bundle("trees").save(tmp_path / "b")
    _bundle("retrieval").save(d)  # the trees bundle becomes the previous one
    (d / META_FILE).write_text(json.dumps(_meta(d) | {"model_sha256": "0" * 64}))  # a cut save
    with pytest.raises(ModelError, match="checksum"):
        load_bundle(d)
    assert load_bundle(d, fallback=True).kind == "trees"
