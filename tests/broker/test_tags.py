"""Client tags: venue-legal by construction, the same after a restart."""

from __future__ import annotations

import pandas as pd
import pytest

from zerodte.broker.tags import TAG_PATTERN, TagFactory, check_tag, is_settlement, settlement_tag
from zerodte.errors import ConfigError

BAR = pd.Timestamp("2024-11-22 10:12", tz="America/New_York")


def test_tags_are_deterministic_and_legal() -> None:
    a, b = TagFactory("zdte", "momentum-abc"), TagFactory("zdte", "momentum-abc")
    entry = a.entry(BAR)
    assert entry == b.entry(BAR) and entry.startswith("zdte-") and entry.endswith("-2411221012-e")
    assert a.entry(BAR) != TagFactory("zdte", "other-run").entry(BAR)
    for tag in (entry, a.exit(entry, 1), settlement_tag(entry)):
        assert TAG_PATTERN.fullmatch(tag) and check_tag(tag) is None
    assert is_settlement(settlement_tag(entry)) and not is_settlement(a.exit(entry, 2))


@pytest.mark.parametrize("prefix", ["", "z d", "z:", "x" * 17])
def test_bad_prefix_is_a_config_error(prefix: str) -> None:
    with pytest.raises(ConfigError, match="client_tag_prefix"):
        TagFactory(prefix, "run")


def test_check_tag_says_why() -> None:
    assert "letters, digits and '-'" in (check_tag("bad:tag") or "")
    assert check_tag("x" * 256) is not None
