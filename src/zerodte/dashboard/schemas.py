"""Response and request models of the REST API (they make the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from zerodte.dashboard.experiments import ExperimentResult
from zerodte.dashboard.ideas import IdeaRow


class Model(BaseModel):
    """Responses carry their declared fields and may carry more (summaries grow keys)."""

    model_config = ConfigDict(extra="allow")


class Problem(BaseModel):
    """An error the client can act on: what was wrong and how to fix it."""

    detail: str


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries of :class:`Problem` for ``codes``."""
    text = {
        400: "the request is understood but refused (the detail says why and how to fix it)",
        401: "missing or wrong token",
        403: "writes are disabled (no token is configured)",
        404: "no such run",
        409: "no such experiment family (the detail lists them and how to create one)",
    }
    return {code: {"model": Problem, "description": text[code]} for code in codes}


class RunOut(Model):
    run_id: str
    created_at: str | None
    controller: str | None
    mode: str | None
    start: str | None
    end: str | None
    seed: int | None
    code_version: str | None
    config_hash: str | None
    data_hash: str | None
    summary: dict[str, Any]


class RunDetail(RunOut):
    meta: dict[str, Any]


class RunList(Model):
    total: int
    limit: int
    offset: int
    runs: list[RunOut]


class TradeList(Model):
    run_id: str
    total: int
    limit: int | None
    offset: int
    trades: list[dict[str, Any]]


class CurvePoint(Model):
    trade_id: int
    exit_time: str
    pnl: float
    cum_pnl: float
    drawdown: float


class PnlCurve(Model):
    run_id: str
    trades: int
    pnl: float
    max_drawdown: float
    points: list[CurvePoint]


class Health(Model):
    status: str
    version: str
    store: str
    journal: str
    runs: int


class ExperimentList(Model):
    total: int
    experiments: list[ExperimentResult]


class Comparison(Model):
    runs: list[ExperimentResult]
    missing: list[str]
    same_family: bool
    note: str


class Pattern(Model):
    pattern: str
    evidence: dict[str, Any]


class Suggestions(Model):
    patterns: list[Pattern]
    worst_runs: list[ExperimentResult]
    note: str


class Summary(Model):
    runs: int
    trades: int
    families: int
    controllers: list[str]
    best: ExperimentResult | None
    ideas: dict[str, int]
    experiments_system: str
    live_runs: int


class IdeaIn(BaseModel):
    """An idea: dotted settings keys and values, validated against the settings schema."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(
        description="dotted settings keys, e.g. {'exits.stop_loss_pct': 6.0}", max_length=64
    )
    family: str | None = Field(
        default=None,
        max_length=128,
        description="experiment family (its data and windows); optional when only one exists",
    )
    title: str | None = Field(default=None, min_length=1, max_length=255)
    note: str | None = Field(default=None, max_length=2000, description="the hypothesis")
    source: str = Field(
        default="agent", min_length=1, max_length=128, description="who sends it (provenance)"
    )


class IdeaOut(Model):
    idea: IdeaRow
    created: bool = Field(description="False: the same parameters were queued before")


class IdeaList(Model):
    total: int
    ideas: list[IdeaRow]


class AgentStatus(Model):
    experiments_system: str
    message: str
    running: list[dict[str, Any]]
    promotion: dict[str, Any] | None
    pbo: dict[str, Any] | None
    queue: dict[str, int]
    live_runs: list[dict[str, Any]]


class LiveRuns(Model):
    runs: list[dict[str, Any]]


class LiveSnapshot(Model):
    run_id: str
    cycle: int
    bar: str
    equity: float | None
    day_start_equity: float | None
    today_pnl: float | None
    realized_pnl: float
    closed_trades: int
    positions: list[dict[str, Any]]
    open_orders: list[dict[str, Any]]
    orders: int
    equity_curve: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    alignment: str | None
    health: dict[str, Any] | None
    controller: str | None
    model_version: str | None
    reconciliations: int


class TrainingMonitor(Model):
    experiments_system: str
    message: str
    queue: list[IdeaRow]
    running: list[dict[str, Any]]
    scoreboard: list[ExperimentResult]
    promotion: dict[str, Any] | None
    pbo: dict[str, Any] | None
