"""Ideas for the experiments system: validated against the settings schema, queued once.

An idea is a mapping of dotted settings keys to values (``{"exits.stop_loss_pct": 6}``).
:func:`normalize_idea` applies it to the dashboard's settings with
:func:`zerodte.config.with_overrides` (unknown keys and out-of-domain values are refused
with the key, the value and what is allowed) and reads each value back from the validated
tree, so ``6`` and ``6.0`` are one idea with one hash. The :class:`IdeaQueue` is the seam to
the experiments system's queue; :class:`zerodte.store.ideas.SqlIdeaQueue` implements it in
the store until that system provides its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from zerodte.config import Settings, with_overrides
from zerodte.errors import ConfigError
from zerodte.store.ideas import IdeaRow

MAX_KEYS = 64


class IdeaQueue(Protocol):
    """Where submitted ideas wait for the experiments system."""

    def submit(
        self, params: Mapping[str, Any], *, note: str | None, source: str
    ) -> tuple[IdeaRow, bool]:
        """Queue ``params`` once per parameter hash; ``(idea, created)``."""
        ...

    def ideas(self, status: str | None = None, limit: int = 100) -> list[IdeaRow]:
        """Ideas, newest first."""
        ...

    def counts(self) -> dict[str, int]:
        """Ideas per status."""
        ...


def _leaf(tree: Mapping[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        node = node[part]
    return node


def normalize_idea(settings: Settings, params: Mapping[str, Any]) -> dict[str, Any]:
    """The idea's parameters as validated settings values (JSON types), keys sorted.

    Raises
    ------
    ConfigError
        No parameters, too many, a secret key, an unknown key or an invalid value.
    """
    if not params:
        raise ConfigError(
            "idea: no parameters; send dotted settings keys with values, e.g. "
            '{"params": {"exits.stop_loss_pct": 6.0}}'
        )
    if len(params) > MAX_KEYS:
        raise ConfigError(f"idea: {len(params)} parameters; at most {MAX_KEYS} per idea")
    secret = [
        k for k in params if k.split(".")[-1].endswith(("token", "api_key")) or k == "store.url"
    ]
    if secret:
        raise ConfigError(
            f"idea: {secret[0]} is a secret or a location, not an experiment parameter"
        )
    changed = with_overrides(settings, params, source="idea")
    tree = changed.model_dump(mode="json")
    return {key: _leaf(tree, key) for key in sorted(params)}
