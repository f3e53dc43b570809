"""Save a trained PPO policy as the artifact :mod:`zerodte.policy.controllers.ppo` loads.

Files in the model directory, each written atomically:

* ``ppo.zip``: the sb3-contrib MaskablePPO model (``MaskablePPO.load`` resumes training);
* ``actor.npz``: the actor's layers as numpy arrays (``W0, b0, W1, b1, ...``), what
  inference uses (no torch at decision time);
* ``ppo_metadata.json``: SHA-256 of both files, the state's names and schema hash, the
  data hash, the code version, the config it was trained with and its training figures.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from zerodte.io import atomic_write_bytes, atomic_write_text
from zerodte.policy.controllers.ppo import ACTOR_FILE, METADATA_FILE, MODEL_FILE


def actor_layers(model: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """The actor of a MaskablePPO ``MlpPolicy``: its hidden Linear layers and action head."""
    policy = model.policy
    layers = [
        (m.weight.detach().cpu().numpy(), m.bias.detach().cpu().numpy())
        for m in policy.mlp_extractor.policy_net
        if isinstance(m, nn.Linear)
    ]
    head = policy.action_net
    layers.append((head.weight.detach().cpu().numpy(), head.bias.detach().cpu().numpy()))
    return layers


def save_ppo(model_dir: Path, model: Any, metadata: dict[str, Any]) -> Path:
    """Write the three files; returns the metadata path."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "ppo")
        zipped = (Path(tmp) / "ppo.zip").read_bytes()
    atomic_write_bytes(model_dir / MODEL_FILE, zipped)
    buf = io.BytesIO()
    arrays = {}
    for k, (w, b) in enumerate(actor_layers(model)):
        arrays[f"W{k}"], arrays[f"b{k}"] = w, b
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    actor = buf.getvalue()
    atomic_write_bytes(model_dir / ACTOR_FILE, actor)
    meta = {
        **metadata,
        "model_sha256": hashlib.sha256(zipped).hexdigest(),
        "actor_sha256": hashlib.sha256(actor).hexdigest(),
        "n_layers": len(arrays) // 2,
    }
    return atomic_write_text(model_dir / METADATA_FILE, json.dumps(meta, indent=2, sort_keys=True))
