"""Engine benchmark: one trading year end to end, the loop alone, peak memory, five years.

    .venv/bin/python benchmarks/bench_engine.py [--years-only 1]

End to end = generate/load the synthetic market + features + decide_batch + loop + records
+ summary + run directory (Parquet, report, plot) + SQL row. Loop only = ``Engine.run`` on
precomputed decisions. Quotes come from the options package's modelled quote book when it
is installed, else from the test's simple quote model (reported in the notes).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "engine"))

from machine import row, write  # noqa: E402
from zerodte.broker.paper import PaperBroker  # noqa: E402
from zerodte.config.root import Settings  # noqa: E402
from zerodte.config.settings import EngineSettings, StoreSettings  # noqa: E402
from zerodte.engine.backtest import run_backtest  # noqa: E402
from zerodte.engine.build import build_engine, modelled_quote_books  # noqa: E402
from zerodte.engine.clock import SimulatedClock  # noqa: E402
from zerodte.engine.feed import HistoricalFeed  # noqa: E402
from zerodte.engine.recorder import Recorder  # noqa: E402
from zerodte.engine.sources import BatchDecisions  # noqa: E402
from zerodte.features import compute_features  # noqa: E402
from zerodte.market.schema import market_frame  # noqa: E402
from zerodte.market.synthetic import generate_market  # noqa: E402
from zerodte.policy.controllers import build_controller  # noqa: E402


class _Data:
    def __init__(self, frame, data_hash: str) -> None:  # type: ignore[no-untyped-def]
        self.frame, self.data_hash, self.source = frame, data_hash, "synthetic"


def _quotes(settings: Settings, frame):  # type: ignore[no-untyped-def]
    try:
        import zerodte.options.model  # noqa: F401

        return modelled_quote_books(settings, frame), None, "modelled (zerodte.options)"
    except ImportError:
        import helpers  # tests/engine/helpers.py

        return helpers.simple_books(frame), helpers.AtmSelector(), "simple test quote model"


def _occ_stand_in() -> None:
    try:
        import zerodte.options.occ  # noqa: F401
    except ImportError:
        from zerodte.types import OptionContract

        OptionContract.symbol = property(  # type: ignore[method-assign,assignment]
            lambda c: f"SPY{c.expiry:%y%m%d}{c.right.value}{round(c.strike * 1000):08d}"
        )


def end_to_end(days: int, tmp: Path) -> tuple[float, float, int, str, dict[str, float]]:
    settings = Settings(
        engine=EngineSettings(runs_dir=tmp / "runs"),
        store=StoreSettings(path=tmp / "runs" / "zerodte.db"),
    )
    t0 = time.perf_counter()
    bars = generate_market(date(2020, 1, 2), days, 11, 1.0)
    frame = market_frame(bars)
    t_load = time.perf_counter() - t0
    books, selector, quote_kind = _quotes(settings, frame)
    result = run_backtest(
        settings,
        _Data(frame, f"bench-{days}"),
        quote_books=books,
        selector=selector,
        run_dir=tmp / f"run{days}",
    )
    total = time.perf_counter() - t0
    return total, t_load, len(frame), quote_kind, {"trades": result.summary["trades"]}


def loop_only(days: int) -> tuple[float, int]:
    settings = Settings()
    frame = market_frame(generate_market(date(2020, 1, 2), days, 11, 1.0))
    books, selector, _ = _quotes(settings, frame)
    ctrl = build_controller(settings)
    features = compute_features(frame, "default")
    decisions = ctrl.decide_batch(frame.join(features))  # type: ignore[attr-defined]
    feed = HistoricalFeed(frame, books, SimulatedClock())
    recorder = Recorder(feed.columns.times, feed.columns.sessions)
    engine = build_engine(
        settings,
        feed=feed,
        broker=PaperBroker.from_settings(settings),
        recorder=recorder,
        controller_name=ctrl.name,
        selector=selector,
        poll_when_idle=False,
    )
    source = BatchDecisions(decisions, features)
    t0 = time.perf_counter()
    engine.run(source)
    return time.perf_counter() - t0, len(frame)


def _child_one_year() -> None:
    """Run one year end to end in this (fresh) process and print its peak RSS in MB."""
    _occ_stand_in()
    with tempfile.TemporaryDirectory() as d:
        end_to_end(252, Path(d))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    _occ_stand_in()
    results = []
    child = subprocess.run(
        [sys.executable, __file__, "--child-one-year"],
        capture_output=True,
        text=True,
        check=True,
    )
    peak_year = float(child.stdout.strip().splitlines()[-1])
    print(f"peak RSS, one year end to end in a fresh process: {peak_year:.0f} MB")
    results.append(
        row("one_year_peak_rss", round(peak_year), "MB", "<= 1024 MB", peak_year <= 1024)
    )
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        end_to_end(5, tmp)  # warm imports and caches
        total, load, n, quote_kind, info = end_to_end(252, tmp)
        print(f"1 year end to end: {total:.2f} s ({n} cycles, load {load:.2f} s, {info})")
        results.append(row("one_year_end_to_end", round(total, 3), "s", "<= 5 s", total <= 5))
        results.append(row("one_year_cycles", n, "cycles", None, None))
        secs, n_loop = loop_only(252)
        rate = n_loop / secs
        print(f"loop only: {rate:,.0f} cycles/s ({secs:.2f} s)")
        results.append(
            row("loop_cycles_per_s", round(rate), "cycles/s", ">= 100000", rate >= 100_000)
        )
        total5, _load5, n5, _, info5 = end_to_end(252 * 5, tmp)
        print(f"5 years end to end: {total5:.2f} s ({n5} cycles, {info5})")
        results.append(row("five_years_end_to_end", round(total5, 3), "s", None, None))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (includes the five-year run): {peak_mb:.0f} MB")
    results.append(row("peak_rss_incl_five_years", round(peak_mb), "MB", None, None))
    path = write(
        "engine",
        results,
        notes=f"momentum controller, default settings, vectorised path; quotes: {quote_kind}; "
        "one_year_peak_rss is measured in a fresh process; loop_cycles_per_s includes the "
        "work of every entry attempt, fill and exit of the momentum controller (an idle, "
        "flat HOLD cycle runs at over 1M cycles/s)",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    if "--child-one-year" in sys.argv:
        _child_one_year()
    else:
        main()
