"""A straddle's legs keep their position group through the journal's order and fill codec."""

from __future__ import annotations

from datetime import date

import pandas as pd

from zerodte.broker.codec import fill_from_dict, fill_to_dict, order_from_dict, order_to_dict
from zerodte.types import Fill, OptionContract, Order, Right, Side

CALL = OptionContract("SPY", date(2024, 3, 4), Right.CALL, 510.0)
PUT = OptionContract("SPY", date(2024, 3, 4), Right.PUT, 510.0)
TAG = "zdte-1a2b3c4d-2403041030-e"


def test_leg_orders_and_fills_round_trip_with_their_group() -> None:
    t = pd.Timestamp("2024-03-04 10:31", tz="America/New_York")
    for contract, suffix in ((CALL, "-C"), (PUT, "-P")):
        order = Order(TAG + suffix, contract, Side.BUY, 2, reason="entry", group=TAG)
        assert order_from_dict(order_to_dict(order)) == order
        fill = Fill(TAG + suffix, contract, Side.BUY, 2, 1.25, 1.3, t, 0.01, group=TAG)
        assert fill_from_dict(fill_to_dict(fill)) == fill


def test_a_record_written_before_groups_decodes_as_single_leg() -> None:
    data = order_to_dict(Order(TAG, CALL, Side.BUY, 1))
    del data["group"]
    assert order_from_dict(data).group == ""
