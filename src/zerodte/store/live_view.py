"""Read-only view of live and paper runs from their order journal (tables ``journal_*``).

A running bot checkpoints after every cycle (:mod:`zerodte.engine.live`): the engine state
with its open trades, one record row per cycle (decision, reason, vetoes, cash, marked
positions, and the cycle's status: alignment, health, controller) and every order with its
state. This module turns those rows into what a monitor shows; it never writes.

A journal that does not exist yet (no bot has run) or has not been migrated reads as empty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from zerodte.broker.reconcile import OPEN_STATES
from zerodte.store.schema import journal_checkpoints, journal_cycles, journal_meta, journal_orders
from zerodte.store.views import json_value

ACTIONS = ("HOLD", "CALL", "PUT")
_OPEN = frozenset(s.value for s in OPEN_STATES)


def _tables_exist(conn: sa.Connection) -> bool:
    return bool(sa.inspect(conn).has_table(journal_checkpoints.name))


def _position(trade: dict[str, Any]) -> dict[str, Any]:
    position = trade.get("position") or {}
    tracked = trade.get("tracked") or {}
    qty = int(position.get("qty", 0))
    avg = position.get("avg_price")
    mark = tracked.get("mark")
    unrealized = None
    if mark is not None and avg is not None:
        unrealized = (float(mark) - float(avg)) * 100.0 * qty - float(trade.get("entry_fee", 0.0))
    return {
        "tag": trade.get("tag"),
        "symbol": position.get("symbol"),
        "qty": qty,
        "avg_price": avg,
        "entry_time": position.get("entry_time"),
        "mark": mark,
        "minutes_held": tracked.get("minutes_held"),
        "pnl_pct": tracked.get("pnl_pct"),
        "unrealized": unrealized,
    }


def _order(tag: str, state: str, data: dict[str, Any]) -> dict[str, Any]:
    order = data.get("order") or {}
    return {
        "tag": tag,
        "state": state,
        "symbol": order.get("symbol"),
        "side": order.get("side"),
        "qty": order.get("qty"),
        "type": order.get("type"),
        "limit": order.get("limit"),
        "reason": order.get("reason"),
        "filled_qty": data.get("filled_qty", 0),
        "avg_price": data.get("avg_price"),
        "broker_id": data.get("broker_id"),
        "submitted_at": data.get("submitted_at"),
    }


def _decision(row: dict[str, Any], bar: dt.datetime | None) -> dict[str, Any]:
    action = int(row.get("action", 0))
    return {
        "cycle": int(row["cycle"]),
        "bar": None if bar is None else json_value(bar),
        "action": ACTIONS[action] if 0 <= action < len(ACTIONS) else str(action),
        "scores": row.get("scores"),
        "reason": row.get("reason"),
        "executed": row.get("executed"),
        "vetoes": [{"gate": g, "reason": r} for g, r in row.get("vetoes") or []],
    }


class LiveView:
    """Live runs of one journal database (``None``: no journal yet, every view empty)."""

    def __init__(self, engine: sa.Engine | None) -> None:
        self.engine = engine

    def runs(self) -> list[dict[str, Any]]:
        """Runs with a checkpoint, the most recently updated first."""
        if self.engine is None:
            return []
        cp = journal_checkpoints
        query = sa.select(cp.c.run_id, cp.c.cycle, cp.c.bar_time).order_by(cp.c.bar_time.desc())
        with self.engine.connect() as conn:
            if not _tables_exist(conn):
                return []
            return [
                {"run_id": r, "cycle": int(c), "bar": json_value(b)}
                for r, c, b in conn.execute(query)
            ]

    def snapshot(self, run_id: str, *, decisions: int = 20) -> dict[str, Any] | None:
        """Everything the monitor shows of ``run_id``, or ``None`` when it has no checkpoint."""
        if self.engine is None:
            return None
        cp, cy = journal_checkpoints, journal_cycles
        with self.engine.connect() as conn:
            if not _tables_exist(conn):
                return None
            head = conn.execute(sa.select(cp).where(cp.c.run_id == run_id)).mappings().first()
            if head is None:
                return None
            rows = [
                dict(r)
                for r in conn.execute(
                    sa.select(cy.c.row).where(cy.c.run_id == run_id).order_by(cy.c.cycle)
                ).scalars()
            ]
            meta = {
                k: v
                for k, v in conn.execute(
                    sa.select(journal_meta.c.key, journal_meta.c.value).where(
                        journal_meta.c.run_id == run_id
                    )
                )
            }
            orders = [
                _order(tag, state, dict(data))
                for tag, state, data in conn.execute(
                    sa.select(journal_orders.c.tag, journal_orders.c.state, journal_orders.c.data)
                    .where(journal_orders.c.run_id == run_id)
                    .order_by(journal_orders.c.id)
                )
            ]
        return _assemble(run_id, head, rows, meta, orders, decisions)


def _assemble(  # noqa: PLR0917 (private assembly of one snapshot)
    run_id: str,
    head: Any,
    rows: list[dict[str, Any]],
    meta: dict[str, Any],
    orders: list[dict[str, Any]],
    n_decisions: int,
) -> dict[str, Any]:
    last_bar: dt.datetime = head["bar_time"]
    last_cycle = int(head["cycle"])
    # cycles are consecutive minutes of the session, so cycle i's bar is known from the last
    bars = {
        int(r["cycle"]): last_bar - dt.timedelta(minutes=last_cycle - int(r["cycle"])) for r in rows
    }
    equity = [
        {
            "cycle": int(r["cycle"]),
            "bar": json_value(bars[int(r["cycle"])]),
            "equity": float(r["cash"]) + float(r["positions_value"]),
        }
        for r in rows
    ]
    state = dict(head["state"])
    engine_state = state.get("engine") or {}
    book = engine_state.get("book") or {}
    day_start = engine_state.get("day_start_equity")
    if day_start is None:
        day_start = meta.get("initial_cash")
    now_equity = equity[-1]["equity"] if equity else None
    closed = state.get("trades") or []
    recent = [r for r in rows if r.get("action") or r.get("vetoes")][-n_decisions:]
    status = (rows[-1].get("status") if rows else None) or {}
    return {
        "run_id": run_id,
        "cycle": last_cycle,
        "bar": json_value(last_bar),
        "equity": now_equity,
        "day_start_equity": day_start,
        "today_pnl": None if now_equity is None or day_start is None else now_equity - day_start,
        "realized_pnl": sum(float(t.get("pnl") or 0.0) for t in closed),
        "closed_trades": len(closed),
        "positions": [_position(t) for t in book.get("open") or []],
        "open_orders": [o for o in orders if o["state"] in _OPEN],
        "orders": len(orders),
        "equity_curve": equity,
        "decisions": [_decision(r, bars.get(int(r["cycle"]))) for r in reversed(recent)],
        "alignment": status.get("alignment"),
        "health": status.get("health"),
        "controller": status.get("controller"),
        "model_version": status.get("model_version"),
        "reconciliations": len(meta.get("reconciliations") or []),
    }
