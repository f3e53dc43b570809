"""Experiments at scale: the idea queue, the two optimizer layers, Optuna studies, workers.

* :mod:`~zerodte.experiments.family` -- a family's fixed data and windows (quick test, then a
  later, disjoint validation window) and the validated, hashed overrides of an idea.
* :mod:`~zerodte.experiments.promotion` -- the promotion and validation rules: deflated
  Sharpe over every trial of the family and PBO by CSCV over whole trading days.
* :mod:`~zerodte.experiments.trial` -- one trial through the engine and its run directory.
* :mod:`~zerodte.experiments.analysis` -- ``ANALYSIS.md`` and ``SUMMARY.txt`` of a run.
* :mod:`~zerodte.experiments.worker` -- Layer 1: claim, heartbeat, run, promote, validate.
* :mod:`~zerodte.experiments.meta` -- Layer 2: patterns over every experiment, new ideas.
* :mod:`~zerodte.experiments.study` -- Optuna studies with successive halving in days.
* :mod:`~zerodte.experiments.executor` -- local processes, a Dask ``LocalCluster`` or a
  Dask scheduler for independent backtests.
"""
