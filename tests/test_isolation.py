"""Tests run away from the checkout, each in an empty directory (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def test_a_test_works_in_an_empty_directory_of_its_own() -> None:
    here = Path.cwd().resolve()
    assert here != CHECKOUT and CHECKOUT not in here.parents, here
    # ./data, ./runs and .env of the settings' defaults are this test's alone
    assert list(here.iterdir()) == []
