"""Exceptions named by their consequence.

Each class says what the caller should do when it sees it:

* ``ConfigError``: the program must not start; fix the configuration.
* ``DataError``: the data cannot be used as given; fix or repair the file.
* ``ModelError``: a model artifact cannot be used (schema mismatch, half-written, corrupt).
* ``TransientBrokerError``: retry with backoff; nothing was changed at the broker.
* ``OrderRejected``: the broker refused one order; the bot continues without it.
* ``BrokerError``: the broker is in an unknown state; stop trading and reconcile.
* ``OrderOutcomeUnknown``: an order request got no answer (timeout, 5xx); it may or may not
  have been placed: reconcile it by its tag, never re-send it blindly.
"""

from __future__ import annotations


class ZerodteError(Exception):
    """Base class of every error zerodte raises on purpose."""


class ConfigError(ZerodteError):
    """Configuration is invalid; refuse to start."""


class DataError(ZerodteError):
    """Market or record data is invalid or missing."""


class ModelError(ZerodteError):
    """A model artifact is unusable (wrong schema, partial write, corrupt file)."""


class TransientBrokerError(ZerodteError):
    """A broker call failed in a way that is safe to retry."""


class OrderRejected(ZerodteError):
    """The broker refused an order; carries the machine-readable reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"order rejected ({reason}){': ' + detail if detail else ''}")


class BrokerError(ZerodteError):
    """The broker state is unknown or inconsistent; stop trading and reconcile."""


class OrderOutcomeUnknown(BrokerError):
    """An order request got no usable answer; whether the order exists is unknown."""

    def __init__(self, tag: str, detail: str) -> None:
        self.tag = tag
        super().__init__(
            f"order {tag}: outcome unknown ({detail}); it must be reconciled by its tag "
            "before anything is re-sent"
        )
