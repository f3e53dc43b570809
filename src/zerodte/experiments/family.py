"""A family of experiments: fixed data and windows, and the validated overrides of an idea.

Every idea of a family runs on the same market: its quick test on the first
``quick_days`` sessions, and (when promoted) its validation on ``validation_days``
sessions that start ``gap_days`` after the quick window ends. The windows never overlap,
so the validation never sees a day the quick test used to choose (:func:`windows`
checks it). The default sizes follow the predecessor: 13 sessions are 5 070 one-minute
cycles (its "5K-cycle" quick test) and 26 sessions about 10 K cycles.

The number of trials a promotion counts is the number of trials of the family, so a
family is also the unit of multiple-testing control: put ideas that compete for the same
decision in one family.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from zerodte.config import Settings, with_overrides
from zerodte.errors import ConfigError, DataError


@dataclass(frozen=True)
class FamilyConfig:
    """What every trial of a family shares (stored with the family, identical on every worker).

    Attributes
    ----------
    name
        Family name (the unit of multiple-testing control).
    seed, edge
        Synthetic market (``None``: the data the settings name, e.g. the Parquet store).
    quick_days, gap_days, validation_days
        Window sizes in trading days; the validation starts ``gap_days`` after the quick
        window ends.
    base
        Overrides applied to every idea of the family before the idea's own.
    min_trades
        A trial with fewer trades is rejected (its statistics would mean nothing).
    dsr_min, pbo_max
        Promotion needs DSR >= ``dsr_min`` over every quick trial of the family and a
        family PBO <= ``pbo_max``; validation needs DSR >= ``dsr_min`` over every
        validation trial.
    """

    name: str = "default"
    seed: int | None = 7
    edge: float | None = None
    quick_days: int = 13
    gap_days: int = 1
    validation_days: int = 26
    base: dict[str, Any] = field(default_factory=dict)
    min_trades: int = 10
    dsr_min: float = 0.95
    pbo_max: float = 0.5

    def __post_init__(self) -> None:
        for name in ("quick_days", "validation_days"):
            if getattr(self, name) < 3:
                raise ConfigError(f"experiment family {self.name}: {name} must be at least 3")
        if self.gap_days < 0:
            raise ConfigError(f"experiment family {self.name}: gap_days must be >= 0")
        if self.seed is not None and self.seed < 0:
            raise ConfigError(
                f"experiment family {self.name}: seed must be 0 or more, got {self.seed}"
            )
        if self.edge is not None and not 0 <= self.edge <= 1:  # NaN fails both comparisons
            raise ConfigError(
                f"experiment family {self.name}: edge must be in [0, 1], got {self.edge}"
            )
        if self.min_trades < 1:
            raise ConfigError(f"experiment family {self.name}: min_trades must be at least 1")
        if not 0 < self.dsr_min < 1 or not 0 < self.pbo_max <= 1:
            raise ConfigError(
                f"experiment family {self.name}: dsr_min must be in (0, 1) and pbo_max in (0, 1]"
            )

    @property
    def days(self) -> int:
        """Trading days of market the family needs."""
        return self.quick_days + self.gap_days + self.validation_days

    def to_dict(self) -> dict[str, Any]:
        """JSON-native form (what the store keeps)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FamilyConfig:
        """The config stored with a family."""
        return cls(**dict(doc))


@dataclass(frozen=True)
class Windows:
    """The quick-test and validation sessions of a family (disjoint, validation later)."""

    quick: tuple[date, ...]
    validation: tuple[date, ...]

    def __post_init__(self) -> None:
        if set(self.quick) & set(self.validation):
            raise DataError("the quick and validation windows overlap")
        if self.quick and self.validation and max(self.quick) >= min(self.validation):
            raise DataError(
                f"the validation window must start after the quick window ends (quick ends "
                f"{max(self.quick)}, validation starts {min(self.validation)})"
            )

    def of(self, stage: str) -> tuple[date, ...]:
        """The sessions of ``stage`` (``quick`` or ``validation``)."""
        if stage == "quick":
            return self.quick
        if stage == "validation":
            return self.validation
        raise ValueError(f"unknown stage {stage!r}; use 'quick' or 'validation'")


def windows(sessions: Sequence[date], cfg: FamilyConfig) -> Windows:
    """Split the family's market sessions into its quick and validation windows."""
    days = sorted(sessions)
    if len(days) < cfg.days:
        raise DataError(
            f"experiment family {cfg.name} needs {cfg.days} trading days (quick "
            f"{cfg.quick_days} + gap {cfg.gap_days} + validation {cfg.validation_days}); the "
            f"market has {len(days)}. Load more data or shrink the windows"
        )
    quick = tuple(days[: cfg.quick_days])
    start = cfg.quick_days + cfg.gap_days
    return Windows(quick, tuple(days[start : start + cfg.validation_days]))


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` from ``--set``; the value is a TOML literal, else a plain string.

    ``exits.stop_loss_pct=12`` -> 12, ``gates.skip_monday=true`` -> True,
    ``entry.controller=random`` -> "random".
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: use KEY=VALUE, e.g. --set exits.stop_loss_pct=12")
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def _leaf(settings: Settings, key: str) -> Any:
    node: Any = settings
    for part in key.split("."):
        node = getattr(node, part)
    return node


def canonical_overrides(
    settings: Settings, cfg: FamilyConfig, overrides: Mapping[str, Any], source: str = "--set"
) -> dict[str, Any]:
    """The overrides validated against the settings schema, each value as the schema holds it.

    ``12`` and ``12.0`` for a float setting give the same dict, so the same idea submitted
    twice hashes the same.

    Raises
    ------
    ConfigError
        An unknown key (with the closest valid one) or a value outside the key's domain.
    """
    validated = with_overrides(settings, {**cfg.base, **overrides}, source)
    out: dict[str, Any] = {}
    for key in sorted(overrides):
        value = _leaf(validated, key)
        out[key] = list(value) if isinstance(value, tuple) else value
    return json.loads(json.dumps(out, default=str))


def param_hash(family: str, overrides: Mapping[str, Any]) -> str:
    """SHA-256 of the family and its canonical overrides: the identity of an idea."""
    text = json.dumps({"family": family, "overrides": dict(overrides)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def trial_settings(settings: Settings, cfg: FamilyConfig, overrides: Mapping[str, Any]) -> Settings:
    """The settings a trial runs with: the worker's, the family base, then the idea's."""
    return with_overrides(settings, {**cfg.base, **overrides}, f"family {cfg.name}")
