"""Submitting ideas and reporting the queue: the package calls behind ``zerodte experiments``.

Every idea names its family; the overrides are validated against the settings schema
before anything is stored (a typo or an out-of-range value is a ``ConfigError`` naming the
key) and hashed with the family, so submitting the same idea twice is one idea.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from zerodte.config import Settings
from zerodte.errors import ConfigError
from zerodte.experiments.family import FamilyConfig, canonical_overrides, param_hash
from zerodte.experiments.promotion import family_report
from zerodte.store.experiments import STATUSES, ExperimentStore

logger = logging.getLogger(__name__)

SOURCES = ("user", "meta", "agent", "study")


def open_family(store: ExperimentStore, cfg: FamilyConfig) -> FamilyConfig:
    """Create the family, or check ``cfg`` against the stored one (windows are fixed)."""
    return FamilyConfig.from_dict(store.ensure_family(cfg.name, cfg.to_dict()))


def submit_idea(  # noqa: PLR0917 (the fields of an idea)
    store: ExperimentStore,
    settings: Settings,
    cfg: FamilyConfig,
    title: str,
    overrides: Mapping[str, Any],
    hypothesis: str | None = None,
    source: str = "user",
    provenance: Mapping[str, Any] | None = None,
    priority: int = 0,
) -> dict[str, Any]:
    """Validate, hash and queue one idea; returns ``{"id", "created", "param_hash", ...}``."""
    if source not in SOURCES:
        raise ConfigError(f"--source {source!r}: an idea's source is one of {', '.join(SOURCES)}")
    if not title.strip():
        raise ConfigError(
            'an idea needs a title that says what it tests, such as "Test wider stops"'
        )
    canon = canonical_overrides(settings, cfg, overrides)
    digest = param_hash(cfg.name, canon)
    idea_id, created = store.add_idea(
        cfg.name, title, canon, digest, hypothesis, source, provenance, priority
    )
    if not created:
        logger.info("idea %d already queued with the same overrides (%s)", idea_id, digest[:12])
    return {
        "id": idea_id,
        "created": created,
        "param_hash": digest,
        "family": cfg.name,
        "overrides": canon,
    }


def queue_status(store: ExperimentStore, initial_cash: float) -> dict[str, Any]:
    """Counts by status and, per family, its trial count, best DSR and PBO over every trial."""
    ideas = store.ideas()
    counts = Counter(i["status"] for i in ideas)
    families = []
    for name in store.families():
        doc = store.family(name)
        assert doc is not None
        cfg = FamilyConfig.from_dict(doc)
        families.append(family_report(store.trials(name), cfg, initial_cash))
    return {
        "counts": {s: counts.get(s, 0) for s in STATUSES},
        "ideas": [
            {k: i[k] for k in ("id", "family", "title", "status", "source", "priority", "attempts")}
            | {"overrides": i["overrides"], "decision": _decision(i.get("result"))}
            for i in ideas
        ],
        "families": families,
    }


def _decision(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not result:
        return None
    stage = "validation" if "validation" in result else "quick"
    r = result.get(stage) or {}
    return {
        "stage": stage,
        **{k: r.get(k) for k in ("decision", "n_trials", "trades", "per_trade_pnl", "dsr", "pbo")},
    }
