"""Market symbols: one documented pattern, checked wherever a symbol becomes a path.

A symbol is upper-cased, then must match :data:`zerodte.types.SYMBOL_PATTERN`
(``[A-Z0-9.^-]``, 1 to 16 characters, at least one letter or digit). The store builds its
directory names from symbols, so a symbol such as ``../../x`` or ``SPY/2024`` is refused
before any path is made from it.
"""

from __future__ import annotations

import re

from zerodte.errors import DataError
from zerodte.types import SYMBOL_MAX_LENGTH, SYMBOL_PATTERN

_SYMBOL = re.compile(SYMBOL_PATTERN)


def check_symbol(symbol: object, where: str = "symbol") -> str:
    """Return ``symbol`` upper-cased, or raise :class:`DataError` naming ``where``.

    Examples
    --------
    >>> check_symbol("spy")
    'SPY'
    >>> check_symbol("BRK.B")
    'BRK.B'
    """
    text = str(symbol).strip().upper() if isinstance(symbol, str) else None
    if text is None or len(text) > SYMBOL_MAX_LENGTH or not _SYMBOL.fullmatch(text):
        raise DataError(
            f"{where}: {symbol!r} is not a symbol; a symbol is 1 to 16 of A-Z, 0-9, '.', '^' "
            "and '-' with at least one letter or digit (e.g. SPY, BRK.B, ^VIX)"
        )
    return text
