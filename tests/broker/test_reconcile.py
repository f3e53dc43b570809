"""reconcile(): a scenario table of journal states against venue reports."""

from __future__ import annotations

import pandas as pd
import pytest

from zerodte.broker.reconcile import (
    Adopt,
    Close,
    JournalState,
    JournalView,
    NewFill,
    NotPlaced,
    VenueOrder,
    VenueView,
    reconcile,
)
from zerodte.types import Side

SYM = "SPY240315C00500000"
T = pd.Timestamp("2024-03-15 10:00", tz="America/New_York")


def _j(state: JournalState, filled: int = 0, avg: float = 0.0, qty: int = 2) -> JournalView:
    return JournalView("z-abc-1", state, SYM, Side.BUY, qty, filled, avg)


def _v(status: str, filled: int, avg: float, qty: int = 2, bid: str = "9") -> VenueOrder:
    return VenueOrder("z-abc-1", bid, status, SYM, Side.BUY, qty, filled, avg, T)


@pytest.mark.parametrize(
    ("journal", "venue", "positions", "expected"),
    [
        # a lost reply: the intent is at the venue, open
        (_j(JournalState.INTENT), (_v("open", 0, 0.0),), {}, [Adopt("z-abc-1", "9")]),
        # a lost reply and a fill while the bot was down
        (
            _j(JournalState.UNKNOWN),
            (_v("filled", 2, 1.25),),
            {SYM: 2},
            [
                Adopt("z-abc-1", "9"),
                NewFill("z-abc-1", 2, 1.25, T),
                Close("z-abc-1", JournalState.FILLED),
            ],
        ),
        # the request never arrived: proven absent
        (_j(JournalState.INTENT), (), {}, [NotPlaced("z-abc-1")]),
        # one of two contracts known; the second filled at 1.30 (average 1.275)
        (
            _j(JournalState.PARTIALLY_FILLED, 1, 1.25),
            (_v("filled", 2, 1.275),),
            {SYM: 2},
            [NewFill("z-abc-1", 1, pytest.approx(1.30), T), Close("z-abc-1", JournalState.FILLED)],
        ),
        # cancelled by the venue with nothing filled
        (
            _j(JournalState.PLACED),
            (_v("canceled", 0, 0.0),),
            {},
            [Close("z-abc-1", JournalState.CANCELLED)],
        ),
        # filled but the average price not published yet: wait for the next poll
        (_j(JournalState.PLACED), (_v("filled", 2, 0.0),), {}, []),
        # everything already known
        (_j(JournalState.FILLED, 2, 1.25), (_v("filled", 2, 1.25),), {SYM: 2}, []),
    ],
)
def test_actions(
    journal: JournalView,
    venue: tuple[VenueOrder, ...],
    positions: dict[str, int],
    expected: list[object],
) -> None:
    view = VenueView({"z-abc-1": venue} if venue else {}, positions)
    have = {SYM: journal.filled_qty} if journal.filled_qty else {}
    report = reconcile([journal], have, view, own_tag_prefix="z-abc-")
    assert report.actions == expected
    assert report.problems == []


def test_duplicate_tag_is_a_problem() -> None:
    view = VenueView({"z-abc-1": (_v("open", 0, 0.0), _v("open", 0, 0.0, bid="10"))}, {})
    report = reconcile([_j(JournalState.PLACED)], {}, view)
    assert report.problems and "duplicate" in report.problems[0]


def test_position_mismatch_is_a_problem() -> None:
    view = VenueView({"z-abc-1": (_v("filled", 2, 1.0),)}, {SYM: 3})
    report = reconcile([_j(JournalState.FILLED, 2, 1.0)], {SYM: 2}, view)
    assert report.problems == [
        f"position {SYM}: journal +2, venue +3; reconcile the account by hand (or flatten it) "
        "before the bot trades again"
    ]


def test_fewer_fills_at_the_venue_is_a_problem() -> None:
    view = VenueView({"z-abc-1": (_v("partially_filled", 1, 1.0),)}, {SYM: 1})
    report = reconcile([_j(JournalState.FILLED, 2, 1.0)], {SYM: 2}, view)
    assert any("cannot be undone" in p for p in report.problems)


def test_unknown_order_with_our_tags_is_a_problem() -> None:
    stranger = VenueOrder("z-abc-2", "11", "open", SYM, Side.BUY, 1, 0, 0.0)
    view = VenueView({"z-abc-2": (stranger,)}, {})
    report = reconcile([], {}, view, own_tag_prefix="z-abc-")
    assert report.problems and "never intended" in report.problems[0]
    other = reconcile([], {}, VenueView({"manual-1": (stranger,)}, {}), own_tag_prefix="z-abc-")
    assert other.problems == []


def test_simulated_venue_keeps_the_journal() -> None:
    view = VenueView({}, {}, authoritative=False)
    placed = reconcile([_j(JournalState.PLACED)], {}, view)
    assert placed.actions == [] and placed.problems == []
    intent = reconcile([_j(JournalState.INTENT)], {}, view)
    assert intent.actions == [NotPlaced("z-abc-1")]
