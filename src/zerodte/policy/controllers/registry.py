"""Build the entry controller named by ``settings.entry.controller`` (``ENTRY_CONTROLLER``).

Controllers of lower packages register here at import time; packages that sit below
``policy`` (the Q-scorer, predictors) call :func:`register_controller` from their own
module, which the composition root imports.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING

from zerodte.config.names import CONTROLLER_NAMES
from zerodte.config.root import Settings
from zerodte.errors import ConfigError

if TYPE_CHECKING:  # the controllers (and pandas) are imported when one is built, not here
    from zerodte.policy.base import EntryController

ControllerFactory = Callable[[Settings], "EntryController"]

_FACTORIES: dict[str, ControllerFactory] = {}


def register_controller(name: str, factory: ControllerFactory, *, replace: bool = False) -> None:
    """Make ``name`` buildable by :func:`build_controller`.

    Registering a taken name raises unless ``replace`` (two packages silently fighting
    over one name would make a run's controller depend on import order); so does a name
    missing from :data:`zerodte.config.names.CONTROLLER_NAMES`, which ``entry.controller``
    could never select.
    """
    if name not in CONTROLLER_NAMES:
        raise ConfigError(
            f"entry controller {name!r} is not among the names the settings accept "
            f"({', '.join(CONTROLLER_NAMES)}); add it to zerodte.config.names.ControllerName "
            "first, so that entry.controller can select it"
        )
    if name in _FACTORIES and not replace and _FACTORIES[name] is not factory:
        raise ConfigError(f"entry controller {name!r} is already registered")
    _FACTORIES[name] = factory


def available_controllers() -> tuple[str, ...]:
    """Registered controller names, sorted."""
    return tuple(sorted(_FACTORIES))


def build_controller(settings: Settings, name: str | None = None) -> EntryController:
    """Build the controller ``name`` (default ``settings.entry.controller``).

    Raises
    ------
    ConfigError
        The name is unknown; the message lists the valid names and the closest match.
    """
    key = name if name is not None else settings.entry.controller
    factory = _FACTORIES.get(key)
    if factory is None:
        valid = available_controllers()
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"unknown entry controller {key!r} (entry.controller / ENTRY_CONTROLLER); "
            f"valid names: {', '.join(valid)}.{hint}"
        )
    return factory(settings)


def _momentum(settings: Settings) -> EntryController:
    from zerodte.policy.controllers.momentum import MomentumController

    e = settings.entry
    return MomentumController(e.momentum_lookback_minutes, e.momentum_threshold_pct)


def _random(settings: Settings) -> EntryController:
    from zerodte.policy.controllers.random import RandomController

    e = settings.entry
    return RandomController(e.random_p_call, e.random_p_put, e.random_seed)


register_controller("momentum", _momentum)
register_controller("random", _random)


def _prediction(settings: Settings) -> EntryController:
    from zerodte.policy.controllers.prediction import PredictionController

    return PredictionController.from_settings(settings)


register_controller("prediction", _prediction)


def _oracle(settings: Settings) -> EntryController:
    raise ConfigError(
        "the oracle controller is built from the synthetic market's hidden state, not from "
        "settings alone: `zerodte q power` runs it beside the Q-scorer, and `zerodte backtest "
        "--controller oracle` builds it on a synthetic market (--seed/--edge); it is refused "
        "on real data"
    )


register_controller("oracle", _oracle)


def _bandit(settings: Settings) -> EntryController:
    from zerodte.policy.controllers.bandit import BanditController

    return BanditController.from_settings(settings.entry.bandit)


def _consensus(settings: Settings) -> EntryController:
    from zerodte.policy.controllers.consensus import ConsensusController

    return ConsensusController(settings.entry.consensus)


def _contrarian(settings: Settings) -> EntryController:
    from zerodte.policy.controllers.consensus import ConsensusController

    return ConsensusController(settings.entry.consensus, name="contrarian")


def _ppo(settings: Settings) -> EntryController:
    from zerodte.policy.controllers.ppo import PPOController

    return PPOController.load(settings.entry.ppo.model_dir, settings.entry.ppo)


register_controller("bandit", _bandit)
register_controller("consensus", _consensus)
register_controller("contrarian", _contrarian)
register_controller("ppo", _ppo)
