"""Typed settings: one tree, loaded once, passed down explicitly.

See ``docs/configuration.md`` for the sources, their precedence, presets and legacy aliases.
"""

from __future__ import annotations

from zerodte.config.aliases import ALIASES, Alias
from zerodte.config.loader import load_settings, load_settings_with_sources
from zerodte.config.manifest import settings_hash, settings_manifest
from zerodte.config.overrides import with_overrides
from zerodte.config.presets import PresetInfo, list_presets, preset_text
from zerodte.config.root import Settings

__all__ = [
    "ALIASES",
    "Alias",
    "PresetInfo",
    "Settings",
    "list_presets",
    "load_settings",
    "load_settings_with_sources",
    "preset_text",
    "settings_hash",
    "settings_manifest",
    "with_overrides",
]
