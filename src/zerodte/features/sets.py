"""Feature sets: named, versioned, ordered column lists with a schema hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace

import zerodte.features.flow as _flow  # registers the flow group
import zerodte.features.topology as _topology  # registers the topology group
from zerodte.errors import ConfigError
from zerodte.features.groups import GROUPS, group_of

_ = (_flow, _topology)

DTYPE = "float64"
ABSENT_OK = ("qqq_",)
"""Input prefixes of symbols a store may lack (their features are then left out)."""
INTRADAY_VIX = ("vix_change_5m", "vix_change_15m")
"""Columns that need an intraday VIX series."""


@dataclass(frozen=True)
class FeatureSet:
    """An ordered list of feature columns.

    Parameters
    ----------
    name, version
        Identify the set; bump ``version`` whenever a definition changes.
    columns
        Output columns in order (all float64).
    optional_groups
        Groups added only when their input column is present in the data (put/call ratio,
        sentiment): absent data means the columns are absent, never zero. See
        :meth:`resolve`.

    ``warmup_minutes`` is the number of leading rows (minutes of data) during which at least
    one column is NaN by definition; ``schema_hash`` is the SHA-256 of name, version,
    ordered columns and dtypes.
    """

    name: str
    version: int
    columns: tuple[str, ...]
    optional_groups: tuple[str, ...] = ()
    groups: tuple[str, ...] = field(init=False)
    warmup_minutes: int = field(init=False)

    def __post_init__(self) -> None:
        if len(set(self.columns)) != len(self.columns):
            dup = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise ValueError(f"feature set {self.name!r} lists columns twice: {dup}")
        groups: list[str] = []
        warmup = 0
        for col in self.columns:
            group = group_of(col)
            if group.name not in groups:
                groups.append(group.name)
            warmup = max(warmup, group.warmup[col])
        object.__setattr__(self, "groups", tuple(groups))
        object.__setattr__(self, "warmup_minutes", warmup)

    @property
    def dtypes(self) -> tuple[str, ...]:
        """The dtype of every column (always float64)."""
        return tuple(DTYPE for _ in self.columns)

    @property
    def schema_hash(self) -> str:
        """SHA-256 of ``{name, version, columns, dtypes}`` as canonical JSON."""
        payload = {
            "name": self.name,
            "version": self.version,
            "columns": list(self.columns),
            "dtypes": list(self.dtypes),
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def inputs(self) -> tuple[str, ...]:
        """Market-frame columns the set reads."""
        seen: dict[str, None] = {}
        for g in self.groups:
            seen.update(dict.fromkeys(GROUPS[g].inputs))
        return tuple(seen)

    @property
    def lookback(self) -> int:
        """Rows of history (including the current bar) the stream must keep."""
        return max([GROUPS[g].lookback for g in self.groups] or [1])

    def resolve(self, available: Collection[str]) -> FeatureSet:
        """This set for data with the ``available`` columns.

        Adds the optional groups whose input is available, and leaves out the columns the
        data cannot give: those of a group reading a symbol the data lacks (the ``cross``
        group without ``qqq_close``), and the VIX changes when the stored VIX is daily
        (``vix_daily`` marker; a daily value does not change within a session). Left-out
        columns are absent, never zero; the resolved set has its own schema hash, so a
        model trained with them refuses data without them.
        """
        extra: list[str] = []
        for name in self.optional_groups:
            group = GROUPS[name]
            if group.optional_input in available:
                extra.extend(c for c in group.columns if c not in self.columns)
        absent = {c for c in self.inputs if c.startswith(ABSENT_OK) and c not in available}
        daily = "vix_daily" in available
        kept = tuple(
            c
            for c in self.columns
            if not (absent & set(group_of(c).inputs)) and not (daily and c in INTRADAY_VIX)
        )
        if not extra and kept == self.columns:
            return replace(self, optional_groups=())
        return FeatureSet(self.name, self.version, (*kept, *extra), ())

    def only(self, columns: Collection[str]) -> FeatureSet:
        """This set cut to those of ``columns`` it has, in its own order (resolve first).

        Each group computes every column it is asked for the same way whatever else is
        asked, so each kept column's values are those of the whole set.
        """
        kept = tuple(c for c in self.columns if c in columns)
        return FeatureSet(self.name, self.version, kept, ())


def _cols(*groups: str) -> tuple[str, ...]:
    return tuple(c for g in groups for c in GROUPS[g].columns)


MINIMAL_COLUMNS: tuple[str, ...] = (
    "ret_1m",
    "ret_5m",
    "ret_15m",
    "ret_30m",
    "ret_60m",
    "momentum_5m",
    "momentum_15m",
    "rv_15m",
    "rv_30m",
    "volume_spike",
    "vix_level",
    "vix_change_5m",
    "vix_change_15m",
    "minute_of_session",
    "minutes_to_close",
    "day_of_week",
)
DIRECTION_COLUMNS: tuple[str, ...] = (
    "ret_15m",
    "ret_30m",
    "ret_60m",
    "momentum_30m",
    "volume_spike",
    "volume_30m_log",
    "rv_15m",
    "rv_30m",
    "vix_level",
    "minute_of_session",
    "vix_minus_rv",
)
"""The compact base of the ``flow`` set: the move, volume, volatility and clock."""
Q_STATE_EXTRA: tuple[str, ...] = ("minutes_to_close", "tod_sin", "tod_cos", "atr_14_pct")
"""Clock and range columns the Q-scorer's cost part adds to ``flow``."""
DEFAULT_COLUMNS: tuple[str, ...] = _cols(
    "returns", "volatility", "oscillators", "trend", "volume", "session", "time", "vix", "cross"
)
_OPTIONAL = ("put_call", "sentiment")

FEATURE_SETS: dict[str, FeatureSet] = {
    "default": FeatureSet("default", 1, DEFAULT_COLUMNS, _OPTIONAL),
    "minimal": FeatureSet("minimal", 1, MINIMAL_COLUMNS),
    "flow": FeatureSet("flow", 1, (*DIRECTION_COLUMNS, *_cols("flow"))),
    "topology": FeatureSet("topology", 1, (*DEFAULT_COLUMNS, *_cols("topology")), _OPTIONAL),
    "q_state": FeatureSet(
        "q_state",
        1,
        (*DIRECTION_COLUMNS, *_cols("flow"), *Q_STATE_EXTRA),
    ),
}
"""Registered feature sets. ``flow`` is a compact direction set: eleven move, volume,
volatility and clock columns plus the order-flow columns (z30 and relative volume; 5 sessions
of warm-up). ``topology`` is ``default`` plus the (slow) topological columns. ``q_state`` is
the Q-scorer's state: ``flow`` plus the clock and ATR columns its cost part needs."""


def get_feature_set(name: str | FeatureSet) -> FeatureSet:
    """Look up a registered feature set (a :class:`FeatureSet` is returned unchanged)."""
    if isinstance(name, FeatureSet):
        return name
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown feature set {name!r}; use one of {', '.join(sorted(FEATURE_SETS))}"
        ) from None


def custom_feature_set(name: str, version: int, columns: Iterable[str]) -> FeatureSet:
    """A feature set of any known columns (for experiments; not registered)."""
    return FeatureSet(name, version, tuple(columns))
