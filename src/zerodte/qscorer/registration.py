"""``q_scorer`` in the controller registry, without importing the controller until it is built.

The Q-scorer sits above ``policy``, so the registry cannot name it: the composition root calls
:func:`register` (every ``zerodte`` command does, so any ``--controller`` may be
``q_scorer``), and importing :mod:`zerodte.qscorer.controller` calls it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zerodte.config.root import Settings
    from zerodte.qscorer.controller import QScorerController


def _factory(settings: Settings) -> QScorerController:
    from zerodte.qscorer.controller import QScorerController

    return QScorerController.from_settings(settings)


def register() -> None:
    """Register ``q_scorer`` with the controller registry (idempotent)."""
    from zerodte.policy.controllers.registry import register_controller

    register_controller("q_scorer", _factory)
