"""Settings as they go into run manifests: JSON-ready, secrets hidden, hashable."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from zerodte.config.fields import MASK, URL_KEYS, field_specs, redact_url
from zerodte.config.root import Settings


def _set(tree: dict[str, Any], key: str, value: object) -> None:
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
        node = node[part]
    node[leaf] = value


def _get(tree: dict[str, Any], key: str) -> object:
    node: Any = tree
    for part in key.split("."):
        node = node[part]
    return node


def settings_manifest(settings: Settings) -> dict[str, Any]:
    """Return the settings as a JSON-ready dict for run manifests.

    Secrets (``SecretStr`` fields) become ``"**********"`` when set and None when not; the
    password of a database URL is masked the same way. Paths and dates become strings,
    tuples become lists.
    """
    tree = settings.model_dump(mode="json")
    for key, spec in field_specs().items():
        value = _get(tree, key)
        if spec.secret:
            _set(tree, key, None if value is None else MASK)
        elif key in URL_KEYS and isinstance(value, str):
            _set(tree, key, redact_url(value))
    return tree


def settings_hash(settings: Settings) -> str:
    """SHA-256 (hex) of the canonical JSON of the manifest, with every secret set to None.

    Whether a token is present does not change what a run computes, so it does not change the
    hash either: two machines with the same configuration but different credentials agree.
    """
    tree = settings_manifest(settings)
    for key, spec in field_specs().items():
        if spec.secret:
            _set(tree, key, None)
    text = json.dumps(tree, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
