"""Logging is configured here, once, for the whole process."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")


def configure_logging(level: str = "WARNING", *, json_logs: bool = False) -> None:
    """Configure the root logger: human-readable to stderr, or JSON lines with ``json_logs``."""
    if level.upper() not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}; use {', '.join(LOG_LEVELS)}")
    numeric = logging.getLevelNamesMapping()[level.upper()]
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
