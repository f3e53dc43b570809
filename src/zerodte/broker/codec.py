"""Orders, fills and rejections as JSON-ready dicts (journals, checkpoints, the fake venue).

Contracts travel as OCC symbols, times as ISO-8601 strings with their offset, prices as
floats (JSON keeps a float exactly), so ``decode(encode(x)) == x``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from zerodte.broker.base import Rejection
from zerodte.options.occ import format_occ, parse_occ
from zerodte.types import Fill, OptionContract, Order, OrderType, Side

TIMEZONE = "America/New_York"


def time_to_str(time: pd.Timestamp | None) -> str | None:
    """ISO-8601 with offset (``None`` stays ``None``)."""
    return None if time is None else pd.Timestamp(time).isoformat()


def time_from_str(text: str | None) -> pd.Timestamp | None:
    """Inverse of :func:`time_to_str`, in New York time."""
    if text is None:
        return None
    return pd.Timestamp(text).tz_convert(TIMEZONE)


def contract_symbol(contract: OptionContract) -> str:
    """OCC symbol of ``contract``."""
    return format_occ(contract)


def contract_from(symbol: str) -> OptionContract:
    """The contract of an OCC symbol."""
    return parse_occ(symbol)


def order_to_dict(order: Order) -> dict[str, Any]:
    """``order`` as plain data."""
    return {
        "tag": order.tag,
        "symbol": contract_symbol(order.contract),
        "side": order.side.value,
        "qty": order.qty,
        "type": order.order_type.value,
        "limit": order.limit_price,
        "reason": order.reason,
        "group": order.group,
    }


def order_from_dict(data: dict[str, Any]) -> Order:
    """Inverse of :func:`order_to_dict`."""
    limit = data.get("limit")
    return Order(
        tag=str(data["tag"]),
        contract=contract_from(str(data["symbol"])),
        side=Side(data["side"]),
        qty=int(data["qty"]),
        order_type=OrderType(data.get("type", OrderType.MARKET.value)),
        limit_price=None if limit is None else float(limit),
        reason=str(data.get("reason", "")),
        group=str(data.get("group", "")),
    )


def fill_to_dict(fill: Fill) -> dict[str, Any]:
    """``fill`` as plain data."""
    return {
        "tag": fill.tag,
        "symbol": contract_symbol(fill.contract),
        "side": fill.side.value,
        "qty": fill.qty,
        "price": fill.price,
        "fee": fill.fee,
        "time": time_to_str(fill.time),
        "slippage": fill.slippage,
        "group": fill.group,
        "quote_spread": fill.quote_spread,
        "quote_source": fill.quote_source,
    }


def fill_from_dict(data: dict[str, Any]) -> Fill:
    """Inverse of :func:`fill_to_dict`."""
    time = time_from_str(data["time"])
    assert time is not None
    return Fill(
        tag=str(data["tag"]),
        contract=contract_from(str(data["symbol"])),
        side=Side(data["side"]),
        qty=int(data["qty"]),
        price=float(data["price"]),
        fee=float(data["fee"]),
        time=time,
        slippage=float(data.get("slippage", 0.0)),
        group=str(data.get("group", "")),
        quote_spread=float(data.get("quote_spread", 0.0)),
        quote_source=str(data.get("quote_source", "")),
    )


def rejection_to_dict(event: Rejection) -> dict[str, Any]:
    """``event`` as plain data."""
    return {
        "order_id": event.order_id,
        "order": order_to_dict(event.order),
        "reason": event.reason,
        "detail": event.detail,
    }


def rejection_from_dict(data: dict[str, Any]) -> Rejection:
    """Inverse of :func:`rejection_to_dict`."""
    return Rejection(
        str(data["order_id"]),
        order_from_dict(data["order"]),
        str(data["reason"]),
        str(data.get("detail", "")),
    )
