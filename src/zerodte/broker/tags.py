"""Client tags: every order's restart-safe, venue-legal client id.

A tag is built from what identifies the order, never from a counter that restarts with the
process, so a restarted bot that re-decides the same bar builds the same tag and the
journal recognises the order it already sent::

    entry       <prefix>-<run key>-<YYMMDDHHMM of the decision bar>-e
    exit n      <entry tag>-x<n>          (n = 1, 2, ... per position)
    settlement  <opening tag>-exp         (expiry settlement booked by the broker)

``run key`` is eight hex digits of SHA-256 of the run id. Tradier accepts tags of at most
255 characters of ``[A-Za-z0-9-]`` and rejects (never truncates) anything else, so tags
are valid by construction and :func:`check_tag` refuses the rest at the door.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pandas as pd

from zerodte.errors import ConfigError

TAG_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,255}$")
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9]{1,16}$")
ENTRY_ROLE = "e"
SETTLEMENT_SUFFIX = "-exp"
"""Suffix of the tag of an expiry settlement fill (the opening tag plus this)."""


def run_key(run_id: str) -> str:
    """Eight hex digits identifying ``run_id`` inside tags."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:8]


def check_tag(tag: str) -> str | None:
    """Why ``tag`` is not a venue-legal tag, or ``None`` when it is."""
    if TAG_PATTERN.fullmatch(tag):
        return None
    return (
        f"tag {tag!r} must be 1-255 characters of letters, digits and '-' (Tradier rejects "
        "anything else); build tags with zerodte.broker.tags"
    )


def settlement_tag(opening_tag: str) -> str:
    """Tag of the settlement fill of the position opened by ``opening_tag``."""
    return opening_tag + SETTLEMENT_SUFFIX


def is_settlement(tag: str) -> bool:
    """Whether ``tag`` is an expiry settlement's tag."""
    return tag.endswith(SETTLEMENT_SUFFIX)


@dataclass(frozen=True, slots=True)
class TagFactory:
    """Builds the tags of one run.

    Parameters
    ----------
    prefix
        ``broker.client_tag_prefix``: 1-16 letters or digits.
    run_id
        The run's id; the same id after a restart gives the same tags.
    """

    prefix: str
    run_id: str

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.fullmatch(self.prefix):
            raise ConfigError(
                f"broker.client_tag_prefix = {self.prefix!r}: use 1-16 letters or digits "
                "(it starts every order tag, and Tradier accepts only [A-Za-z0-9-])"
            )

    @property
    def key(self) -> str:
        """The run key inside every tag of this run."""
        return run_key(self.run_id)

    def entry(self, bar_time: pd.Timestamp) -> str:
        """Tag of the entry decided at the bar starting ``bar_time`` (one entry per bar)."""
        return f"{self.prefix}-{self.key}-{bar_time:%y%m%d%H%M}-{ENTRY_ROLE}"

    @staticmethod
    def exit(entry_tag: str, n: int) -> str:
        """Tag of the ``n``-th exit order (1-based) of the position opened by ``entry_tag``."""
        return f"{entry_tag}-x{n}"
