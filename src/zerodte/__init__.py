"""zerodte: research and trading for intraday SPY options (0DTE by default)."""

from __future__ import annotations

__version__ = "0.1.0"
