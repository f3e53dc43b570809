"""``ModelWatcher``: hot reload of the Q-scorer model, owned by the composition root.

A live run checks ``qscorer.model_dir`` at most every ``qscorer.reload_sec`` seconds of its
clock (before a cycle). A changed pair is loaded only when its ``.pt`` matches the
metadata's SHA-256, it passes :mod:`zerodte.qscorer.checks` and the feature schema is the
controller's; otherwise the current model stays in use and the refusal is counted and
logged once per version of the files (:class:`~zerodte.qscorer.controller.PairWatch`, as
a backtest's reload); vanished files are logged once. The controller itself never touches
the file system in a live run (it is built without a ``model_dir``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from zerodte.qscorer.controller import PairWatch, QScorerController

logger = logging.getLogger(__name__)


class ModelWatcher:
    """Watches ``model_dir`` and installs a new verified pair into ``controller``.

    Parameters
    ----------
    model_dir
        Where the pair lives (``qscorer.model_dir``).
    controller
        The controller to feed.
    every_s
        Minimum seconds of ``now()`` between two checks.
    now
        The run's clock.
    """

    def __init__(
        self,
        model_dir: Path,
        controller: QScorerController,
        every_s: float,
        now: Callable[[], pd.Timestamp],
    ) -> None:
        self.model_dir = Path(model_dir)
        self.controller = controller
        self.every_s = every_s
        self.now = now
        self.reloads = 0
        self._last: pd.Timestamp | None = None
        self._watch = PairWatch(self.model_dir)

    @property
    def refused(self) -> int:
        """Pairs refused so far."""
        return self._watch.refused

    def check(self) -> bool:
        """Reload when due and changed; ``True`` when a new model was installed."""
        now = self.now()
        if self._last is not None and (now - self._last).total_seconds() < self.every_s:
            return False
        self._last = now
        loaded = self._watch.poll(self.controller.loaded, self.controller.check_pair)
        if loaded is None:
            return False
        installed = self.controller.install(loaded)
        self.reloads += int(installed)
        return installed

    def summary(self) -> dict[str, int]:
        """Reloads and refusals so far."""
        return {"reloads": self.reloads, "refused": self.refused}
