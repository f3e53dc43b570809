"""QThink state: versioned agent weights and time-block penalties, and the time blocks.

A state is a list of versions. Version 0 is neutral (every weight 1, every penalty 0);
version ``j`` was computed from the trades whose regret was fully known by its
``published_at`` time (``zerodte.learning.reinforce``). The version in force at bar ``t``
is the last one with ``published_at < t`` (strictly before), so a decision never uses a
weight that depends on anything at or after its own bar. The lookup is one
``searchsorted`` over the bar times, the same for ``decide`` and ``decide_batch``.

Time blocks (America/New_York, ``[start, end)``)::

    early_open   09:30-10:30      chop_mid     10:30-12:30
    setup_mid    12:30-14:30      decay_close  14:30-16:00
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.errors import ConfigError

STATE_FORMAT = "zerodte.qthink_state/1"
TIME_BLOCKS: tuple[tuple[str, int, int], ...] = (
    ("early_open", 9 * 60 + 30, 10 * 60 + 30),
    ("chop_mid", 10 * 60 + 30, 12 * 60 + 30),
    ("setup_mid", 12 * 60 + 30, 14 * 60 + 30),
    ("decay_close", 14 * 60 + 30, 16 * 60),
)
BLOCK_NAMES: tuple[str, ...] = tuple(b[0] for b in TIME_BLOCKS)
OUTSIDE = "outside"


def block_codes(times: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Index into :data:`BLOCK_NAMES` of each time (-1 outside the regular session)."""
    idx = pd.DatetimeIndex(times)
    if idx.tz is None:
        raise ValueError("time blocks need tz-aware times (America/New_York)")
    local = idx.tz_convert("America/New_York")
    minute = np.asarray(local.hour * 60 + local.minute, np.int64)
    out = np.full(len(minute), -1, np.int64)
    for i, (_, lo, hi) in enumerate(TIME_BLOCKS):
        out[(minute >= lo) & (minute < hi)] = i
    return out


def time_blocks(times: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Block name of each time (``"outside"`` before 09:30 or from 16:00)."""
    codes = block_codes(times)
    names = np.array([*BLOCK_NAMES, OUTSIDE], dtype=object)
    return np.asarray(names[codes], dtype=object)


@dataclass(frozen=True)
class StateVersion:
    """One published version of the weights and penalties."""

    version: int
    published_at: pd.Timestamp | None  # None: version 0, in force from the start
    trades: int
    weights: Mapping[str, float]
    penalties: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "version": self.version,
            "published_at": None if self.published_at is None else self.published_at.isoformat(),
            "trades": self.trades,
            "weights": dict(self.weights),
            "penalties": dict(self.penalties),
        }


@dataclass(frozen=True)
class QThinkState:
    """The versions of a QThink state and what made them (see the module docstring)."""

    agents: tuple[str, ...]
    versions: tuple[StateVersion, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def neutral(cls, agents: Sequence[str]) -> QThinkState:
        """Only version 0 (weights 1, penalties 0)."""
        return cls(tuple(agents), (neutral_version(agents),))

    def _published_ns(self) -> np.ndarray:
        return np.array(
            [
                np.iinfo(np.int64).min if v.published_at is None else v.published_at.value
                for v in self.versions
            ],
            np.int64,
        )

    def version_index(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Index of the version in force at each time (published strictly before it)."""
        ns = np.asarray(pd.DatetimeIndex(times).as_unit("ns").asi8, np.int64)
        pos = np.searchsorted(self._published_ns(), ns, side="left") - 1
        return np.asarray(np.maximum(pos, 0), np.int64)

    def weight_matrix(self, times: pd.DatetimeIndex, agents: Sequence[str]) -> np.ndarray:
        """``(n, len(agents))`` weights in force at each time (1 for an unknown agent)."""
        table = np.array(
            [[float(v.weights.get(a, 1.0)) for a in agents] for v in self.versions], np.float64
        )
        return np.asarray(table[self.version_index(times)], np.float64)

    def penalty_points(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Penalty points of each time's block in the version in force (0 outside)."""
        table = np.array(
            [[float(v.penalties.get(b, 0.0)) for b in BLOCK_NAMES] + [0.0] for v in self.versions],
            np.float64,
        )
        codes = block_codes(pd.DatetimeIndex(times))
        rows = self.version_index(times)
        return np.asarray(table[rows, np.where(codes < 0, len(BLOCK_NAMES), codes)], np.float64)

    def to_json(self) -> dict[str, Any]:
        """The state as written to a file."""
        return {
            "format": STATE_FORMAT,
            "agents": list(self.agents),
            "blocks": list(BLOCK_NAMES),
            "meta": dict(self.meta),
            "versions": [v.to_json() for v in self.versions],
        }


def neutral_version(agents: Sequence[str]) -> StateVersion:
    """Version 0: every weight 1, every penalty 0, in force from the start."""
    return StateVersion(0, None, 0, dict.fromkeys(agents, 1.0), dict.fromkeys(BLOCK_NAMES, 0.0))


def state_from_json(data: Mapping[str, Any], where: str = "state") -> QThinkState:
    """Parse a state written by :meth:`QThinkState.to_json` (errors name the field)."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: holds a JSON {type(data).__name__}, not a QThink state object; write "
            "the state with `zerodte learn apply`"
        )
    if data.get("format") != STATE_FORMAT:
        raise ConfigError(
            f"{where}: format {data.get('format')!r} is not {STATE_FORMAT!r}; write the state "
            "with `zerodte learn apply`"
        )
    for name, kind in (("versions", list), ("agents", list), ("meta", dict)):
        if not isinstance(data.get(name, kind()), kind):
            raise ConfigError(f"{where}: {name} must be a JSON {kind.__name__}")
    versions = []
    for i, v in enumerate(data.get("versions", [])):
        try:
            published = v["published_at"]
            versions.append(
                StateVersion(
                    int(v["version"]),
                    None if published is None else pd.Timestamp(published),
                    int(v["trades"]),
                    {str(k): float(x) for k, x in v["weights"].items()},
                    {str(k): float(x) for k, x in v["penalties"].items()},
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: versions[{i}] is malformed ({exc})") from exc
    if not versions:
        raise ConfigError(f"{where}: no versions; a state has at least version 0")
    stamps = [v.published_at for v in versions[1:]]
    if any(s is None for s in stamps) or any(
        a is not None and b is not None and b < a for a, b in pairwise(stamps)
    ):
        raise ConfigError(f"{where}: versions after 0 need increasing published_at times")
    return QThinkState(tuple(data.get("agents", [])), tuple(versions), dict(data.get("meta", {})))


def load_state(path: Path) -> QThinkState:
    """Read a state file (``zerodte learn apply --out``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are both
        raise ConfigError(f"cannot read the QThink state {path}: {exc}") from exc
    return state_from_json(data, where=str(path))
