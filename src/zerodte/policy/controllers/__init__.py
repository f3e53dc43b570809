"""Entry controllers and the registry that builds them from settings."""

from __future__ import annotations

from zerodte.policy.controllers.registry import (
    available_controllers,
    build_controller,
    register_controller,
)

__all__ = ["available_controllers", "build_controller", "register_controller"]
