"""What can go wrong at the fake Tradier, how often, and how often it did.

A :class:`FaultPlan` holds a rate per fault kind and a seeded random stream; the server
draws from it at each place a fault can happen and counts every fault it injects, so a test
can require "1,000 faults survived" and read the counters back.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from zerodte.errors import ConfigError

FAULT_KINDS: dict[str, str] = {
    "server_error": "any request: 500 Datastore Error fault JSON or a 502 HTML page",
    "rate_limited": "any request: 429 Quota Violation (an injected throttle)",
    "timeout": "any request: no reply within the client's timeout",
    "drop": "any request: the connection is dropped mid-reply",
    "not_json": "any GET: 200 with an HTML body",
    "order_error_before_commit": "order POST: 500 text, the order is not placed",
    "order_error_after_commit": "order POST: the order is placed, then 500 text",
    "order_drop_after_commit": "order POST: the order is placed, then the connection drops",
    "reject": "order POST: 200 with errors (a backoffice refusal), nothing placed",
    "partial_fill": "an order of 2+ contracts fills in two parts, one bar apart",
    "delayed_fill": "an order reaches the book one or two bars late",
    "avg_price_race": "a fill shows status filled before avg_fill_price for one bar",
    "stale_quote": "quotes and chains of a few bars ago, with their old dates",
    "envelope": 'empty collections as null, "null" or {} and one item as a bare object',
}
"""Every fault kind and what it does."""


@dataclass
class FaultPlan:
    """Rates (0..1) per fault kind, drawn from a seeded stream; counts what was injected.

    Parameters
    ----------
    rates
        ``kind -> probability`` at each chance (kinds of :data:`FAULT_KINDS`).
    seed
        Seed of the random stream.
    """

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.rates) - set(FAULT_KINDS))
        if unknown:
            raise ConfigError(
                f"unknown fault kind(s) {unknown}; known: {', '.join(sorted(FAULT_KINDS))}"
            )
        bad = {k: v for k, v in self.rates.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ConfigError(f"fault rates must be in [0, 1], got {bad}")
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> FaultPlan:
        """From ``"timeout=0.02,server_error=0.05"`` (``all=0.01`` sets every kind)."""
        rates: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, _, value = part.partition("=")
            try:
                rate = float(value)
            except ValueError as exc:
                raise ConfigError(f"fault spec {part!r}: use kind=rate, e.g. timeout=0.02") from exc
            if name == "all":
                rates.update(dict.fromkeys(FAULT_KINDS, rate))
            else:
                rates[name] = rate
        return cls(rates, seed)

    def draw(self, kind: str) -> bool:
        """Whether ``kind`` happens now (counted when it does)."""
        rate = self.rates.get(kind, 0.0)
        if rate <= 0.0 or self._rng.random() >= rate:
            return False
        self.injected[kind] += 1
        return True

    def choice(self, n: int) -> int:
        """A uniform pick in ``range(n)`` from the same stream (which variant of a fault)."""
        return self._rng.randrange(n)

    @property
    def total(self) -> int:
        """Faults injected so far."""
        return sum(self.injected.values())
