"""Data alignment: how well a cycle's quotes line up with its decision time.

Per cycle the feed reports ``lag_s``, the age at decision time of the oldest input the
decision used (the underlying's bar end, the option quotes' time). It is classified as

=========  =========================================  ============================
state      when                                       ``iv_conf``
=========  =========================================  ============================
EXACT      ``lag_s <= exact_window_s`` (the decision   1.0
           bar's own data)
PRIOR      older, ``iv_conf >= 0.5``                  ``0.5 ** (lag_s / half_life_s)``
STALE      ``iv_conf < 0.5`` and ``lag_s <= max_lag``  the same decayed value
NONE       no data, or ``lag_s > max_lag_s``          0.0
=========  =========================================  ============================

``iv_conf`` multiplies every controller's confidence (the engine reads it from the
observation context, key ``iv_conf``); :class:`AlignmentGate` vetoes entries on STALE and
NONE cycles; more than ``fail_fast_stale_pct`` % STALE or NONE cycles (after
``fail_fast_min_cycles``) stop the run with a ``DataError``. Backtests run the same
tracker: their data is the decision bar's own, so they report EXACT unless it has gaps
(missing values, or an explicit ``data_lag_s`` column from an as-of join).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from zerodte.config.settings import AlignmentSettings
from zerodte.engine.engine import IV_CONF
from zerodte.errors import DataError
from zerodte.types import Decision, Observation, Veto


class Alignment(StrEnum):
    """Alignment classes of a cycle's data."""

    EXACT = "exact"
    PRIOR = "prior"
    STALE = "stale"
    NONE = "none"


def classify(lag_s: float, settings: AlignmentSettings) -> tuple[Alignment, float]:
    """``(state, iv_conf)`` of data ``lag_s`` seconds old (NaN: no data)."""
    if math.isnan(lag_s) or lag_s > settings.max_lag_s:
        return Alignment.NONE, 0.0
    if lag_s <= settings.exact_window_s:
        return Alignment.EXACT, 1.0
    conf = 0.5 ** (lag_s / settings.half_life_s)
    return (Alignment.PRIOR if conf >= 0.5 else Alignment.STALE), conf


class AlignmentTracker:
    """Alignment of every cycle from the feed's ``data_lag_s`` column (live-growing).

    Parameters
    ----------
    settings
        ``alignment`` section.
    lags
        The feed's per-cycle lags (``FeedColumns.data_lag_s``); an empty list means every
        cycle is EXACT.
    """

    def __init__(self, settings: AlignmentSettings, lags: Sequence[float]) -> None:
        self.settings = settings
        self.lags = lags

    def state(self, i: int) -> tuple[Alignment, float]:
        """``(state, iv_conf)`` of cycle ``i``."""
        if i >= len(self.lags):
            return Alignment.EXACT, 1.0
        return classify(self.lags[i], self.settings)

    def context(self, i: int) -> Mapping[str, float]:
        """Observation context of cycle ``i``: ``iv_conf`` when it is not 1."""
        _, conf = self.state(i)
        return {} if conf == 1.0 else {IV_CONF: conf}

    def check(self, n: int) -> None:
        """Stop the run (``DataError``) when too many of the first ``n`` cycles are stale."""
        s = self.settings
        if n < s.fail_fast_min_cycles or not self.lags:
            return
        bad = sum(1 for i in range(min(n, len(self.lags))) if self.state(i)[0] in _BAD)
        pct = 100.0 * bad / n
        if pct > s.fail_fast_stale_pct:
            raise DataError(
                f"data alignment fail-fast: {bad} of {n} cycles ({pct:.0f} %) had stale or "
                f"no data (limit alignment.fail_fast_stale_pct = {s.fail_fast_stale_pct:g} %); "
                "check the feed's freshness before trading on it"
            )

    def summary(self, n: int) -> dict[str, Any]:
        """Counts per state, the stale share, mean ``iv_conf`` and the largest lag."""
        counts = dict.fromkeys((a.value for a in Alignment), 0)
        confs: list[float] = []
        lags: list[float] = []
        known = min(n, len(self.lags))
        for i in range(known):
            state, conf = classify(self.lags[i], self.settings)
            counts[state.value] += 1
            confs.append(conf)
            if not math.isnan(self.lags[i]):
                lags.append(self.lags[i])
        # every cycle past the lags is EXACT (see state): counted at once, summed in order
        counts[Alignment.EXACT.value] += n - known
        confs.extend([1.0] * (n - known))
        bad = counts[Alignment.STALE.value] + counts[Alignment.NONE.value]
        return {
            **counts,
            "cycles": n,
            "stale_pct": 100.0 * bad / n if n else 0.0,
            "mean_iv_conf": sum(confs) / n if n else None,
            "max_lag_s": max(lags) if lags else None,
        }


_BAD = (Alignment.STALE, Alignment.NONE)


class AlignmentGate:
    """Vetoes an entry when the cycle's data is STALE or NONE (``iv_conf < 0.5``)."""

    name = "alignment"
    feature_inputs: tuple[str, ...] = ()

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto on stale or missing data."""
        conf = observation.context.get(IV_CONF, 1.0)
        if conf < 0.5:
            what = "no data" if conf == 0.0 else f"stale data (iv_conf {conf:.2f})"
            return Veto(self.name, what)
        return None
