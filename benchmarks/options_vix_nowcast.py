"""Does an intraday VIX estimate from the index move fix the 0DTE IV level? (docs/real-data.md)

    .venv/bin/python benchmarks/options_vix_nowcast.py [--real ../shared/data/real]

The real 0DTE SPXW days (2021-01-04, 2021-01-06) have daily VIX only, so the option model
sees the day's open all session; on 2021-01-04 VIX went from 23.0 at the open to 29.2 while
SPX fell 2.7 %. This study replaces that stale VIX with a now-cast
``VIX_t = VIX_open * (F_t / F_open) ** beta`` (F: the parity forward of each minute,
F_open: the day's first), with the elasticity ``beta`` fitted on an independent week of
real minute VIX and SPY (``spy_qqq_vix_1min_2019-02-11_to_15.parquet``: least squares of
5-minute log VIX changes on 5-minute log SPY returns), and reruns the leave-one-day-out fit
of ``zerodte options calibrate`` (:func:`zerodte.options.fit.leave_one_day_out`) with and
without it. Two configurations in all (without, with the fitted beta); nothing else tried.
Results: ``results/options_vix_nowcast.json`` (a study table, left to the docs).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config.settings import OptionsSettings
from zerodte.options.fit import leave_one_day_out, prepare

HERE = Path(__file__).resolve().parent


def vix_elasticity(minutes: pd.DataFrame, lag: int = 5) -> float:
    """Least-squares slope of ``lag``-minute log VIX changes on log SPY returns, within days."""
    wide = minutes.pivot_table(index="timestamp_end", columns="symbol", values="close")
    wide = wide[["SPY", "VIX"]].dropna()
    day = wide.index.date
    logs = np.log(wide)
    moves = logs.groupby(day).diff(lag).dropna()
    return float(np.polyfit(moves["SPY"], moves["VIX"], 1)[0])


def nowcast(rows: pd.DataFrame, beta: float) -> pd.DataFrame:
    """``rows`` with ``vix`` moved by the forward's move since the day's first minute."""
    first = rows.sort_values("timestamp").groupby("day")["fwd"].first()
    moved = rows["vix"] * np.exp(beta * np.log(rows["fwd"] / rows["day"].map(first)))
    return rows.assign(vix=moved)


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The held-out errors the must-holds read, per held-out day."""
    out = []
    for run in runs:
        money = run["by_moneyness"]
        out.append(
            {
                "held_out": run["held_out"],
                "iv_median_abs": run["iv_median_abs"],
                "iv_quotes": sum(int(b["iv_quotes"]) for b in money.values()),
                "spread_median_rel": {k: v["spread_median_rel"] for k, v in money.items()},
                "iv_median_abs_by_minutes_to_close": {
                    k: v["iv_median_abs"] for k, v in run["by_minutes_to_close"].items()
                },
                "zero_dte_term_mult": run["params"]["zero_dte_term_mult"],
                "skew_slope": run["params"]["skew_slope"],
            }
        )
    return out


def main() -> None:
    """Fit beta on 2019-02, run both leave-one-day-out fits, write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--real", type=Path, default=HERE.parent / ".." / "shared" / "data" / "real"
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    beta = vix_elasticity(pd.read_parquet(args.real / "spy_qqq_vix_1min_2019-02-11_to_15.parquet"))
    quotes = pd.read_parquet(args.real / "options" / "lean_option_quotes_1min.parquet")
    quotes = quotes[(quotes["root"] == "SPXW") & (quotes["dte"] == 0)]
    quotes = quotes[~(quotes["bid_close"] > quotes["ask_close"])]
    rows = prepare(quotes, pd.read_csv(args.real / "vix_daily_cboe.csv"))
    base = OptionsSettings()
    result = {
        "data": "Lean SPXW 0DTE quotes 2021-01-04 and 2021-01-06 (two-sided, crossed dropped); "
        "Cboe daily VIX (the open, all session); beta from the 2019-02-11..15 minute file",
        "configurations": 2,
        "beta": beta,
        "quotes": len(rows),
        "stale_vix": summarise(leave_one_day_out(rows, base, "SPXW")),
        "nowcast_vix": summarise(leave_one_day_out(nowcast(rows, beta), base, "SPXW")),
        "wall_s": time.perf_counter() - t0,
    }
    out = HERE / "results" / "options_vix_nowcast.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("stale_vix", "nowcast_vix"):
        for r in result[name]:
            print(name, r["held_out"], f"{r['iv_median_abs']:.3f}", r["spread_median_rel"])
    print(f"beta {beta:.2f}; wrote {out}")


if __name__ == "__main__":
    main()
