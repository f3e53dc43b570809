"""Fixtures of the engine tests."""

from __future__ import annotations

import pytest

from zerodte.types import OptionContract

from .helpers import Market, make_market


@pytest.fixture(scope="session")
def market3() -> Market:
    return make_market(3, seed=1)


@pytest.fixture(autouse=True)
def _occ_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    """OCC symbols come from zerodte.options.occ; a stand-in only while it is absent."""
    try:
        import zerodte.options.occ  # noqa: F401
    except ImportError:
        monkeypatch.setattr(
            OptionContract,
            "symbol",
            property(lambda c: f"SPY{c.expiry:%y%m%d}{c.right.value}{round(c.strike * 1000):08d}"),
        )
