"""The evaluation context handed to every feature group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zerodte.features import kernels as k
from zerodte.types import SESSION_MINUTES


class RunningSums:
    """Running sums carried from one piece of a batch to the next.

    A piece's buffer starts ``history`` rows before its first row; the sum of the whole
    history up to the row before the buffer (``before``) continues each sum exactly. After
    a piece, ``mark`` (the row, within its buffer, before the next piece's buffer) holds
    the sums the next piece starts from.
    """

    def __init__(self) -> None:
        self.before: dict[str, float] = {}
        self.mark: int | None = None
        self._marked: dict[str, float] = {}

    def running(self, name: str, values: np.ndarray) -> np.ndarray:
        """``np.cumsum(values)`` continued from this buffer's ``before`` sum of ``name``."""
        cs = k.running_sum(values, self.before.get(name, 0.0))
        if self.mark is not None:
            self._marked[name] = float(cs[self.mark])
        return cs

    def advance(self) -> None:
        """The next piece starts from the marked sums (from zero without a mark)."""
        self.before = self._marked if self.mark is not None else {}
        self._marked = {}
        self.mark = None


@dataclass
class Context:
    """Extended input arrays plus the number ``n`` of trailing rows being computed.

    ``x`` maps input names (``spy_close``, ``sid``, ``minute``, ...) to arrays of equal
    length ``L >= n``; the first ``L - n`` rows are history. ``state`` holds the recursive
    state of each group (keyed by group name) and persists between stream updates.
    ``wanted`` is the set of output columns the caller asked for, so groups may skip work.
    """

    x: dict[str, np.ndarray]
    n: int
    state: dict[str, dict[str, Any]]
    wanted: frozenset[str]
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    sums: RunningSums | None = None

    def col(self, name: str) -> np.ndarray:
        """The extended input array ``name``."""
        return self.x[name]

    def new(self, name: str) -> np.ndarray:
        """The rows being computed of input ``name``."""
        return k.tail(self.x[name], self.n)

    def group_state(self, group: str) -> dict[str, Any]:
        """Mutable recursive state of ``group`` (created empty)."""
        return self.state.setdefault(group, {})

    def want(self, *names: str) -> bool:
        """Whether any of ``names`` was requested."""
        return any(name in self.wanted for name in names)

    def running_sum(self, name: str, values: np.ndarray) -> np.ndarray:
        """The cumulative sum of ``values`` over the extended rows, continued from the rows
        before the buffer when the batch is computed in pieces (:class:`RunningSums`)."""
        if self.sums is None:
            return np.cumsum(values)
        return self.sums.running(name, values)

    def log_close(self) -> np.ndarray:
        """``log(spy_close)`` over the extended rows (cached)."""
        if "log_close" not in self.cache:
            self.cache["log_close"] = np.log(self.x["spy_close"])
        return self.cache["log_close"]

    def session_starts(self) -> np.ndarray:
        """Position of each extended row's session start within the buffer (cached)."""
        if "session_starts" not in self.cache:
            self.cache["session_starts"] = k.session_starts(self.x["sid"])
        return self.cache["session_starts"]

    def intraday_r1(self) -> np.ndarray:
        """One-minute log returns that never span the overnight gap (extended rows).

        The first bar of a session uses its own open (``log(c / o)``); every other bar
        ``log(c_t / c_{t-1})``. Realised volatility is built on these so that the overnight
        gap does not inflate the first half hour of every session.
        """
        if "r1_intraday" not in self.cache:
            lc = self.log_close()
            sid = self.x["sid"]
            r = np.empty(len(lc))
            if len(lc):
                r[1:] = lc[1:] - lc[:-1]
                first = np.empty(len(lc), dtype=bool)
                first[0] = True
                first[1:] = sid[1:] != sid[:-1]
                r = np.where(first, lc - np.log(self.x["spy_open"]), r)
            self.cache["r1_intraday"] = r
        return self.cache["r1_intraday"]

    def rv(self, window: int) -> np.ndarray:
        """Annualised realised volatility in percent points over ``window`` minutes (new rows).

        ``rv = 100 * sqrt(252 * 390 * mean(r^2))`` of intraday one-minute log returns
        (zero-mean estimator; the drift over 30 minutes is negligible against the noise).
        """
        key = f"rv_{window}"
        if key not in self.cache:
            r = self.intraday_r1()
            # squares first: squaring each window's copy cost 30x the work and a (rows,
            # window) temporary; every window sums the same squares in the same order
            ms = k.rolling(r * r, window, self.n, lambda w: w.mean(axis=1))
            self.cache[key] = 100.0 * np.sqrt(252.0 * SESSION_MINUTES * ms)
        return self.cache[key]
