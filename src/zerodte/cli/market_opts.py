"""Market options shared by every command that runs on market data.

``--days``, ``--start/--end``, ``--seed``, ``--edge`` and ``--json`` mean the same everywhere:
see :func:`zerodte.market.loading.load_market` for how they choose the data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

Days = Annotated[int | None, typer.Option("--days", help="Trading days of data to use.")]
Start = Annotated[str | None, typer.Option("--start", help="First trading day (YYYY-MM-DD).")]
End = Annotated[str | None, typer.Option("--end", help="Last trading day (YYYY-MM-DD).")]
Seed = Annotated[int | None, typer.Option("--seed", help="Synthetic market seed.")]
Edge = Annotated[
    float | None, typer.Option("--edge", help="Synthetic planted edge, 0 (martingale) to 1.")
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def parse_day(value: str | None, option: str) -> date | None:
    """Parse ``YYYY-MM-DD`` or raise a ``typer.BadParameter`` naming the option."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        message = f"{value!r} is not a date; use YYYY-MM-DD"
        raise typer.BadParameter(message, param_hint=option) from exc
