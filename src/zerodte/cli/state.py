"""Process-wide CLI state set by the root callback (the config file chosen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zerodte.config import Settings


@dataclass
class CliState:
    """Options given to the root command that sub-commands need."""

    config_file: Path | None = None
    preset: str | None = None
    settings: Settings | None = None
    debug: bool = False
    overrides: dict[str, object] = field(default_factory=dict)
    """Dotted settings keys set by command options (``--data-dir``, ``--vix-proxy``, ...)."""


STATE = CliState()
