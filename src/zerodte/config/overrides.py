"""Changing a few settings keys in code, validated like every other source.

``settings.model_copy(update=...)`` skips validation, so a horizon of 0 or an unknown
controller would pass; :func:`with_overrides` re-validates the whole tree and reports a
bad value with its key, the value, the source ``override`` and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from zerodte.config.fields import field_specs, suggest
from zerodte.config.loader import explain_validation
from zerodte.config.root import Settings
from zerodte.errors import ConfigError


def with_overrides(
    settings: Settings, changes: Mapping[str, Any], source: str = "override"
) -> Settings:
    """``settings`` with dotted keys changed, e.g. ``{"entry.controller": "random"}``.

    Raises
    ------
    ConfigError
        An unknown key (with the closest valid one) or a value outside the key's domain.
    """
    specs = field_specs()
    tree = settings.model_dump()
    for key, value in changes.items():
        if key not in specs:
            hint = suggest(key, specs)
            raise ConfigError(
                f"{source}: unknown key {key}" + (f"; did you mean {hint}?" if hint else "")
            )
        *sections, leaf = key.split(".")
        node = tree
        for part in sections:
            node = node[part]
        node[leaf] = value
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(explain_validation(exc, dict.fromkeys(changes, source))) from None
