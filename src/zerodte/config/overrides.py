"""``with_overrides``: a validated copy of the settings with some dotted keys changed.

``settings.model_copy(update=...)`` skips validation (a negative stop would pass); every
change of settings after loading goes through here instead, so experiments, comparisons and
the CLI's ``--controller`` obey the same rules as a TOML file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from zerodte.config.fields import field_specs, suggest
from zerodte.config.root import Settings
from zerodte.errors import ConfigError


def with_overrides(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """``settings`` with each dotted key of ``changes`` set, validated as a whole.

    Parameters
    ----------
    settings
        The current settings (unchanged).
    changes
        ``{"entry.controller": "ppo", "exits.stop_loss_pct": 20.0}``: leaf keys only.

    Raises
    ------
    ConfigError
        An unknown key (with the closest valid one) or a value the settings reject (each
        problem named with its key and what is allowed).
    """
    specs = field_specs()
    data = settings.model_dump()
    for key, value in changes.items():
        if key not in specs:
            close = suggest(key, specs)
            hint = f"; did you mean {close}?" if close else "; `zerodte config show` lists keys"
            raise ConfigError(f"cannot override unknown settings key {key!r}{hint}")
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        from zerodte.config.loader import explain_validation

        sources = {k: "override" for k in changes}
        raise ConfigError(explain_validation(exc, sources)) from None
