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
_MAX_STRIKE_MILLIS = 99_999_999


def format_occ(contract: OptionContract) -> str:
    """Compact OCC symbol of ``contract``.

    Raises
    ------
    DataError
        If the strike is not positive, is not a multiple of 0.001, or does not fit in eight
        digits, or the root is not 1-6 upper-case characters.
    """
    root = contract.underlying.upper()
    if not re.fullmatch(r"[A-Z][A-Z0-9.]{0,5}", root):
        raise DataError(
            f"cannot build an OCC symbol for underlying {contract.underlying!r}: the root "
            "must be 1-6 characters, letters/digits/'.', starting with a letter"
        )
    millis = round(contract.strike * 1000)
    if millis <= 0 or millis > _MAX_STRIKE_MILLIS or abs(millis - contract.strike * 1000) > 1e-6:
        raise DataError(
            f"cannot build an OCC symbol for strike {contract.strike!r}: it must be positive, "
            "below 100000 and a multiple of 0.001"
        )
    right = Right(contract.right).value
    return f"{root}{contract.expiry:%y%m%d}{right}{millis:08d}"


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
