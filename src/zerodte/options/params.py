"""Per-underlying option-model parameters: the artifact ``options calibrate`` writes.

A JSON file (written atomically)::

    {"kind": "zerodte.option_params", "version": 1, "root": "SPXW", "underlying": "SPX",
     "params": {"iv_vix_ratio": ..., "base_spread_pct": ..., ...},   # options.* keys
     "fitted_on": {"days": [...], "quotes": n, "sources": [sha256, ...]},
     "errors": {...}, "code_version": "..."}

The parameters are never applied by default: a run loads them only when
``options.model_params`` names the file, and only for the root they were fitted on
(``options.underlying``); the run summary then records the file, its SHA-256 and root
(``option_model``). Synthetic runs keep the default model.

Rescaling to another root (:func:`rescaled`) keeps the scale-free parameters (vols and
spread percentages) and takes the tick and strike grid of the target root; the result is
marked ``rescaled_from`` and is a starting point, not a measurement: the errors of a model
are measured on the quotes of its own underlying only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from zerodte.config.overrides import with_overrides
from zerodte.config.root import Settings
from zerodte.errors import ConfigError
from zerodte.io import atomic_write_json
from zerodte.options.contracts import rules_for

KIND = "zerodte.option_params"
VERSION = 1
ROOT_KEYS = ("tick", "min_spread", "strike_step")
"""Parameters that belong to a root's listing rules, not to its market."""


def save_params(path: Path, root: str, params: dict[str, Any], **meta: Any) -> Path:
    """Write the artifact for ``root`` (``meta``: ``fitted_on``, ``errors``, ...)."""
    rules = rules_for(root)
    body = {
        "kind": KIND,
        "version": VERSION,
        "root": rules.root,
        "underlying": rules.underlying,
        "params": params,
        **meta,
    }
    return atomic_write_json(Path(path), body)


def read_params(path: Path) -> dict[str, Any]:
    """The artifact at ``path``; :class:`ConfigError` when it is not one."""
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"options.model_params {path}: cannot read it ({exc}); write it with "
            "`zerodte options calibrate --out FILE`"
        ) from exc
    if not isinstance(body, dict) or body.get("kind") != KIND or body.get("version") != VERSION:
        raise ConfigError(
            f"options.model_params {path} is not a zerodte option-parameter file (version "
            f"{VERSION}); write one with `zerodte options calibrate --out FILE`"
        )
    return body


def apply_model_params(settings: Settings) -> tuple[Settings, dict[str, Any] | None]:
    """``settings`` with ``options.model_params`` applied, and the record for the summary.

    Raises
    ------
    ConfigError
        The file is not an artifact, or was fitted on another root than
        ``options.underlying``.
    """
    path = settings.options.model_params
    if path is None:
        return settings, None
    body = read_params(path)
    root = settings.options.underlying
    if body["root"] != root:
        raise ConfigError(
            f"options.model_params {path} was fitted on {body['root']} quotes and the run "
            f"trades {root} (options.underlying); fit {root} with `zerodte options calibrate "
            f"--root {root}` or set options.underlying = {body['root']!r}"
        )
    changes = {f"options.{k}": v for k, v in body["params"].items()}
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    record = {
        "params": str(path),
        "sha256": digest,
        "root": root,
        "rescaled_from": body.get("rescaled_from"),
        "fitted_on": body.get("fitted_on", {}).get("days"),
    }
    return with_overrides(settings, changes, source=f"model_params:{path}"), record


def rescaled(body: dict[str, Any], target: str) -> dict[str, Any]:
    """The artifact ``body`` moved to ``target``'s listing rules (module docstring)."""
    rules = rules_for(target)
    params = {k: v for k, v in body["params"].items() if k not in ROOT_KEYS}
    params.update(tick=rules.tick_low, min_spread=rules.tick_low, strike_step=rules.strike_step)
    return {
        **body,
        "root": rules.root,
        "underlying": rules.underlying,
        "params": params,
        "rescaled_from": body["root"],
    }
