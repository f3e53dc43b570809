"""Market options shared by every command that runs on market data.

``--days``, ``--start/--end``, ``--seed``, ``--edge`` and ``--json`` mean the same everywhere:
see :func:`zerodte.market.loading.load_market` for how they choose the data.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zerodte.cli.state import cli_state

if TYPE_CHECKING:
    from zerodte.config import Settings
    from zerodte.market.loading import MarketData

Days = Annotated[int | None, typer.Option("--days", min=1, help="Trading days of data to use.")]
Start = Annotated[str | None, typer.Option("--start", help="First trading day (YYYY-MM-DD).")]
End = Annotated[str | None, typer.Option("--end", help="Last trading day (YYYY-MM-DD).")]
Seed = Annotated[int | None, typer.Option("--seed", help="Synthetic market seed.")]
Edge = Annotated[
    float | None, typer.Option("--edge", help="Synthetic planted edge, 0 (martingale) to 1.")
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ThresholdModel = Annotated[
    Path | None,
    typer.Option(
        "--threshold-model",
        help="Learned threshold-learner state (`zerodte train threshold`): puts the learner "
        "in front of the controller (entry.threshold.enabled, entry.threshold.state_path).",
    ),
]


def with_threshold_model(settings: Settings, path: Path | None) -> Settings:
    """``settings`` with the threshold learner restored from ``path`` (unchanged if None)."""
    if path is None:
        return settings
    from zerodte.config import with_overrides

    return with_overrides(
        settings,
        {"entry.threshold.enabled": True, "entry.threshold.state_path": path},
        "--threshold-model",
    )


def _use_config(ctx: typer.Context, value: Path | None) -> None:
    """``--config`` given after the command: same effect as before it (``zerodte --config``)."""
    if value is not None:
        state = cli_state(ctx)
        state.config_file = value
        state.changed()


def _use_preset(ctx: typer.Context, value: str | None) -> None:
    """``--preset`` given after the command: same effect as before it."""
    if value is not None:
        state = cli_state(ctx)
        state.preset = value
        state.changed()


# Accepted by every command that runs on market data, so that
# ``zerodte backtest --config FILE`` and ``zerodte --config FILE backtest`` agree. The value
# goes to the invocation's settings state (read by ``current_settings``), not to the command.
Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML settings file (same as the root --config).",
        callback=_use_config,
        is_eager=True,
        expose_value=False,
    ),
]
Preset = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="Settings preset (same as the root --preset).",
        callback=_use_preset,
        is_eager=True,
        expose_value=False,
    ),
]


def _override(key: str) -> Any:
    def callback(ctx: typer.Context, value: object) -> object:
        if value is not None and value is not False:
            state = cli_state(ctx)
            state.overrides[key] = str(value) if isinstance(value, Path) else value
            state.changed()
        return value

    return callback


# Every command that loads market data takes these (like --config, they set the
# invocation's settings): the store to read, the opt-in VIX proxy and skipping days
# without VIX/QQQ.
def _eager(flag: str, key: str, text: str) -> Any:
    return typer.Option(flag, help=text, callback=_override(key), is_eager=True, expose_value=False)


DataDirOpt = Annotated[
    Path | None,
    _eager(
        "--data-dir",
        "data.data_dir",
        "Market data store (data.data_dir); an empty named store is an error.",
    ),
]
VixProxy = Annotated[
    bool,
    _eager(
        "--vix-proxy",
        "data.vix_proxy",
        "Without stored VIX, price on the SPY realised-vol proxy (data.vix_proxy).",
    ),
]
SkipMissingDays = Annotated[
    bool,
    _eager(
        "--skip-missing-days",
        "data.skip_missing_days",
        "Drop SPY days that lack VIX/QQQ bars (listed in data_source.skipped_days).",
    ),
]


def parse_day(value: str | None, option: str) -> date | None:
    """Parse ``YYYY-MM-DD`` or raise a ``typer.BadParameter`` naming the option."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        message = f"{value!r} is not a date; use YYYY-MM-DD"
        raise typer.BadParameter(message, param_hint=option) from exc


def load_market_options(  # noqa: PLR0917 (mirrors the market options)
    settings: Settings,
    days: int | None,
    start: str | None,
    end: str | None,
    seed: int | None,
    edge: float | None,
) -> MarketData:
    """The market data the market options choose (:func:`~zerodte.market.loading.load_market`)."""
    from zerodte.market.loading import load_market

    return load_market(
        settings,
        days=days,
        start=parse_day(start, "--start"),
        end=parse_day(end, "--end"),
        seed=seed,
        edge=edge,
    )
