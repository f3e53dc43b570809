"""Walk-forward regime filtering: refit on trailing sessions, filter forward, never look ahead."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.schema import TIMEZONE
from zerodte.regime.hmm import OUTPUT_COLUMNS, RegimeConfig, RegimeModel, observations, summarize

logger = logging.getLogger(__name__)


def _sessions(index: pd.DatetimeIndex) -> np.ndarray:
    if index.tz is None:
        raise DataError("regime input must be indexed by tz-aware New York timestamps")
    return np.asarray(index.tz_convert(TIMEZONE).tz_localize(None).normalize().asi8)


def walk_forward_regime(
    features: pd.DataFrame,
    train_days: int | None = None,
    refit_days: int | None = None,
    config: RegimeConfig | None = None,
) -> pd.DataFrame:
    """Filtered regime outputs with models refitted walk-forward.

    The model used on session ``s`` was fitted on the ``train_days`` sessions before the
    last refit point ``r <= s`` (refits at sessions ``train_days, train_days + refit_days,
    ...``), so no row is filtered by a model that saw it or anything after it. The filter
    runs continuously: at a refit the state probabilities carry over to the new model (states
    are ordered, so they mean the same). Rows of the first ``train_days`` sessions are NaN.

    Parameters
    ----------
    features
        Default feature frame (needs :data:`zerodte.regime.hmm.INPUT_COLUMNS`).
    train_days, refit_days
        Override ``config``'s values (``settings.models.hmm_train_days`` / ``hmm_refit_days``).
    config
        Fitting configuration.

    Returns
    -------
    pandas.DataFrame
        :data:`~zerodte.regime.hmm.OUTPUT_COLUMNS` plus ``hmm_fit_session`` (the first session
        of the model in use, as a day number since 1970-01-01; NaN before the first fit).
    """
    cfg = config or RegimeConfig()
    cfg = replace(
        cfg,
        train_days=train_days if train_days is not None else cfg.train_days,
        refit_days=refit_days if refit_days is not None else cfg.refit_days,
    )
    if cfg.train_days < 1 or cfg.refit_days < 1:
        raise DataError(f"train_days and refit_days must be >= 1, got {cfg}")
    day = _sessions(pd.DatetimeIndex(features.index))
    days = np.unique(day)
    obs = observations(features)
    values = np.full((len(features), len(OUTPUT_COLUMNS)), np.nan)
    fit_session = np.full(len(features), np.nan)
    prev: np.ndarray | None = None
    for start in range(cfg.train_days, len(days), cfg.refit_days):
        train = (day >= days[start - cfg.train_days]) & (day < days[start])
        stop = days[min(start + cfg.refit_days, len(days)) - 1]
        apply = (day >= days[start]) & (day <= stop)
        model = RegimeModel(cfg).fit(features.loc[train])
        log_post = model.filter_log(obs[apply], prev)
        prev = log_post[-1]
        values[apply] = summarize(log_post)
        fit_session[apply] = days[start] // 86_400_000_000_000
        logger.debug("regime refit at session %d on %d rows", start, int(train.sum()))
    out = pd.DataFrame(values, index=features.index, columns=list(OUTPUT_COLUMNS))
    out["hmm_fit_session"] = fit_session
    return out
