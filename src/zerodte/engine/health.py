"""Health checks before each live cycle; a failing check skips the cycle with its reason.

================  ===========================================================  =========
check             fails when                                                   skips
================  ===========================================================  =========
``data``          the cycle has no option quotes, or the SPY quote is older     cycle
                  than ``live.max_quote_age_s``
``broker``        a probe of the venue fails or takes over                     cycle
                  ``live.max_broker_latency_s``
``clock``         the venue's clock and ours differ by over                    cycle
                  ``live.max_clock_skew_s``
``drift``         a feature drifted off the training window (after             entries
                  ``live.psi_min_rows`` cycles): PSI above ``live.psi_max``
                  against binned training data, or, when only the training
                  means and deviations are known, a standardised mean
                  difference above ``live.drift_smd_max``
``calibration``   over the last ``live.calibration_window`` closed trades,     entries
                  ``|mean confidence - win rate| > live.calibration_max_gap``
================  ===========================================================  =========

Data, broker and clock failures skip the whole cycle (nothing trustworthy to act on);
model-health failures stop new entries only, so exits keep being managed.

PSI (population stability index) of a feature over ``k`` reference bins with expected
shares ``e_j`` and observed shares ``a_j``: ``PSI = sum_j (a_j - e_j) ln(a_j / e_j)``
(shares floored at 1e-4); 0.1 is a moderate and 0.25 a large shift (Siddiqi, *Credit Risk
Scorecards*, 2006).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from scipy.special import ndtri

from zerodte.config.settings import LiveSettings
from zerodte.engine.clock import Clock
from zerodte.engine.parts import Skip

logger = logging.getLogger(__name__)

Scope = Literal["cycle", "entries"]


class HealthCheck(Protocol):
    """One check; ``None`` when healthy, else why not."""

    name: str
    scope: Scope

    def check(self, i: int) -> str | None:
        """Check before cycle ``i``."""
        ...


class HealthMonitor:
    """Runs the checks in order; the first failure (cycle-wide ones first) skips.

    Failures are counted per check for the summary.
    """

    def __init__(self, checks: Sequence[HealthCheck]) -> None:
        self.checks = sorted(checks, key=lambda c: c.scope != "cycle")
        self.failures: Counter[str] = Counter()
        self.last: dict[str, str] = {}

    def before(self, i: int) -> Skip | None:
        """The skip of cycle ``i`` or ``None``."""
        for check in self.checks:
            problem = check.check(i)
            if problem is not None:
                self.failures[check.name] += 1
                # Once per failure (and per change of reason), not once per cycle.
                level = logging.DEBUG if self.last.get(check.name) == problem else logging.WARNING
                logger.log(level, "health %s failed at cycle %d: %s", check.name, i, problem)
                self.last[check.name] = problem
                return Skip(check.scope, f"{check.name}: {problem}")
        return None

    def bind_features(self, features: Callable[[int], Mapping[str, float]]) -> None:
        """Give checks that read features (drift) the decision source's features."""
        for check in self.checks:
            if isinstance(check, FeatureDrift):
                check.features = features

    def summary(self) -> dict[str, Any]:
        """Failures per check and the last reason of each."""
        return {"failures": dict(self.failures), "last": dict(self.last)}


class DataFreshness:
    """Option quotes present and the underlying quote fresh."""

    name = "data"
    scope: Scope = "cycle"

    def __init__(
        self, has_quotes: Callable[[int], bool], quote_age: Callable[[], float], max_age_s: float
    ) -> None:
        self.has_quotes = has_quotes
        self.quote_age = quote_age
        self.max_age_s = max_age_s

    def check(self, i: int) -> str | None:
        """Stale or missing data."""
        if not self.has_quotes(i):
            return "no option quotes for this bar"
        age = self.quote_age()
        if math.isfinite(age) and age > self.max_age_s:
            return f"SPY quote {age:.0f} s old (limit {self.max_age_s:g} s)"
        return None


class BrokerReachability:
    """A probe of the venue every ``every`` cycles: it must answer within the limit."""

    name = "broker"
    scope: Scope = "cycle"

    def __init__(
        self,
        probe: Callable[[], object],
        max_latency_s: float,
        every: int = 1,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.probe = probe
        self.max_latency_s = max_latency_s
        self.every = every
        self.timer = timer
        self.latencies: list[float] = []

    def check(self, i: int) -> str | None:
        """Unreachable or slow broker."""
        if i % self.every:
            return None
        t0 = self.timer()
        try:
            self.probe()
        except Exception as exc:
            logger.exception("broker probe failed")
            return f"unreachable ({type(exc).__name__}: {exc})"
        latency = self.timer() - t0
        self.latencies.append(latency)
        if latency > self.max_latency_s:
            return f"answered in {latency:.2f} s (limit {self.max_latency_s:g} s)"
        return None


class ClockSkew:
    """Our clock against the venue's, every ``every`` cycles."""

    name = "clock"
    scope: Scope = "cycle"

    def __init__(
        self,
        venue_time: Callable[[], pd.Timestamp],
        clock: Clock,
        max_skew_s: float,
        every: int = 1,
    ) -> None:
        self.venue_time = venue_time
        self.clock = clock
        self.max_skew_s = max_skew_s
        self.every = every
        self.skews: list[float] = []

    def check(self, i: int) -> str | None:
        """Clocks apart by more than the limit."""
        if i % self.every:
            return None
        try:
            venue = self.venue_time()
        except Exception as exc:
            logger.exception("venue clock probe failed")
            return f"venue clock unreadable ({type(exc).__name__}: {exc})"
        skew = (self.clock.now() - venue).total_seconds()
        self.skews.append(skew)
        if abs(skew) > self.max_skew_s:
            return f"our clock is {skew:+.1f} s off the venue's (limit {self.max_skew_s:g} s)"
        return None


@dataclass(frozen=True)
class FeatureReference:
    """Training-window distribution of features: bin edges and expected shares (PSI), or
    only means and standard deviations (standardised mean difference)."""

    edges: Mapping[str, np.ndarray] = field(default_factory=dict)
    expected: Mapping[str, np.ndarray] = field(default_factory=dict)
    moments: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """The features it describes."""
        return sorted({*self.edges, *self.moments})

    @classmethod
    def from_moments(
        cls, columns: Sequence[str], means: Sequence[float], stds: Sequence[float]
    ) -> FeatureReference:
        """A model that stored only its training means and standard deviations (binning
        them as normal would misjudge discrete features such as breakout flags)."""
        moments = {
            c: (float(m), float(s)) for c, m, s in zip(columns, means, stds, strict=True) if s > 0
        }
        return cls(moments=moments)

    @classmethod
    def from_normal(
        cls, columns: Sequence[str], means: Sequence[float], stds: Sequence[float], bins: int = 10
    ) -> FeatureReference:
        """Equal-probability bins of N(mean, std) per feature (continuous features)."""
        z = ndtri(np.arange(1, bins) / bins)
        edges = {c: m + s * z for c, m, s in zip(columns, means, stds, strict=True) if s > 0}
        expected = {c: np.full(bins, 1.0 / bins) for c in edges}
        return cls(edges, expected)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, columns: Sequence[str], bins: int = 10
    ) -> FeatureReference:
        """Quantile bins of the training frame's features."""
        edges, expected = {}, {}
        for c in columns:
            x = frame[c].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            if len(x) < bins:
                continue
            e = np.unique(np.quantile(x, np.arange(1, bins) / bins))
            counts = np.bincount(np.searchsorted(e, x, side="right"), minlength=len(e) + 1)
            edges[c], expected[c] = e, counts / counts.sum()
        return cls(edges, expected)


def psi(reference_edges: np.ndarray, expected: np.ndarray, values: np.ndarray) -> float:
    """Population stability index of ``values`` against a reference (module docstring)."""
    x = values[np.isfinite(values)]
    if len(x) == 0:
        return math.nan
    counts = np.bincount(np.searchsorted(reference_edges, x, side="right"), minlength=len(expected))
    actual = np.maximum(counts / counts.sum(), 1e-4)
    exp = np.maximum(np.asarray(expected, dtype=float), 1e-4)
    return float(np.sum((actual - exp) * np.log(actual / exp)))


class FeatureDrift:
    """PSI of each referenced feature over the cycles seen so far.

    A feature constant over the window (one value a session: day of week, the previous
    session's statistics) has no distribution to compare within a session and is not
    tested. The window is one session of strongly autocorrelated minutes, so its mean
    wanders much further from the training mean than independent draws would: a trending
    day moves a 60-minute return's session mean by one or two training deviations. The
    default limit of 3 deviations flags a session outside the training regime.
    """

    name = "drift"
    scope: Scope = "entries"

    def __init__(
        self,
        reference: FeatureReference,
        max_psi: float,
        min_rows: int,
        features: Callable[[int], Mapping[str, float]] | None = None,
        max_smd: float = 3.0,
    ) -> None:
        self.reference = reference
        self.features = features  # bound to the decision source by run_live
        self.max_psi = max_psi
        self.max_smd = max_smd
        self.min_rows = min_rows
        self._values: dict[str, list[float]] = {c: [] for c in reference.columns}
        self.worst: str | None = None

    def check(self, i: int) -> str | None:
        """A feature drifted off its training distribution."""
        if self.features is None:
            return None
        if i > 0:
            row = self.features(i - 1)  # the last cycle's features (this one's are not yet)
            for c, values in self._values.items():
                values.append(float(row.get(c, math.nan)))
        n = min((len(v) for v in self._values.values()), default=0)
        if n < self.min_rows:
            return None
        ref = self.reference
        problems: list[tuple[float, str]] = []
        for c, v in self._values.items():
            x = np.asarray(v)
            x = x[np.isfinite(x)]
            if not len(x) or np.ptp(x) == 0:
                continue
            if c in ref.edges:
                score = psi(ref.edges[c], ref.expected[c], x)
                if score > self.max_psi:
                    text = f"feature {c} PSI {score:.2f} > {self.max_psi:g}"
                    problems.append((score / self.max_psi, text))
            else:
                mean, std = ref.moments[c]
                smd = abs(float(x.mean()) - mean) / std
                if smd > self.max_smd:
                    text = f"feature {c} mean {smd:.1f} sd off (limit {self.max_smd:g})"
                    problems.append((smd / self.max_smd, text))
        if not problems:
            self.worst = None
            return None
        _, text = max(problems)
        self.worst = text
        return f"{text} against the training window ({len(problems)} feature(s) drifted)"


class CalibrationDrift:
    """Confidence at entry against the realised win rate of the last closed trades.

    Fed by ``observe_trade`` (the engine shows it every closed trade when it is a gate or
    wired in as one); trades without a confidence are ignored.
    """

    name = "calibration"
    scope: Scope = "entries"
    CONFIDENCE_COLUMNS = ("calibrated_confidence", "ml_confidence")

    def __init__(self, window: int, max_gap: float) -> None:
        self.window = window
        self.max_gap = max_gap
        self._pairs: list[tuple[float, bool]] = []

    def observe_trade(self, row: Mapping[str, Any]) -> None:
        """Remember the trade's confidence and whether it won."""
        conf = next(
            (float(row[c]) for c in self.CONFIDENCE_COLUMNS if row.get(c) is not None), None
        )
        if conf is not None and math.isfinite(conf):
            self._pairs.append((conf, float(row["pnl"]) > 0.0))

    def check(self, i: int) -> str | None:
        """Confidence and outcomes apart by more than the limit."""
        recent = self._pairs[-self.window :]
        if len(recent) < self.window:
            return None
        mean_conf = sum(c for c, _ in recent) / len(recent)
        win_rate = sum(1 for _, w in recent if w) / len(recent)
        if abs(mean_conf - win_rate) > self.max_gap:
            return (
                f"last {len(recent)} trades: mean confidence {mean_conf:.2f}, win rate "
                f"{win_rate:.2f} (gap limit {self.max_gap:g})"
            )
        return None


def default_checks(
    live: LiveSettings,
    *,
    has_quotes: Callable[[int], bool],
    quote_age: Callable[[], float],
    probe: Callable[[], object],
    venue_time: Callable[[], pd.Timestamp],
    clock: Clock,
) -> list[HealthCheck]:
    """The data, broker and clock checks with the ``live`` limits."""
    every = live.probe_every_cycles
    return [
        DataFreshness(has_quotes, quote_age, live.max_quote_age_s),
        BrokerReachability(probe, live.max_broker_latency_s, every),
        ClockSkew(venue_time, clock, live.max_clock_skew_s, every),
    ]
