"""The backtesting.py yardstick: a stock-only momentum rule on the same SPY minute bars.

    .venv/bin/python benchmarks/peer_backtesting.py DATA_DIR [--days 252]

Reads the SPY minutes the zerodte run reads (the Parquet store under ``DATA_DIR``, the last
``--days`` sessions), and runs backtesting.py (``pip install 'zerodte[bench]'``) with the
same entry rule as zerodte's momentum controller (5-minute SPY return beyond 0.10 %: long
above, short below; one position, closed after 45 minutes or at the session's last bar),
on the stock itself: no option is priced. Plots and the HTML report are not made.
Prints the number of bars, trades and the final equity.
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy

LOOKBACK, THRESHOLD_PCT, MAX_HOLD = 5, 0.10, 45


def load_spy(data_dir: Path, days: int) -> pd.DataFrame:
    files = sorted(glob.glob(str(data_dir / "bars" / "g*" / "symbol=SPY" / "*.parquet")))
    if not files:
        raise SystemExit(f"no SPY Parquet files under {data_dir}/bars; run zerodte once first")
    bars = pd.concat([pd.read_parquet(f) for f in files[-1:]], ignore_index=True)
    ts = pd.to_datetime(bars["timestamp"])
    keep = ts.dt.date.isin(sorted(set(ts.dt.date))[-days:])
    bars = bars.loc[keep]
    frame = pd.DataFrame(
        {
            "Open": bars["open"].to_numpy(float),
            "High": bars["high"].to_numpy(float),
            "Low": bars["low"].to_numpy(float),
            "Close": bars["close"].to_numpy(float),
            "Volume": bars["volume"].to_numpy(float),
        },
        index=pd.DatetimeIndex(ts[keep].dt.tz_localize(None)),
    )
    return frame


class Momentum(Strategy):
    """Long (short) when the 5-minute return is above (below) +-0.10 %; 45-minute hold."""

    def init(self) -> None:
        close = pd.Series(self.data.Close)
        day = pd.Series(self.data.index.date)
        ret = close.groupby(day.to_numpy()).pct_change(LOOKBACK) * 100.0
        last = (day != day.shift(-1)).to_numpy()
        self.ret = self.I(ret.to_numpy, name="ret", plot=False)
        self.last = self.I(lambda: last.astype(float), name="last", plot=False)
        self.entered = -1

    def next(self) -> None:
        i = len(self.data) - 1
        if self.position:
            if i - self.entered >= MAX_HOLD or self.last[-1]:
                self.position.close()
            return
        if self.last[-1]:
            return
        r = self.ret[-1]
        if np.isfinite(r) and r > THRESHOLD_PCT:
            self.buy(size=10)
            self.entered = i
        elif np.isfinite(r) and r < -THRESHOLD_PCT:
            self.sell(size=10)
            self.entered = i


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--days", type=int, default=252)
    args = ap.parse_args()
    frame = load_spy(args.data_dir, args.days)
    bt = Backtest(frame, Momentum, cash=50_000, commission=0.0005, finalize_trades=True)
    stats = bt.run()
    print(f"bars {len(frame)} trades {stats['# Trades']} equity {stats['Equity Final [$]']:.2f}")


if __name__ == "__main__":
    main()
