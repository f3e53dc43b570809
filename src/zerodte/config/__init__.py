"""Typed settings: one tree, loaded once, passed down explicitly."""

from __future__ import annotations

from zerodte.config.loader import load_settings
from zerodte.config.root import Settings

__all__ = ["Settings", "load_settings"]
