"""``with_overrides``: change settings by dotted keys, validated like a settings file.

``model_copy(update=...)`` skips validation, so a typo or an out-of-range value would slip
into a run. Every override goes through the same pydantic models as a TOML file: unknown
keys and bad values raise :class:`~zerodte.errors.ConfigError` naming the key and value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from zerodte.config.root import Settings
from zerodte.errors import ConfigError


def with_overrides(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """A validated copy of ``settings`` with ``{"section.key": value}`` applied.

    Raises
    ------
    ConfigError
        A key is not a setting, or a value is outside its domain.
    """
    tree = settings.model_dump(mode="python")
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        node: Any = tree
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(
                    f"unknown setting {dotted!r}: no section {'.'.join(parts[: i + 1])!r}; "
                    "`zerodte config show` lists every key"
                )
            node = node[part]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(f"unknown setting {dotted!r}; `zerodte config show` lists every key")
        node[parts[-1]] = value
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        raise ConfigError(f"invalid override ({shown}): {exc}") from exc
