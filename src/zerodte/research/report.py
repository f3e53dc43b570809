"""Run reports: ``summary.json``, ``ANALYSIS.md`` and ``equity.png`` in a run directory.

Every file is written atomically and is a deterministic function of its inputs:
``summary.json`` is canonical JSON (sorted keys), ``ANALYSIS.md`` has fixed table order, and
the PNG is drawn by the Agg backend without a software/date stamp.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.io import atomic_write, atomic_write_json, atomic_write_text
from zerodte.research.serialize import jsonable
from zerodte.research.stats import NY

logger = logging.getLogger(__name__)

TIME_BLOCKS: tuple[tuple[str, dt.time, dt.time], ...] = (
    ("09:30-10:30", dt.time(9, 30), dt.time(10, 30)),
    ("10:30-12:30", dt.time(10, 30), dt.time(12, 30)),
    ("12:30-14:30", dt.time(12, 30), dt.time(14, 30)),
    ("14:30-16:00", dt.time(14, 30), dt.time(16, 0)),
)
CONFIDENCE_EDGES: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CONFIDENCE_COLUMNS: tuple[str, ...] = ("ml_confidence", "calibrated_confidence")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _entry_times(trades: pd.DataFrame) -> pd.Series:
    ts = pd.to_datetime(trades["entry_time"])
    return ts.dt.tz_convert(NY) if ts.dt.tz is not None else ts


OUTSIDE_BLOCKS = "outside 09:30-16:00"


def _time_blocks(times: pd.Series) -> np.ndarray:
    """The :data:`TIME_BLOCKS` name of each time's wall-clock time of day."""
    parts = [times.dt.hour, times.dt.minute, times.dt.second, times.dt.microsecond]
    hour, minute, second, micro = (p.to_numpy(dtype=np.int64) for p in parts)  # not int32
    of_day = ((hour * 60 + minute) * 60 + second) * 1_000_000 + micro
    names = np.full(len(of_day), OUTSIDE_BLOCKS, dtype=object)
    for name, lo, hi in TIME_BLOCKS:
        inside = (_micros(lo) <= of_day) & (of_day < _micros(hi))
        names[inside] = name
    return names


def _micros(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def group_table(trades: pd.DataFrame, keys: pd.Series, order: list[str] | None = None) -> str:
    """Markdown table of trades, wins, win rate, P&L and mean P&L per group of ``keys``."""
    pnl = trades["pnl"].astype(float).to_numpy()
    frame = pd.DataFrame({"key": keys.astype(str).to_numpy(), "pnl": pnl, "win": pnl > 0})
    groups = frame.groupby("key", sort=True)
    stats = pd.DataFrame(
        {
            "trades": groups.size(),
            "wins": groups["win"].sum(),
            "pnl": groups["pnl"].sum(),
        }
    )
    if order is not None:
        stats = stats.reindex([k for k in order if k in stats.index])
    lines = [
        "| group | trades | wins | win rate | P&L | P&L / trade |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, row in stats.iterrows():
        n, wins, total = int(row["trades"]), int(row["wins"]), float(row["pnl"])
        lines.append(f"| {key} | {n} | {wins} | {wins / n:.1%} | {total:,.2f} | {total / n:,.2f} |")
    lines.append(
        f"| **total** | {len(pnl)} | {int((pnl > 0).sum())} | "
        f"{(pnl > 0).mean() if len(pnl) else 0:.1%} | {pnl.sum():,.2f} | "
        f"{pnl.mean() if len(pnl) else 0:,.2f} |"
    )
    return "\n".join(lines)


def _bucket_labels() -> list[str]:
    edges = CONFIDENCE_EDGES
    return [
        f"[{lo:.1f}, {hi:.1f}{']' if i == len(edges) - 2 else ')'}"
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]


def _confidence_bucket(x: float) -> str:
    """Fixed confidence bucket of ``x``; the last bucket is closed on the right."""
    if not math.isfinite(x):
        return "missing"
    edges, labels = CONFIDENCE_EDGES, _bucket_labels()
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        if lo <= x < hi or (i == len(labels) - 1 and x == hi):
            return labels[i]
    return "out of [0, 1]"


def _fmt(value: Any, spec: str = ",.2f") -> str:
    if value is None:
        return "n/a"
    return format(value, spec)


def analysis_markdown(trades: pd.DataFrame, summary: Mapping[str, Any], *, title: str) -> str:
    """Text of ``ANALYSIS.md``: headline, friction, then P&L tables by group (with counts)."""
    s = summary
    ci = s.get("per_trade_pnl_ci95")
    ci_text = f"[{ci[0]:,.2f}, {ci[1]:,.2f}]" if ci else "n/a (fewer than 2 trades)"
    sharpe_ci = s.get("sharpe_ci95")
    out = [
        f"# {title}",
        "",
        "## Headline",
        "",
        f"- Trades: **{s.get('trades', 0)}** over {s.get('days', 0)} session(s); "
        f"win rate {_fmt(s.get('win_rate'), '.1%')}",
        f"- P&L: **{_fmt(s.get('pnl'))}** ({_fmt(s.get('pnl_pct'), '.2f')} % of "
        f"{_fmt(s.get('start_equity'))}); per trade {_fmt(s.get('per_trade_pnl'))}, "
        f"95 % bootstrap CI {ci_text}",
        f"- Friction: fees paid {_fmt(s.get('fees_paid'))}; spread cost "
        f"{_fmt(s.get('spread_cost'))}"
        + ("" if s.get("spread_cost") is not None else " (not recorded by these trades)"),
        f"- Max drawdown: {_fmt(s.get('max_drawdown'))} ({_fmt(s.get('max_drawdown_pct'))} %); "
        f"P&L / drawdown {_fmt(s.get('pnl_to_dd'))}",
        f"- Sharpe (daily, annualised): {_fmt(s.get('sharpe'))}"
        + (f", 95 % CI [{sharpe_ci[0]:.2f}, {sharpe_ci[1]:.2f}]" if sharpe_ci else "")
        + f"; Sortino {_fmt(s.get('sortino'))}; profit factor {_fmt(s.get('profit_factor'))}",
        f"- Exposure: {_fmt(s.get('exposure'), '.1%')} of cycles with an open position; "
        f"average hold {_fmt(s.get('avg_hold_minutes'), '.1f')} min",
        "",
    ]
    if trades.empty:
        out += ["No trades: no breakdown tables.", ""]
        return "\n".join(out)

    def section(name: str, table: str) -> None:
        out.extend([f"## {name}", "", table, ""])

    section("By exit reason", group_table(trades, trades["exit_reason"].fillna("unknown")))
    times = _entry_times(trades)
    section(
        "By time of day (entry)",
        group_table(
            trades,
            pd.Series(_time_blocks(times)),
            [b[0] for b in TIME_BLOCKS] + [OUTSIDE_BLOCKS],
        ),
    )
    weekdays = np.asarray(WEEKDAYS, dtype=object)[times.dt.day_of_week.to_numpy(dtype=np.int64)]
    section("By day of week (entry)", group_table(trades, pd.Series(weekdays), list(WEEKDAYS)))
    if "signal_strategy" in trades.columns:
        section(
            "By signal strategy",
            group_table(trades, trades["signal_strategy"].fillna("unknown").astype(str)),
        )
    for col in CONFIDENCE_COLUMNS:
        if col in trades.columns and trades[col].notna().any():
            buckets = trades[col].astype(float).map(_confidence_bucket)
            section(
                f"By {col.replace('_', ' ')}",
                group_table(trades, buckets, [*_bucket_labels(), "out of [0, 1]", "missing"]),
            )
    return "\n".join(out)


PLOT_POINTS = 2000
"""Buckets of an equity plot: a longer curve is drawn as each bucket's low and high."""


def envelope(values: np.ndarray, buckets: int = PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of a curve reduced to each bucket's minimum and maximum, in cycle order.

    A 9-inch figure at 100 dpi has under 900 pixel columns, so a year of minutes (~98,000
    points) drawn point by point looks the same as its per-bucket low and high; the extremes
    (deepest drawdown, highest equity) are kept exactly. Curves of at most ``2 * buckets``
    points are returned unchanged.
    """
    n = len(values)
    x = np.arange(n)
    if n <= 2 * buckets:
        return x, values
    edges = np.linspace(0, n, buckets + 1).astype(np.int64).tolist()
    spans = list(itertools.pairwise(edges))
    lo_at = np.array([a + int(np.argmin(values[a:b])) for a, b in spans])
    hi_at = np.array([a + int(np.argmax(values[a:b])) for a, b in spans])
    lo, hi = values[lo_at], values[hi_at]
    first = lo_at <= hi_at  # keep the order in which the bucket reached them
    xs = np.where(first, lo_at, hi_at), np.where(first, hi_at, lo_at)
    ys = np.where(first, lo, hi), np.where(first, hi, lo)
    return np.column_stack(xs).ravel(), np.column_stack(ys).ravel()


def plot_equity(equity: pd.DataFrame, path: Path, *, start_equity: float, title: str) -> Path:
    """Write an equity (top) and drawdown (bottom) PNG; deterministic for equal inputs.

    Long curves are drawn through :func:`envelope` (each bucket's low and high).
    """
    ordered = equity.sort_values("timestamp", kind="stable") if not equity.empty else equity
    values = ordered["equity"].astype(float).to_numpy() if not equity.empty else np.zeros(0)
    peak = np.maximum.accumulate(np.concatenate([[start_equity], values]))[1:]
    x, shown = envelope(values)
    dx, drawdown = envelope(values - peak)
    # An explicit Agg canvas, not pyplot: no global backend switch, no figure registry.
    # Imported here: matplotlib is needed only when a plot is drawn.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax1.plot(x, shown, lw=1.0, color="tab:blue")
    ax1.axhline(start_equity, color="grey", lw=0.6, ls="--")
    ax1.set_ylabel("equity ($)")
    ax1.set_title(title)
    ax2.fill_between(dx, drawdown, 0.0, color="tab:red", alpha=0.5, lw=0)
    ax2.set_ylabel("drawdown ($)")
    ax2.set_xlabel("cycle")
    fig.tight_layout()
    # No Software/date metadata: identical inputs give identical bytes.
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=100, metadata={"Software": None}))
    return path


def write_run_report(
    run_dir: Path,
    trades: pd.DataFrame,
    equity: pd.DataFrame,
    summary: Mapping[str, Any],
    *,
    title: str,
    extra: Mapping[str, Any] | None = None,
    plot: bool = True,
) -> dict[str, Any]:
    """Write ``summary.json``, ``ANALYSIS.md`` and (``plot``) ``equity.png`` into ``run_dir``.

    Parameters
    ----------
    run_dir
        Run directory (created if missing).
    trades, equity
        The run's trade log and equity curve (``zerodte.records`` columns).
    summary
        Output of :func:`zerodte.research.stats.summarize`.
    title
        Heading of the report and plot.
    extra
        Run metadata merged into ``summary.json`` (run_id, controller, start, end, cycles,
        vetoes, ...). A key that already exists in ``summary`` raises ``ValueError``: a
        statistic is never silently overwritten.
    plot
        Draw ``equity.png`` (matplotlib costs about half a second per process).

    Returns
    -------
    dict
        The JSON-native dict written to ``summary.json``.
    """
    run_dir = Path(run_dir)
    merged = dict(summary)
    if extra:
        clash = sorted(set(extra) & set(summary))
        if clash:
            raise ValueError(
                f"extra keys {clash} collide with summary statistics; rename them "
                "(e.g. prefix with 'run_')"
            )
        merged.update(extra)
    doc = jsonable(merged)
    atomic_write_json(run_dir / "summary.json", doc)
    atomic_write_text(run_dir / "ANALYSIS.md", analysis_markdown(trades, doc, title=title) + "\n")
    if plot:
        plot_equity(
            equity,
            run_dir / "equity.png",
            start_equity=float(summary["start_equity"]),
            title=title,
        )
    logger.info("wrote run report to %s", run_dir)
    return doc
