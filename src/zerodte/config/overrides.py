"""``with_overrides``: change settings by dotted keys, validated like a settings file.

``settings.model_copy(update=...)`` skips validation, so a horizon of 0, a typo or an
unknown controller would slip into a run. :func:`with_overrides` accepts only leaf keys of
the settings tree (a whole section cannot be replaced by accident), re-validates the whole
tree through the same pydantic models as a TOML file, and reports a bad value with its key,
the value, the source (``override`` unless the caller names one) and what is allowed.
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
    """A validated copy of ``settings`` with dotted keys changed.

    ``with_overrides(settings, {"entry.controller": "random"})``.

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
                f"{source}: unknown key {key}"
                + (f"; did you mean {hint}?" if hint else "")
                + " (`zerodte config show` lists every key)"
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
