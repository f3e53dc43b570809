"""The engine's memory as plain data: what a live run checkpoints after every cycle.

A checkpoint holds the trade book (:meth:`zerodte.engine.positions.TradeBook.state`), the
day's start equity and the trade rows so far; each cycle's record row (decision, vetoes,
equity) is saved beside it. Everything is JSON: contracts as OCC symbols, times as
ISO-8601 with offset, NaN as ``null`` (PostgreSQL's JSON has no NaN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from zerodte.broker.codec import contract_from, contract_symbol, time_from_str, time_to_str
from zerodte.engine.recorder import Recorder
from zerodte.engine.trades import OpenTrade
from zerodte.exits.base import TrackedPosition
from zerodte.types import OptionContract, Position


def contract_from_symbol(symbol: str) -> OptionContract:
    """The contract of an OCC symbol."""
    return contract_from(symbol)


def plain(value: Any) -> Any:
    """``value`` as JSON data: NaN to None, Timestamps to ISO, dates to ``YYYY-MM-DD``."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float | np.floating):
        x = float(value)
        return None if math.isnan(x) else x
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return time_to_str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"cannot checkpoint a {type(value).__name__}: {value!r}")


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def position_to_dict(p: Position) -> dict[str, Any]:
    """A position as plain data."""
    return {
        "symbol": contract_symbol(p.contract),
        "qty": p.qty,
        "avg_price": p.avg_price,
        "entry_time": time_to_str(p.entry_time),
        "entry_fees": p.entry_fees,
        "tag": p.tag,
    }


def position_from_dict(d: dict[str, Any]) -> Position:
    """Inverse of :func:`position_to_dict`."""
    entry = time_from_str(d["entry_time"])
    assert entry is not None
    return Position(
        contract=contract_from(d["symbol"]),
        qty=int(d["qty"]),
        avg_price=float(d["avg_price"]),
        entry_time=entry,
        entry_fees=float(d["entry_fees"]),
        tag=str(d["tag"]),
    )


def tracked_to_dict(t: TrackedPosition) -> dict[str, Any]:
    """An exit manager's tracked position as plain data."""
    return plain(
        {
            "position": position_to_dict(t.position),
            "minutes_held": t.minutes_held,
            "pnl_pct": t.pnl_pct,
            "max_gain_pct": t.max_gain_pct,
            "max_drawdown_pct": t.max_drawdown_pct,
            "peak_mark": t.peak_mark,
            "partial_taken": t.partial_taken,
            "mark": t.mark,
            "max_qty": t.max_qty,
        }
    )


def tracked_from_dict(d: dict[str, Any]) -> TrackedPosition:
    """Inverse of :func:`tracked_to_dict`."""
    return TrackedPosition(
        position=position_from_dict(d["position"]),
        minutes_held=_nan(d["minutes_held"]),
        pnl_pct=_nan(d["pnl_pct"]),
        max_gain_pct=_nan(d["max_gain_pct"]),
        max_drawdown_pct=_nan(d["max_drawdown_pct"]),
        peak_mark=_nan(d["peak_mark"]),
        partial_taken=bool(d["partial_taken"]),
        mark=_nan(d["mark"]),
        max_qty=int(d["max_qty"]),
    )


def open_trade_to_dict(t: OpenTrade) -> dict[str, Any]:
    """An open trade as plain data."""
    return plain(
        {
            "tag": t.tag,
            "position": position_to_dict(t.position),
            "entry_fee": t.entry_fee,
            "context": t.context,
            "session": t.session,
            "max_gain_pct": t.max_gain_pct,
            "max_drawdown_pct": t.max_drawdown_pct,
            "tracked": None if t.tracked is None else tracked_to_dict(t.tracked),
            "exits_sent": t.exits_sent,
            "group": t.group,
            "exit_hmm_trend": t.exit_hmm_trend,
        }
    )


def open_trade_from_dict(d: dict[str, Any]) -> OpenTrade:
    """Inverse of :func:`open_trade_to_dict`."""
    return OpenTrade(
        tag=str(d["tag"]),
        position=position_from_dict(d["position"]),
        entry_fee=float(d["entry_fee"]),
        context=dict(d["context"]),
        session=date.fromisoformat(d["session"]),
        max_gain_pct=d["max_gain_pct"],
        max_drawdown_pct=d["max_drawdown_pct"],
        tracked=None if d["tracked"] is None else tracked_from_dict(d["tracked"]),
        exits_sent=int(d["exits_sent"]),
        group=str(d.get("group", "")),
        exit_hmm_trend=d.get("exit_hmm_trend"),
    )


def cycle_row(recorder: Recorder, i: int, vetoes: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Cycle ``i``'s record row (what the recorder's arrays hold for it)."""
    k = 4 if recorder.straddle else 3  # the straddle slot only for a controller that has it
    return plain(
        {
            "cycle": i,
            "action": int(recorder.action[i]),
            "scores": recorder.scores[i, :k].tolist(),
            "probs": recorder.probs[i, :k].tolist(),
            "reason": recorder.reason_of(i),
            "executed": int(recorder.executed[i]),
            "flat": bool(recorder.flat[i]),
            "open_positions": int(recorder.open_positions[i]),
            "cash": float(recorder.cash[i]),
            "positions_value": float(recorder.positions_value[i]),
            "vetoes": [list(v) for v in vetoes],
        }
    )


def restore_row(recorder: Recorder, row: dict[str, Any]) -> None:
    """Write a saved cycle row back into the recorder's arrays."""
    i = int(row["cycle"])
    recorder.action[i] = row["action"]
    k = len(row["probs"])
    recorder.scores[i, : len(row["scores"])] = [_nan(x) for x in row["scores"]]
    recorder.probs[i, :k] = [_nan(x) for x in row["probs"]]
    if k == 4:
        recorder.straddle = True
    recorder.reason[i] = row["reason"]
    recorder.executed[i] = row["executed"]
    recorder.flat[i] = row["flat"]
    recorder.open_positions[i] = row["open_positions"]
    recorder.cash[i] = row["cash"]
    recorder.positions_value[i] = row["positions_value"]
    if row["vetoes"]:
        recorder.record_vetoes(i, [(g, r) for g, r in row["vetoes"]])
    recorder.n_cycles = max(recorder.n_cycles, i + 1)


def trade_to_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A recorded trade row as plain data."""
    return plain(dict(row))


def trade_from_dict(d: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`trade_to_dict` (times and dates typed again)."""
    out = dict(d)
    for key in ("entry_time", "exit_time"):
        if out.get(key) is not None:
            out[key] = time_from_str(out[key])
    for key in ("session", "expiry"):
        if out.get(key) is not None:
            out[key] = date.fromisoformat(out[key])
    return out
