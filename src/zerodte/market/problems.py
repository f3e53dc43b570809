"""Problems found in bar data and the report that lists them.

A :class:`Problem` says where (file and 1-based data row, i.e. the row number after the
header), which field, what is wrong, the value seen and how to fix it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zerodte.errors import DataError

ROW_COLUMN = "_row"
"""Optional column holding the row number in the source file (kept through repairs)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in bar data."""

    file: str
    row: int | None
    field: str
    problem: str
    value: str
    fix: str

    def render(self) -> str:
        """One line: ``file:row field: problem (value) -> fix``."""
        where = f"{self.file}:{self.row}" if self.row is not None else self.file
        return f"{where} [{self.field}] {self.problem} (seen {self.value}) -> {self.fix}"


@dataclass
class ValidationReport:
    """Every problem found in one or more bar frames."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def extend(self, other: ValidationReport) -> None:
        """Add the problems and notes of ``other``."""
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)

    def counts(self) -> dict[str, int]:
        """Number of problems per kind."""
        return dict(Counter(p.problem for p in self.problems))

    def render(self, limit: int = 50) -> str:
        """Human-readable report: counts per kind, then up to ``limit`` problems."""
        if self.ok:
            return "no problems found" + "".join(f"\n  note: {n}" for n in self.notes)
        lines = [f"{len(self.problems)} problem(s):"]
        lines += [f"  {kind}: {n}" for kind, n in sorted(self.counts().items())]
        lines += ["  " + p.render() for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def raise_if_bad(self, what: str) -> None:
        """Raise :class:`DataError` with the report when there is any problem."""
        if not self.ok:
            raise DataError(f"{what} refused: the data has problems.\n{self.render()}")


def rows_of(frame: pd.DataFrame, positions: np.ndarray) -> list[int]:
    """File rows (``_row`` column) of the frame positions, else the 1-based positions."""
    if ROW_COLUMN in frame.columns:
        return [int(v) for v in frame[ROW_COLUMN].to_numpy()[positions]]
    return [int(p) + 1 for p in positions]
