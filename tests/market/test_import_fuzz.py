"""Hypothesis-generated corrupted bar files: 0 tracebacks, 0 bad bars accepted, and the store
unchanged on every refusal (the corruption kinds and the oracle are in ``corruptions.py``).

The suite runs a fixed, derandomised sample; ``benchmarks/bench_hostile.py`` runs many more.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from .corruptions import Case, cases, judge

OUTCOMES: Counter[str] = Counter()


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_corrupted_files_are_refused_or_harmless(case: Case) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        verdict = judge(case, Path(tmp))
    OUTCOMES[verdict.outcome] += 1
    assert verdict.outcome != "failed", f"{case.describe()}\n{verdict.detail}"
