"""kill -9 during multi-file store writes leaves the old or the new store, and verify passes.

60 trials in the suite (30 per scenario; see ``crash_harness.py``);
``benchmarks/bench_hostile.py`` runs more, on a 60-day generate as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .crash_harness import run_trials, scenarios

TRIALS = 30


@pytest.mark.parametrize("which", [0, 1], ids=["import", "generate"])
def test_kill_9_leaves_old_or_new_state(tmp_path: Path, which: int, forkserver: Any) -> None:
    sc = scenarios(tmp_path)[which]
    tally = run_trials(forkserver, sc, TRIALS, tmp_path / "trials", seed=which)
    assert tally.trials == TRIALS
    assert not tally.failures, "\n".join(tally.failures)
    assert tally.states["old"] + tally.states["new"] == TRIALS
    # the harness must really interrupt writes (killed while the child was writing)
    assert tally.interrupted_writes >= 1, (tally.states, tally.interrupted_writes)
