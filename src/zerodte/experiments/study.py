"""Parameter search with Optuna: a study over settings ranges on a family's quick window.

* **Storage**: an Optuna RDB storage (``sqlite:///<runs_dir>/optuna.db`` by default, a
  PostgreSQL URL for many machines); several processes may run the same study name.
* **Successive halving in trading days**: a trial runs on the first ``rungs[0]`` sessions
  of the quick window, reports its daily Sharpe ratio, and continues to the next rung only
  if :class:`optuna.pruners.SuccessiveHalvingPruner` keeps it; the last rung is the whole
  quick window.
* **Every trial counted**: each trial's daily P&L vector is stored in the experiment store
  (and as the Optuna user attribute ``daily_pnl``): a completed trial as a ``quick`` trial
  of the family (the same days as every idea's quick test), a pruned one as
  ``quick_pruned``. The promotion rule (:mod:`zerodte.experiments.promotion`) then deflates
  the best trial's Sharpe ratio by every trial the family has run, pruned ones included, and
  computes PBO over the completed ones. Promotion needs both.
* **MLflow**: every trial is logged when ``models.mlflow_tracking_uri`` is set.

The objective is the daily Sharpe ratio of P&L over the starting equity (0 when undefined,
e.g. no trades).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zerodte.config import Settings
from zerodte.errors import ConfigError
from zerodte.experiments.family import FamilyConfig, canonical_overrides, param_hash
from zerodte.experiments.promotion import PRUNED, decision, family_report
from zerodte.experiments.trial import MarketCache, run_trial
from zerodte.store.engine import sqlite_url
from zerodte.store.experiments import ExperimentStore, TrialRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Param:
    """One searched setting: a float or int range, or a list of choices."""

    key: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: Any) -> Any:
        """The trial's value of this setting."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.step is not None and float(self.step).is_integer() and float(self.low).is_integer():
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step))
        return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step)


def parse_param(text: str) -> Param:
    """``key=LOW:HIGH[:STEP]`` (a range) or ``key=A,B,C`` (choices, TOML literals)."""
    from zerodte.experiments.family import parse_assignment

    key, sep, spec = text.partition("=")
    if not sep or not spec:
        raise ConfigError(
            f"--param {text!r}: use KEY=LOW:HIGH[:STEP] or KEY=A,B,C, e.g. "
            "--param exits.stop_loss_pct=4:20:2"
        )
    if "," in spec:
        return Param(key, choices=tuple(parse_assignment(f"{key}={v}")[1] for v in spec.split(",")))
    parts = spec.split(":")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"--param {text!r}: LOW, HIGH and STEP must be numbers") from None
    if len(nums) not in (2, 3) or nums[0] >= nums[1]:
        raise ConfigError(f"--param {text!r}: use KEY=LOW:HIGH[:STEP] with LOW < HIGH")
    return Param(key, nums[0], nums[1], nums[2] if len(nums) == 3 else None)


def check_space(settings: Settings, cfg: FamilyConfig, space: Sequence[Param]) -> None:
    """Refuse an unknown key or a range end or choice outside its setting's domain, before
    any trial runs (so a bad ``--param`` never reaches Optuna as a failed trial)."""
    for p in space:
        values = p.choices if p.choices is not None else (p.low, p.high)
        for value in values:
            canonical_overrides(settings, cfg, {p.key: value}, f"--param {p.key}")


def default_rungs(quick_days: int) -> tuple[int, ...]:
    """Rungs of successive halving in trading days: quarter, half, then the whole window."""
    rungs = sorted({max(3, quick_days // 4), max(3, quick_days // 2), quick_days})
    return tuple(r for r in rungs if r <= quick_days)


def _sharpe(daily: np.ndarray, cash: float) -> float:
    r = daily / cash
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else 0.0
    return float(r.mean() / sd) if sd > 0 else 0.0


def run_study(
    store: ExperimentStore,
    settings: Settings,
    cfg: FamilyConfig,
    space: Sequence[Param],
    *,
    n_trials: int,
    study_name: str | None = None,
    storage: str | None = None,
    rungs: Sequence[int] | None = None,
    seed: int = 0,
    runs_dir: Path | None = None,
) -> dict[str, Any]:
    """Run ``n_trials`` more trials of the study and return its family's verdict."""
    import optuna

    if not space:
        raise ConfigError("a study needs at least one --param")
    check_space(settings, cfg, space)
    name = study_name or f"{cfg.name}-study"
    root = Path(runs_dir) if runs_dir is not None else settings.engine.runs_dir
    root.mkdir(parents=True, exist_ok=True)
    # escaped, so that Optuna's URL parser gives back this file whatever its directory
    url = storage or sqlite_url(root / "optuna.db").render_as_string(hide_password=False)
    steps = tuple(rungs) if rungs else default_rungs(cfg.quick_days)
    if max(steps) != cfg.quick_days:
        raise ConfigError(f"the last rung must be the whole quick window ({cfg.quick_days} days)")
    study = optuna.create_study(
        study_name=name,
        storage=optuna.storages.RDBStorage(url),
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=steps[0], reduction_factor=2),
        load_if_exists=True,
    )
    market = MarketCache(settings)
    cash = settings.broker.initial_cash

    def objective(trial: Any) -> float:
        raw = {p.key: p.suggest(trial) for p in space}
        overrides = canonical_overrides(settings, cfg, raw, "--param")
        digest = param_hash(cfg.name, overrides)
        key = f"study:{name}:{trial.number}"
        row: TrialRow | None = None
        for days in steps:
            out = run_trial(settings, cfg, overrides, "quick", key, digest, market, days=days)
            row = out.row
            value = _sharpe(np.asarray(row.daily_pnl), cash)
            trial.report(value, step=days)
            if days < steps[-1] and trial.should_prune():
                store.record_trials([_as(row, PRUNED)])
                trial.set_user_attr("daily_pnl", list(row.daily_pnl))
                raise optuna.TrialPruned()
        assert row is not None
        store.record_trials([row])
        trial.set_user_attr("daily_pnl", list(row.daily_pnl))
        trial.set_user_attr("trades", row.trades)
        _track(settings, name, trial.number, overrides, row, value)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=n_trials, catch=())
    trials = store.trials(cfg.name)
    report = family_report(trials, cfg, cash)
    best = report.get("best")
    verdict = None
    if best is not None:
        status, result = decision(best["trial_key"], trials, cfg, cash, "quick")
        verdict = {"status": status, **result}
    states = [t.state.name for t in study.trials]
    return {
        "study": name,
        "storage": _shown(url),
        "rungs_days": list(steps),
        "optuna_trials": len(states),
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "family": report,
        "best_verdict": verdict,
    }


def _as(row: TrialRow, stage: str) -> TrialRow:
    return TrialRow(**{**row.__dict__, "stage": stage, "trial_key": f"{row.trial_key}:{stage}"})


def _shown(url: str) -> str:
    from zerodte.store.engine import shown_url

    return shown_url(url)


def _track(  # noqa: PLR0917
    settings: Settings,
    study: str,
    number: int,
    overrides: dict[str, Any],
    row: TrialRow,
    value: float,
) -> None:
    uri = settings.models.mlflow_tracking_uri
    if not uri:
        return
    from zerodte.models.tracking import track_run

    track_run(
        uri,
        f"zerodte-study-{study}",
        f"trial-{number}",
        overrides,
        {"sharpe_daily": value, "trades": float(row.trades), "pnl": row.pnl},
    )
