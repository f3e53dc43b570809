"""``finish_run``: what every run does after its loop, backtest and live alike.

Statistics of the records (:func:`zerodte.research.stats.summarize`), the summary and
manifest, the run directory (records, report, manifest) and the SQL store row. Backtests
(:func:`zerodte.engine.backtest.run_backtest`) and live runs
(:func:`zerodte.engine.live.run_live`) call the same function, so their summaries have the
same keys and the same meaning; a live run adds its orders, reconciliations and faults.

The directory and the row are published together (:func:`zerodte.engine.publish.publish_run`):
the files are written into a staging directory, the row is committed with the staging's
token, then the directory is moved into place; after a crash at any step, neither exists
without the other once :func:`~zerodte.engine.publish.recover_runs` has run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte.config.manifest import settings_hash, settings_manifest
from zerodte.config.root import Settings
from zerodte.engine.engine import EngineRun
from zerodte.engine.feed import FeedColumns
from zerodte.engine.memory import release_freed_memory
from zerodte.engine.publish import TOKEN_KEY, publish_run, store_lookup
from zerodte.engine.rundir import write_manifest, write_records
from zerodte.io import atomic_write_bytes
from zerodte.research.report import write_run_report
from zerodte.research.serialize import jsonable
from zerodte.research.stats import summarize


@dataclass
class FinishedRun:
    """The records, summary and manifest of a finished run."""

    run_id: str
    summary: dict[str, Any]
    trades: pd.DataFrame
    equity: pd.DataFrame
    decisions: pd.DataFrame
    run_dir: Path | None
    manifest: dict[str, Any]


@dataclass(frozen=True)
class RunInfo:
    """What identifies a run in its manifest.

    ``mode`` is ``backtest:<path>`` or ``live:<broker>``; ``data_source`` names the data
    (:attr:`zerodte.market.loading.MarketData.data_source` for a backtest; ``tradier``,
    ``fake-tradier:<source>`` live, which :func:`~zerodte.engine.live.run_live` replaces
    with the ``session`` source of the bars it kept, :mod:`zerodte.engine.session_bars`).
    It goes into both the manifest and the summary.
    """

    run_id: str
    controller: str
    mode: str
    data_hash: str
    data_source: str | dict[str, Any]
    code_version: str = "unknown"
    created_at: pd.Timestamp | None = None
    feature_set: str = "default"
    title: str = "backtest"


def finish_run(
    settings: Settings,
    run: EngineRun,
    columns: FeedColumns,
    info: RunInfo,
    *,
    execution: Mapping[str, str],
    decisions: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
    extra_summary: Mapping[str, Any] | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    run_dir: Path | None = None,
    write: bool = True,
    record: bool = True,
    n_boot: int = 2000,
    plots: bool = True,
) -> FinishedRun:
    """Summarise ``run`` and write its run directory and store row.

    Parameters
    ----------
    settings
        The run's effective settings (hashed into the manifest, secrets masked).
    run, columns
        The finished loop and its feed's columns (times and sessions of the cycles).
    info
        Run id, controller, mode, data identity and code version.
    execution
        ``ExecutionModel.describe()`` of the friction assumptions in force.
    decisions
        DecisionRecords to write (default: the recorder's), or a function that makes them:
        called once, after the summary, so the frame (a year of cycles: tens of MB) and
        the summary's bootstrap are never in memory together.
    extra_summary, extra_manifest
        Keys added to ``summary.json`` and ``manifest.json`` (alignment, orders, ...).
    extra_files
        More files of the run directory, name to bytes (a live session's bars).
    run_dir
        Directory to write (default ``settings.engine.runs_dir / run_id``).
    write, record
        Write the run directory; add the run to the SQL store.
    n_boot
        Bootstrap replicas of the summary's confidence intervals.
    plots
        Draw ``equity.png`` in the run directory (the records and summary do not depend
        on it).
    """
    recorder = run.recorder
    trades = recorder.trades_frame()
    equity = recorder.equity_frame()
    make_decisions = recorder.decisions_frame if decisions is None else decisions
    stats = summarize(
        trades,
        equity,
        start_equity=settings.broker.initial_cash,
        n_boot=n_boot,
        seed=settings.engine.seed,
    )
    release_freed_memory()  # the bootstrap's replicas, before the decisions are framed
    cycles = run.cycles
    start = str(columns.sessions[0])
    end = str(columns.sessions[cycles - 1]) if cycles else start
    extra = {
        "run_id": info.run_id,
        "controller": info.controller,
        "start": start,
        "end": end,
        "cycles": cycles,
        "vetoes": dict(sorted(recorder.veto_counts.items())),
        "entries_sent": recorder.executed_entries(),
        "open_at_end": run.open_at_end,
        "quote_sources": quote_source_counts(trades),
        **(extra_summary or {}),
    }
    summary = jsonable({**stats, **extra, "data_source": info.data_source})
    times = columns.times
    manifest = jsonable(
        {
            "run_id": info.run_id,
            "created_at": None if info.created_at is None else info.created_at.isoformat(),
            "mode": info.mode,
            "controller": info.controller,
            "seed": settings.engine.seed,
            "start": start,
            "end": end,
            "first_bar": times[0].isoformat(),
            "last_bar": times[max(cycles - 1, 0)].isoformat(),
            "cycles": cycles,
            "data_hash": info.data_hash,
            "data_source": info.data_source,
            "config_hash": settings_hash(settings),
            "code_version": info.code_version,
            "feature_set": info.feature_set,
            **(extra_manifest or {}),
            "execution": dict(execution),
            "config": settings_manifest(settings),
        }
    )
    out_dir: Path | None = None
    rows = _RunRows(settings, manifest, summary, trades) if record else None
    frame = make_decisions() if callable(make_decisions) else make_decisions
    if write:
        out_dir = Path(run_dir) if run_dir is not None else settings.engine.runs_dir / info.run_id
        target = out_dir

        def write_files(where: Path) -> None:
            write_records(
                where,
                trades=trades,
                equity=equity,
                decisions=frame if settings.engine.write_decisions else None,
            )
            write_run_report(
                where,
                trades,
                equity,
                stats,
                title=f"{info.controller} {info.title} {start} to {end}",
                extra=extra,
                plot=plots,
            )
            for name, data in (extra_files or {}).items():
                atomic_write_bytes(where / name, data)
            write_manifest(where, {**manifest, "run_dir": str(target)})

        publish_run(
            target,
            info.run_id,
            write_files,
            None if rows is None else (lambda token: rows.record(target, token)),
            None if rows is None else rows.token_of,
        )
    elif rows is not None:
        rows.record(None, None)
    return FinishedRun(info.run_id, summary, trades, equity, frame, out_dir, manifest)


class _RunRows:
    """The run's rows in the SQL store (``settings.store``), opened on first use."""

    def __init__(
        self,
        settings: Settings,
        manifest: Mapping[str, Any],
        summary: Mapping[str, Any],
        trades: pd.DataFrame,
    ) -> None:
        self._settings = settings
        self._manifest = manifest
        self._summary = summary
        self._trades = trades
        self._store: Any = None

    def _runs(self) -> Any:
        from zerodte.store import RunStore, make_engine

        if self._store is None:
            self._store = RunStore(make_engine(self._settings.store))
        return self._store

    def token_of(self, run_id: str) -> str | None:
        """Publish token of a recorded run (see :mod:`zerodte.engine.publish`)."""
        return store_lookup(self._runs())(run_id)

    def record(self, out_dir: Path | None, token: str | None) -> None:
        """Record the run and its trades in one transaction."""
        m = self._manifest
        meta = {k: m[k] for k in ("run_id", "controller", "mode", "seed", "start", "end")}
        meta.update(
            config_hash=m["config_hash"],
            data_hash=m["data_hash"],
            code_version=m["code_version"],
            created_at=m["created_at"],
            run_dir=None if out_dir is None else str(out_dir),
        )
        if token is not None:
            meta[TOKEN_KEY] = token
        if self._store is None:
            from zerodte.store.sqlite_rows import record_run_if_current

            # a SQLite store already at head: the same rows, without importing SQLAlchemy
            if record_run_if_current(self._settings.store, meta, self._summary, self._trades):
                return
        self._runs().record_run(meta, self._summary, self._trades)


def quote_source_counts(trades: pd.DataFrame) -> dict[str, int]:
    """Fills priced from real quotes, the option model or a live venue (``entry_quote``,
    ``exit_quote``).

    ``settled``: exits settled at expiry (no quote). Rows of a partial exit count as fills.
    """
    out = {f"{side}_{src}": 0 for side in ("entry", "exit") for src in QUOTE_SOURCES}
    out["settled"] = 0
    if trades.empty:
        return out
    for side in ("entry", "exit"):
        got = trades[f"{side}_quote"].fillna("").astype(str)
        for src in QUOTE_SOURCES:
            out[f"{side}_{src}"] = int((got == src).sum())
    out["settled"] = int((trades["exit_quote"].fillna("").astype(str) == "").sum())
    return out


QUOTE_SOURCES = ("real", "model", "venue")
"""``OptionQuote.source`` values: a stored real quote, the option model, a live venue's."""
