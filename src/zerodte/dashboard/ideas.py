"""Ideas for the experiments system, submitted through the agent API.

An idea is a mapping of dotted settings keys to values (``{"exits.stop_loss_pct": 6}``)
for one experiment family. :class:`ExperimentQueue` puts it in the experiments system's
own queue (:class:`zerodte.store.experiments.ExperimentStore`, the table that
``zerodte experiments run`` and its workers claim from), through the same
:func:`zerodte.experiments.ideas.submit_idea` the CLI uses: the overrides are validated
against the settings schema with the family's base applied (unknown keys and out-of-domain
values are refused with the key, the value and what is allowed), each value is read back
from the validated tree (so ``6`` and ``6.0`` are one idea), and the family plus the
canonical overrides are hashed, so submitting the same idea twice is one idea.

:class:`IdeaQueue` is the seam the routes read through (tests inject their own).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from zerodte.config import Settings
from zerodte.errors import ConfigError
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.ideas import submit_idea
from zerodte.store.experiments import ExperimentStore

MAX_KEYS = 64
SECRET_SUFFIXES = ("token", "api_key", "password", "secret")


class IdeaRow(BaseModel):
    """One idea in the experiments queue."""

    model_config = ConfigDict(frozen=True)

    id: int
    family: str
    title: str
    param_hash: str
    params: dict[str, Any]
    note: str | None
    source: str
    client: str | None
    status: str
    created_at: dt.datetime | None
    decision: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return self.model_dump(mode="json")


class NoFamily(ConfigError):
    """The idea names no family the experiments system knows (the answer lists them)."""


class IdeaQueue(Protocol):
    """Where submitted ideas wait for the experiments system."""

    def submit(
        self,
        params: Mapping[str, Any],
        *,
        family: str | None,
        title: str | None,
        note: str | None,
        source: str,
    ) -> tuple[IdeaRow, bool]:
        """Queue ``params`` once per (family, parameters); ``(idea, created)``."""
        ...

    def ideas(self, status: str | None = None, limit: int = 100) -> list[IdeaRow]:
        """Ideas, newest first."""
        ...

    def counts(self) -> dict[str, int]:
        """Ideas per status."""
        ...


def check_params(params: Mapping[str, Any]) -> None:
    """Refuse an empty idea, too many keys, and secrets or locations as parameters.

    Raises
    ------
    ConfigError
        Naming the key and what to send instead.
    """
    if not params:
        raise ConfigError(
            "idea: no parameters; send dotted settings keys with values, e.g. "
            '{"params": {"exits.stop_loss_pct": 6.0}}'
        )
    if len(params) > MAX_KEYS:
        raise ConfigError(f"idea: {len(params)} parameters; at most {MAX_KEYS} per idea")
    secret = [k for k in params if k.split(".")[-1].endswith(SECRET_SUFFIXES) or k == "store.url"]
    if secret:
        raise ConfigError(
            f"idea: {secret[0]} is a secret or a location, not an experiment parameter"
        )


def _decision(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not result:
        return None
    stage = "validation" if "validation" in result else "quick"
    r = result.get(stage) or {}
    keys = ("decision", "n_trials", "trades", "per_trade_pnl", "dsr", "pbo", "failures")
    return {"stage": stage, **{k: r.get(k) for k in keys}}


def idea_row(doc: Mapping[str, Any]) -> IdeaRow:
    """An ``experiment_ideas`` row as the API shows it."""
    provenance = doc.get("provenance") or {}
    return IdeaRow(
        id=int(doc["id"]),
        family=str(doc["family"]),
        title=str(doc["title"]),
        param_hash=str(doc["param_hash"]),
        params=dict(doc["overrides"]),
        note=doc.get("hypothesis"),
        source=str(doc["source"]),
        client=provenance.get("client"),
        status=str(doc["status"]),
        created_at=doc.get("created_at"),
        decision=_decision(doc.get("result")),
    )


class ExperimentQueue:
    """:class:`IdeaQueue` over the experiments system's queue in the store.

    Parameters
    ----------
    store
        The experiments store (the run store's database).
    settings
        The dashboard's settings: ideas are validated against this tree plus the family's
        base overrides.
    """

    def __init__(self, store: ExperimentStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def family(self, name: str | None) -> FamilyConfig:
        """The named family, or the only one when ``name`` is None.

        Raises
        ------
        NoFamily
            No such family, none at all, or several and no name.
        """
        names = self.store.families()
        hint = (
            "create one with `zerodte experiments add --family NAME --seed S --set KEY=VALUE` "
            "(its windows and data are fixed there)"
        )
        if name is None:
            if len(names) == 1:
                name = names[0]
            elif not names:
                raise NoFamily(f"idea: no experiment family exists yet; {hint}")
            else:
                raise NoFamily(f'idea: name its family ("family"), one of {names}')
        doc = self.store.family(name)
        if doc is None:
            known = f"one of {names}" if names else "none exists yet"
            raise NoFamily(f"idea: no experiment family {name!r} ({known}); {hint}")
        return FamilyConfig.from_dict(doc)

    def submit(
        self,
        params: Mapping[str, Any],
        *,
        family: str | None,
        title: str | None,
        note: str | None,
        source: str,
    ) -> tuple[IdeaRow, bool]:
        """Validate, hash and queue the idea in its family (module docstring)."""
        check_params(params)
        cfg = self.family(family)
        label = (title or "").strip() or ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        out = submit_idea(
            self.store,
            self.settings,
            cfg,
            label,
            params,
            hypothesis=note,
            source="agent",
            provenance={"client": source, "via": "POST /api/agent/ideas"},
        )
        doc = self.store.idea(int(out["id"]))
        assert doc is not None  # submit_idea stored it or found it
        return idea_row(doc), bool(out["created"])

    def ideas(self, status: str | None = None, limit: int = 100) -> list[IdeaRow]:
        """Ideas of every family, newest first."""
        rows = self.store.ideas(status=status)
        return [idea_row(d) for d in reversed(rows[-limit:])]

    def counts(self) -> dict[str, int]:
        """Ideas per status."""
        return dict(Counter(str(d["status"]) for d in self.store.ideas()))
