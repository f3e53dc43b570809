"""Names the settings accept for keys that select a registered object.

The settings tree sits below the packages that hold the registries (features, policy), so
the allowed names are declared here, as the domain of the keys' types, and each registry
checks itself against them: :func:`zerodte.policy.controllers.registry.register_controller`
refuses a name missing here, and a test compares ``FEATURE_SETS`` with
:data:`FEATURE_SET_NAMES`. A wrong name therefore fails when the settings are loaded
(``zerodte config show`` included), with the list of valid names and the closest one.

To add a controller or a feature set, add its name here and register it in its package.
"""

from __future__ import annotations

from typing import Literal, get_args

ControllerName = Literal[
    "momentum",
    "random",
    "prediction",
    "q_scorer",
    "oracle",
    "bandit",
    "consensus",
    "contrarian",
    "ppo",
]
"""``entry.controller``: the entry controllers of ``zerodte.policy.controllers.registry``."""

FeatureSetName = Literal["minimal", "default", "flow", "topology", "q_state"]
"""``qscorer.feature_set``: the feature sets of ``zerodte.features.FEATURE_SETS``."""

CONTROLLER_NAMES: tuple[str, ...] = get_args(ControllerName)
FEATURE_SET_NAMES: tuple[str, ...] = get_args(FeatureSetName)
