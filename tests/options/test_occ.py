"""OCC symbols: format, parse, errors and the round trip."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.errors import DataError
from zerodte.options.occ import format_occ, parse_occ
from zerodte.types import OptionContract, Right


def test_format_example() -> None:
    c = OptionContract("SPY", date(2024, 11, 22), Right.CALL, 590.0)
    assert format_occ(c) == "SPY241122C00590000"
    assert c.symbol == "SPY241122C00590000"
    assert format_occ(OptionContract("SPXW", date(2021, 1, 4), Right.PUT, 3702.5)) == (
        "SPXW210104P03702500"
    )


def test_parse_padded_and_compact() -> None:
    want = OptionContract("SPY", date(2024, 11, 22), Right.PUT, 590.5)
    assert parse_occ("SPY241122P00590500") == want
    assert parse_occ("SPY   241122P00590500") == want


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "SPY",
        "SPY241122X00590000",
        "SPY241322C00590000",
        "SPY241122C0059000",
        "SPY241122C00000000",
        "123241122C00590000",
    ],
)
def test_bad_symbols_raise_data_error(bad: str) -> None:
    with pytest.raises(DataError, match="OCC"):
        parse_occ(bad)


def test_bad_strike_raises() -> None:
    with pytest.raises(DataError, match="strike"):
        format_occ(OptionContract("SPY", date(2024, 1, 2), Right.CALL, -1.0))
    with pytest.raises(DataError, match="strike"):
        format_occ(OptionContract("SPY", date(2024, 1, 2), Right.CALL, 1.00051))


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    st.sampled_from([Right.CALL, Right.PUT]),
    st.integers(1, 99_999_999),
)
def test_round_trip(root: str, expiry: date, right: Right, millis: int) -> None:
    c = OptionContract(root, expiry, right, millis / 1000)
    assert parse_occ(format_occ(c)) == c
