"""``with_overrides``: dotted leaf keys, validated like a settings file, naming the source."""

from __future__ import annotations

import pytest

from zerodte.config import Settings, with_overrides
from zerodte.errors import ConfigError


def test_a_valid_change_is_applied_and_the_rest_kept() -> None:
    base = Settings()
    out = with_overrides(base, {"entry.controller": "random", "qscorer.cost_trees": 20})
    assert out.entry.controller == "random" and out.qscorer.cost_trees == 20
    assert out.exits == base.exits and base.entry.controller == "momentum"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"entry.controler": "random"}, "did you mean entry.controller?"),
        ({"entry": {"controller": "random"}}, "unknown key entry"),  # a whole section
        ({"nope.key": 1}, "unknown key nope.key"),
        ({"qscorer.horizon_minutes": 0}, "qscorer.horizon_minutes = 0 (from --horizon)"),
        ({"entry.controller": "randm"}, "did you mean 'random'?"),
        ({"qscorer.validation_fraction": 0.9, "qscorer.calibration_fraction": 0.2}, "below 1"),
    ],
)
def test_bad_changes_are_refused_with_key_value_and_source(
    changes: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ConfigError) as err:
        with_overrides(Settings(), changes, source="--horizon")
    assert fragment in str(err.value), str(err.value)
