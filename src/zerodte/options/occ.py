"""OCC option symbols: ``ROOT YYMMDD C|P STRIKE*1000 (8 digits)``, e.g. ``SPY241122C00590000``.

The OCC 21-character format pads the root to six characters with spaces; brokers such as
Tradier use the compact form without padding, which is what :func:`format_occ` writes.
:func:`parse_occ` accepts both.
"""

from __future__ import annotations

import re
from datetime import date

from zerodte.errors import DataError
from zerodte.types import OptionContract, Right

_OCC = re.compile(
    r"^(?P<root>[A-Z][A-Z0-9.]{0,5}) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
)


def format_occ(contract: OptionContract) -> str:
    """Compact OCC symbol of ``contract`` (its ``symbol``; a :class:`DataError` for a root
    or strike the format cannot hold)."""
    return contract.symbol


def parse_occ(symbol: str) -> OptionContract:
    """Parse a compact or space-padded OCC symbol into an :class:`OptionContract`.

    Raises
    ------
    DataError
        If ``symbol`` is not of the form ``ROOT YYMMDD C|P 8-digit-strike`` or names an
        impossible date or a zero strike; the message shows the symbol and the form.
    """
    text = symbol.strip().upper()
    match = _OCC.match(text)
    if match is None:
        raise DataError(
            f"not an OCC option symbol: {symbol!r}; expected ROOT+YYMMDD+C|P+8-digit strike "
            "x1000, e.g. 'SPY241122C00590000'"
        )
    digits = match["date"]
    try:
        expiry = date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError as exc:
        raise DataError(f"OCC symbol {symbol!r} has an impossible expiry date {digits}") from exc
    millis = int(match["strike"])
    if millis == 0:
        raise DataError(f"OCC symbol {symbol!r} has a zero strike")
    return OptionContract(
        underlying=match["root"],
        expiry=expiry,
        right=Right(match["right"]),
        strike=millis / 1000.0,
    )
