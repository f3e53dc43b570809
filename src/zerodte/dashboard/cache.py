"""A small cache of serialized responses of finished runs (their trades and P&L curves).

A recorded run does not change: a rerun replaces its row, with a new ``created_at``. The
key therefore holds the run id, its ``created_at`` and its trade count, so that a replaced
run is never served from the cache. Thread-safe (routes run in a thread pool); the least
recently used entry goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class ResponseCache:
    """``key -> bytes``, at most ``maxsize`` entries."""

    def __init__(self, maxsize: int = 16) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()

    def get_or_make(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The cached bytes of ``key``, made (outside the lock) and kept when missing."""
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return body
            self.misses += 1
        body = make()
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return body
