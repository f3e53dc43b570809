"""The one typed settings tree.

Every section is a frozen pydantic model that rejects unknown fields. Percent-valued
fields are in percent (``8.0`` means 8 %). Secrets are ``SecretStr`` and only come from the
environment or a ``.env`` file (see :mod:`zerodte.config.loader`).

Every value's domain is in its type, so that what a later command would choke on is
refused when the settings are loaded: floats are finite (no ``inf``/``nan``), a number is
never a boolean and a boolean never a number (``stop_loss_pct = true`` is an error, not
1 %), probabilities lie in [0, 1], horizons, minutes-in-a-session and layer sizes have
their ranges, lists that must not be empty are not, and names (``entry.controller``,
``qscorer.feature_set``, ``data.symbols``) are checked against what exists.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from zerodte.config.decision_settings import (
    BanditSettings,
    ConsensusSettings,
    DynamicExitSettings,
    GreeksExitSettings,
    PPOSettings,
    QuantorSettings,
    RegimeQualitySettings,
    ThresholdSettings,
    V4GateSettings,
)
from zerodte.config.names import ControllerName, FeatureSetName
from zerodte.config.section import Section
from zerodte.types import SESSION_MINUTES, SYMBOL_MAX_LENGTH, SYMBOL_PATTERN

Probability = Annotated[float, Field(ge=0, le=1)]
DayMinutes = Annotated[float, Field(ge=0, le=SESSION_MINUTES)]
Horizon = Annotated[int, Field(ge=1, le=SESSION_MINUTES)]
LayerSize = Annotated[int, Field(ge=1, le=4096)]
Percent = Annotated[float, Field(gt=0, le=100)]
Symbol = Annotated[str, StringConstraints(pattern=SYMBOL_PATTERN, max_length=SYMBOL_MAX_LENGTH)]
ColumnName = Annotated[str, StringConstraints(pattern=r"^\w+$")]
"""A state feature column, e.g. ``rv_15m`` (checked against the feature set when training)."""
DirectionTerm = Annotated[str, StringConstraints(pattern=r"^\s*\w+\s*(\*\s*\w+\s*)?$")]
"""A direction term: one column or the product of two, ``"ret_30m*relvol_5m"``."""
DATABASE_URL = re.compile(r"^(postgres|postgresql|sqlite)(\+\w+)?://")
HTTP_URL = re.compile(r"^https?://[^\s/]+")


class DataSettings(Section):
    """Market data: where it lives and how the embedded synthetic market is made."""

    data_dir: Path = Path("data")
    cache_dir: Path = Path("data/cache")
    symbols: tuple[Symbol, ...] = Field(default=("SPY", "QQQ", "VIX"), min_length=1)
    source: Literal["synthetic", "files", "polygon", "tradier", "yahoo"] = "synthetic"
    synthetic_seed: int = Field(default=7, ge=0)
    synthetic_days: int = Field(default=120, ge=1)
    synthetic_edge: float = Field(default=1.0, ge=0.0, le=1.0)
    synthetic_start: date = date(2024, 1, 2)
    vendor_retries: int = Field(default=4, ge=0)
    vix_proxy: bool = Field(
        default=False,
        description="without stored VIX, price options on the SPY realised-vol proxy "
        "(zerodte.market.vix_proxy); every summary then says vix=proxy",
    )
    skip_missing_days: bool = Field(
        default=False,
        description="drop SPY days that lack VIX/QQQ bars instead of refusing the data "
        "(the days are listed in data_source.skipped_days)",
    )
    sentiment_source: Literal["auto", "polygon-news", "fear-greed", "none"] = Field(
        default="auto",
        description="which stored series the `sentiment` column carries: polygon-news (mean "
        "article score over news_window_minutes), fear-greed ((index - 50) / 50), auto "
        "(news when stored, else Fear & Greed) or none",
    )
    news_window_minutes: int = Field(
        default=1440, ge=1, description="trailing window of the news sentiment, minutes"
    )
    polygon_api_key: SecretStr | None = None
    fmp_api_key: SecretStr | None = None
    manager_url: str | None = Field(
        default=None, description="the data manager (`zerodte data serve`) to sync from"
    )
    manager_api_key: SecretStr | None = None
    serve_api_key: SecretStr | None = Field(
        default=None, description="key `zerodte data serve` requires (X-API-Key header)"
    )

    @field_validator("symbols", mode="before")
    @classmethod
    def _upper_symbols(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [v.strip().upper() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("manager_url")
    @classmethod
    def _check_manager_url(cls, value: str | None) -> str | None:
        if value is not None and not HTTP_URL.match(value):
            raise ValueError("not an http(s) URL; use http://host:8765 (the `data serve` address)")
        return value


class OptionsSettings(Section):
    """Option pricing, volatility surface, bid/ask model and contract selection."""

    risk_free_rate: float = Field(
        default=0.045, ge=-0.05, le=0.25, description="per year, as a fraction: 0.045 = 4.5 %"
    )
    dividend_yield: float = Field(
        default=0.013, ge=0, le=0.25, description="per year, as a fraction: 0.013 = 1.3 %"
    )
    expiry_days: int = Field(default=0, ge=0, le=366, description="0 = same-day expiry (0DTE)")
    strike_step: float = Field(default=1.0, gt=0)
    selection: Literal["atm", "delta", "otm"] = "atm"
    target_delta: float = Field(default=0.50, gt=0, lt=1)
    otm_offset: int = Field(default=0, ge=0, description="strikes out of the money for 'otm'")
    # volatility surface from VIX (parameters justified in docs/options.md)
    iv_vix_ratio: float = Field(default=0.87, gt=0)
    skew_slope: float = -0.05
    smile_curvature: float = 0.02
    zero_dte_term_mult: float = Field(default=1.66, gt=0)
    # the time-of-day level D (docs/options.md); empty = none. Fitted on real SPXW quotes:
    # zero_dte_term_mult 1.724 with (15, 30, 60, 90) -> (1.6, 1.35, 1.2, 1.0). Not the
    # default: on the synthetic market it costs the Q-scorer's power must-hold (0.80 -> 0.70,
    # false positives 0.05 -> 0.15 on seeds 1-20)
    zero_dte_tod_minutes: tuple[float, ...] = Field(
        default=(),
        description="minutes to expiry of the time-of-day level's knots (increasing)",
    )
    zero_dte_tod_mult: tuple[float, ...] = Field(
        default=(),
        description="time-of-day level D at those knots (0DTE IV rises into the close)",
    )
    iv_floor: float = Field(default=0.05, gt=0, le=5)
    smile_z_cap: float = Field(default=3.0, gt=0, description="|z| cap of the smile, ATM sds")
    # bid/ask model
    tick: float = Field(default=0.01, gt=0)
    min_spread: float = Field(default=0.01, ge=0)
    base_spread_pct: float = Field(default=2.0, ge=0, le=100, description="percent of mid")
    spread_moneyness_mult: float = Field(default=1.0, ge=0)
    spread_close_mult: float = Field(default=1.0, ge=0)
    spread_vix_mult: float = Field(default=0.02, ge=0)
    max_spread_pct: float = Field(default=50.0, gt=0, le=200)
    spread_vix_ref: float = Field(default=15.0, ge=0, description="VIX with no vix widening")
    spread_close_minutes: float = Field(
        default=60.0, gt=0, le=SESSION_MINUTES, description="widening window"
    )
    # far-OTM floor and ITM spreads (docs/options.md, "Real quotes"); defaults change nothing
    bid_floor_ticks: int = Field(
        default=0, ge=0, le=10, description="modelled bid at least this many ticks (0: none)"
    )
    itm_spread_share: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="share of intrinsic value that widens the spread like premium (1: all)",
    )
    # the traded option root and its real quotes (docs/real-data.md)
    underlying: Literal["SPY", "SPX", "SPXW"] = Field(
        default="SPY", description="option root traded; SPX/SPXW need SPX minute bars"
    )
    real_quotes: Literal["auto", "off"] = Field(
        default="auto",
        description="auto: price from stored real quotes where they cover the contract",
    )
    model_params: Path | None = Field(
        default=None, description="per-underlying parameters from `options calibrate`"
    )

    @model_validator(mode="after")
    def _check_root(self) -> OptionsSettings:
        if self.underlying != "SPY" and (
            abs(self.strike_step / 5.0 - round(self.strike_step / 5.0)) > 1e-9 or self.tick < 0.05
        ):
            raise ValueError(
                f"options.underlying {self.underlying} lists 5-point strikes with a $0.05 tick "
                f"below $3; got strike_step {self.strike_step}, tick {self.tick}. Set "
                "options.strike_step = 5 and options.tick = options.min_spread = 0.05 (or load "
                "the parameters of `zerodte options calibrate` with options.model_params)"
            )
        return self

    @model_validator(mode="after")
    def _check_tod(self) -> OptionsSettings:
        knots, mults = self.zero_dte_tod_minutes, self.zero_dte_tod_mult
        if len(knots) != len(mults):
            raise ValueError(
                f"options.zero_dte_tod_minutes ({len(knots)} values) and "
                f"options.zero_dte_tod_mult ({len(mults)} values) must have the same length"
            )
        if any(b <= a for a, b in pairwise(knots)) or any(k < 0 for k in knots):
            raise ValueError(f"options.zero_dte_tod_minutes must increase from >= 0, got {knots}")
        if any(m <= 0 for m in mults):
            raise ValueError(f"options.zero_dte_tod_mult must be positive, got {mults}")
        return self


class CostsSettings(Section):
    """Friction applied by the paper broker and by ghost (counterfactual) trades alike."""

    fee_per_contract: float = Field(default=0.65, ge=0)
    slippage_pct_of_spread: float = Field(
        default=10.0, ge=0, le=100, description="percent of spread"
    )
    slippage_min_ticks: int = Field(default=0, ge=0)
    latency_seconds: float = Field(default=1.0, ge=0, le=3600)


class ExitsSettings(Section):
    """Exit rules, applied hard rules first (see :mod:`zerodte.exits`)."""

    max_loss_per_trade: float = Field(default=500.0, gt=0, description="dollar loss cap")
    stop_loss_pct: float = Field(default=8.0, gt=0)
    stop_loss_min_hold_minutes: DayMinutes = 1.0
    take_profit_pct: float = Field(default=12.0, gt=0, le=10_000)
    use_trailing_stop: bool = True
    trailing_activation_pct: float = Field(default=4.0, gt=0, le=10_000)
    trailing_stop_pct: Percent = 2.0
    use_partial_take_profit: bool = False
    partial_take_profit_pct: float = Field(default=10.0, gt=0, le=10_000)
    partial_fraction: float = Field(default=0.5, gt=0, lt=1)
    runner_trail_pct: Percent = 4.0
    max_hold_minutes: float = Field(default=45.0, gt=0, le=SESSION_MINUTES)
    expiry_exit_minutes: DayMinutes = 30.0
    eod_flatten_minutes: DayMinutes = 1.0
    greeks: GreeksExitSettings = Field(default_factory=GreeksExitSettings)
    dynamic: DynamicExitSettings = Field(default_factory=DynamicExitSettings)

    @model_validator(mode="after")
    def _check_trailing(self) -> ExitsSettings:
        if self.use_trailing_stop and self.trailing_stop_pct >= self.trailing_activation_pct:
            raise ValueError(
                f"exits.trailing_stop_pct ({self.trailing_stop_pct}) must be smaller than "
                f"exits.trailing_activation_pct ({self.trailing_activation_pct}); otherwise the "
                "trail would sit below the entry price the moment it activates"
            )
        if self.use_partial_take_profit and self.partial_take_profit_pct <= 0:
            raise ValueError("exits.partial_take_profit_pct must be positive")
        return self


Weekday = Literal["MON", "TUE", "WED", "THU", "FRI"]


class GatesSettings(Section):
    """Entry gates; each veto is recorded with its reason."""

    no_entry_after_open_minutes: DayMinutes = 5.0
    no_entry_before_close_minutes: DayMinutes = 45.0
    pdt_enabled: bool = True
    pdt_equity_threshold: float = Field(default=25_000.0, ge=0)
    pdt_max_day_trades: int = Field(default=3, ge=0)
    pdt_window_days: int = Field(default=5, ge=1)
    max_positions: int = Field(default=1, ge=1)
    max_trades_per_day: int = Field(default=10, ge=1)
    day_of_week_filter: tuple[Weekday, ...] = ()
    skip_monday: bool = False
    skip_friday: bool = False
    daily_loss_limit: float = Field(default=1_000.0, gt=0, description="dollars")
    cooldown_minutes: DayMinutes = 5.0
    calibration_enabled: bool = False
    calibration_min_prob: Probability = 0.42
    calibration_min_trades: int = Field(default=30, ge=1)
    regime_filter_enabled: bool = False
    regime_conflict_veto: bool = False
    v4: V4GateSettings = Field(default_factory=V4GateSettings)
    regime_quality: RegimeQualitySettings = Field(default_factory=RegimeQualitySettings)


class EntrySettings(Section):
    """Entry controller selection, its parameters and position sizing."""

    controller: ControllerName = "momentum"
    q_threshold: float = 0.0
    q_min_conf: Probability = Field(default=0.0, description="P[Q > 0], 0 to 1")
    q_min_abs_ret: float = Field(default=0.0, ge=0)
    momentum_lookback_minutes: int = Field(default=5, ge=1)
    momentum_threshold_pct: float = Field(default=0.10, ge=0)
    random_p_call: Probability = 0.02
    random_p_put: Probability = 0.02
    random_seed: int = 0
    prediction_min_risk_adjusted: float = Field(default=0.3, ge=0)
    prediction_min_confidence: Probability = 0.55
    sizing: Literal["fixed_contracts", "fixed_risk", "equity_fraction", "quantor"] = (
        "fixed_contracts"
    )
    contracts: int = Field(default=1, ge=1)
    risk_dollars: float = Field(default=500.0, gt=0)
    equity_fraction: float = Field(default=0.05, gt=0, le=1)
    block_signal_strategies: tuple[str, ...] = ()
    bandit: BanditSettings = Field(default_factory=BanditSettings)
    consensus: ConsensusSettings = Field(default_factory=ConsensusSettings)
    ppo: PPOSettings = Field(default_factory=PPOSettings)
    threshold: ThresholdSettings = Field(default_factory=ThresholdSettings)
    quantor: QuantorSettings = Field(default_factory=QuantorSettings)

    @model_validator(mode="after")
    def _check_random(self) -> EntrySettings:
        if self.random_p_call + self.random_p_put > 1:
            raise ValueError("entry.random_p_call + entry.random_p_put must be at most 1")
        return self


DEFAULT_COST_COLUMNS: tuple[str, ...] = (
    "vix_level",
    "rv_15m",
    "rv_30m",
    "minute_of_session",
    "minutes_to_close",
    "tod_sin",
    "tod_cos",
    "relvol_5m",
    "relvol_15m",
    "relvol_40m",
    "vix_minus_rv",
    "volume_spike",
    "atr_14_pct",
)
"""Inputs of the symmetric part ``s``: volatility level, clock, relative volume."""

DEFAULT_DIRECTION_TERMS: tuple[str, ...] = (
    "ret_30m",
    "ret_30m*relvol_5m",
    "ret_30m*relvol_15m",
    "ret_30m*relvol_40m",
    "ret_30m*vix_level",
    "ret_30m*rv_30m",
    "ret_30m*tod_sin",
    "ret_30m*tod_cos",
    "ret_30m*volume_spike",
    "ret_15m",
    "ret_60m",
    "z30",
    "z30_x_relvol_5m",
    "z30_x_relvol_15m",
    "z30_x_relvol_40m",
)
"""Terms of the directional part ``d``: the move, alone and times its context."""


class QScorerSettings(Section):
    """Counterfactual labels, Q-regression training and the Q entry controller."""

    horizon_minutes: Horizon = 15
    horizons: tuple[Horizon, ...] = Field(default=(10, 15, 20, 30, 60), min_length=1)
    feature_set: FeatureSetName = Field(
        default="q_state", description="state features (zerodte.features)"
    )
    label_mode: Literal["all", "flat_only", "hold_only"] = "all"
    record_labels: bool = True
    apply_exit_rules: bool = Field(
        default=False, description="ghost labels run the exit rules (zerodte.qscorer.ghost_exits)"
    )
    model_dir: Path = Path("models/q_scorer")
    reload_sec: float = Field(default=30.0, gt=0)
    # predecessor's simplified ghost estimate
    ghost_premium_pct: float = Field(default=0.4, gt=0, description="premium as % of spot")
    ghost_spread_slippage_rt_pct: float = Field(default=3.0, ge=0)
    ghost_fee_per_contract: float = Field(default=0.65, ge=0)
    ghost_theta_daily_pct: float = Field(default=25.0, ge=0)
    # training
    model: Literal["structured", "mlp"] = Field(
        default="structured",
        description="structured: Q = s ± d (cost trees, direction ridge); mlp: two-head MLP",
    )
    cost_columns: tuple[ColumnName, ...] = Field(
        default=DEFAULT_COST_COLUMNS, min_length=1, description="state columns of s"
    )
    direction_terms: tuple[DirectionTerm, ...] = Field(
        default=DEFAULT_DIRECTION_TERMS, min_length=1, description="'a' or 'a*b' terms of d"
    )
    direction_ridge: float = Field(default=0.1, ge=0, description="ridge penalty per row")
    cost_trees: int = Field(default=200, ge=1)
    cost_depth: int = Field(default=3, ge=1)
    cost_learning_rate: float = Field(default=0.05, gt=0, le=1)
    cost_min_leaf: float = Field(default=500.0, ge=1)
    epochs: int = Field(default=30, ge=1)
    batch_size: int = Field(default=512, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    hidden: tuple[LayerSize, ...] = Field(
        default=(64, 64), min_length=1, description="hidden layer sizes; at least one layer"
    )
    ensemble_size: int = Field(default=5, ge=1)
    weight_decay: float = Field(default=1e-4, ge=0)
    bagging: Literal["session", "row"] = Field(
        default="session", description="bootstrap unit of the ensemble members"
    )
    lcb_z: float = Field(default=1.0, ge=0)
    validation_fraction: float = Field(
        default=0.25, gt=0, lt=1, description="reporting window (used for nothing else)"
    )
    early_stopping_fraction: float = Field(
        default=0.0, ge=0, lt=1, description="window that picks the epoch (0: keep the last)"
    )
    calibration_fraction: float = Field(
        default=0.0, ge=0, lt=1, description="window that fits the per-head offset (0: none)"
    )
    predictor_outputs: bool = Field(
        default=False,
        description="add models.predictor_bundle's calibrated outputs to the state",
    )
    predictor_embedding: bool = Field(
        default=False,
        description="add the Gaussian predictor's embedding (emb_*) to the state",
    )
    refit: bool = Field(
        default=True,
        description="refit the deployed model on every labelled row after the validation report",
    )
    embargo_minutes: int | None = Field(default=None, ge=0)
    seed: int = 0

    @model_validator(mode="after")
    def _check_windows(self) -> QScorerSettings:
        windows = self.validation_fraction + self.early_stopping_fraction
        windows += self.calibration_fraction
        if windows >= 1:
            raise ValueError(
                f"qscorer.validation_fraction ({self.validation_fraction}) + "
                f"early_stopping_fraction ({self.early_stopping_fraction}) + "
                f"calibration_fraction ({self.calibration_fraction}) must be below 1, "
                "so that rows are left to train on"
            )
        return self


class ModelsSettings(Section):
    """Predictors, regime model and calibration."""

    horizon_minutes: Horizon = 15
    sequence_length: int = Field(default=60, ge=2)
    encoder: Literal["tcn", "lstm", "transformer", "mamba"] = "tcn"
    uncertainty: Literal["mc_dropout", "variational"] = "mc_dropout"
    hidden: int = Field(default=64, ge=4)
    epochs: int = Field(default=8, ge=1)
    batch_size: int = Field(default=512, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    neutral_band_pct: float = Field(default=0.05, ge=0)
    knn_k: int = Field(default=50, ge=1)
    tree_thresholds_pct: tuple[
        Annotated[float, Field(ge=0, le=100)], Annotated[float, Field(ge=0, le=100)]
    ] = (0.10, 0.20)
    tree_horizons: tuple[Horizon, ...] = Field(default=(5, 15, 30), min_length=1)
    calibration_method: Literal["isotonic", "platt"] = "platt"
    hmm_refit_days: int = Field(default=20, ge=1)
    hmm_train_days: int = Field(default=60, ge=5)
    model_dir: Path = Path("models")
    predictor_bundle: Path | None = None  # trained bundle: backtests join its predictions
    horizon_bundles: tuple[Path, ...] = Field(
        default=(),
        description=(
            "predictor bundles at other horizons (one per horizon, `zerodte train <kind> "
            "--horizons 15,30,60`); each joins direction_prob_{up,down}_{h}m to the context"
        ),
    )
    regime_context: bool = Field(
        default=False, description="join the walk-forward HMM regime without a bundle"
    )
    mlflow_tracking_uri: str | None = None
    seed: int = 0


class BrokerSettings(Section):
    """Paper or live broker. Live needs an explicit, deliberate switch."""

    mode: Literal["paper", "live"] = "paper"
    paper_trading: bool = True
    initial_cash: float = Field(default=50_000.0, gt=0)
    tradier_token: SecretStr | None = None
    tradier_account_id: str | None = None
    tradier_base_url: str = "https://sandbox.tradier.com/v1"
    tradier_live_token: SecretStr | None = None  # production: a separate token and account
    tradier_live_account_id: str | None = None
    tradier_live_url: str = "https://api.tradier.com/v1"
    client_tag_prefix: str = Field(default="zdte", pattern=r"^[A-Za-z0-9]{1,16}$")

    @field_validator("tradier_base_url", "tradier_live_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        if not HTTP_URL.match(value):
            raise ValueError(
                "not an HTTP(S) URL; use e.g. https://sandbox.tradier.com/v1 "
                "(or http://127.0.0.1:PORT/v1 for the fake server)"
            )
        return value

    @model_validator(mode="after")
    def _check_live(self) -> BrokerSettings:
        if self.mode == "live" and self.paper_trading:
            raise ValueError(
                "broker.mode is 'live' but broker.paper_trading is true; live trading needs "
                "both broker.mode='live' and broker.paper_trading=false (PAPER_TRADING=false)"
            )
        return self


class StoreSettings(Section):
    """The SQL store of runs and trades."""

    # repr=False: a PostgreSQL URL may carry a password; keep it out of reprs and logs.
    url: str | None = Field(default=None, repr=False)
    path: Path = Path("runs/zerodte.db")
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not DATABASE_URL.match(value):
            raise ValueError(
                "not a database URL; use postgresql+psycopg://user@host:5432/db (or "
                "sqlite:///path.db), or leave it unset for SQLite at store.path"
            )
        return value


class DashboardSettings(Section):
    """The FastAPI dashboard and REST API."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_token: SecretStr | None = Field(
        default=None, description="needed by write endpoints (none set: writes are refused)"
    )
    protect_reads: bool = Field(default=False, description="read endpoints need the token too")
    cors_origins: tuple[str, ...] = Field(default=(), description="empty: CORS off")
    live_refresh_s: float = Field(default=2.0, gt=0, le=3600, description="live push interval")


class EngineSettings(Section):
    """The cycle loop and run directories."""

    runs_dir: Path = Path("runs")
    max_cycles: int | None = Field(default=None, ge=1)
    seed: int = 0
    write_decisions: bool = True


class LiveSettings(Section):
    """The live loop: feed polling, health checks, the journal and the go-live switch."""

    go_live_flag: Path = Path("go_live.flag")
    journal_path: Path = Path("runs/journal.db")
    http_timeout_s: float = Field(default=5.0, gt=0)
    bar_settle_s: float = Field(default=2.0, ge=0, description="wait after a bar's close")
    bar_timeout_s: float = Field(default=20.0, gt=0, description="then the bar is missing")
    poll_s: float = Field(default=1.0, gt=0, description="retry interval for a late bar")
    chain_width: int = Field(default=12, ge=1, description="strikes each side of the money")
    preview_orders: bool = True
    max_quote_age_s: float = Field(default=15.0, gt=0)
    max_broker_latency_s: float = Field(default=2.0, gt=0)
    max_clock_skew_s: float = Field(default=5.0, gt=0)
    probe_every_cycles: int = Field(default=5, ge=1, description="broker and clock probes")
    psi_max: float = Field(default=0.25, gt=0, description="feature drift (PSI) limit")
    psi_min_rows: int = Field(default=60, ge=10)
    drift_smd_max: float = Field(default=3.0, gt=0, description="mean shift in training sds")
    calibration_window: int = Field(default=30, ge=5, description="closed trades")
    calibration_max_gap: float = Field(default=0.25, gt=0, le=1)
    restart_limit: int = Field(default=20, ge=0, description="recoveries within one run")

    @model_validator(mode="after")
    def _check_bar_wait(self) -> LiveSettings:
        if self.bar_settle_s >= self.bar_timeout_s:
            raise ValueError(
                f"live.bar_settle_s ({self.bar_settle_s}) must be smaller than "
                f"live.bar_timeout_s ({self.bar_timeout_s}); otherwise a bar would be "
                "declared missing before it is first asked for"
            )
        return self


class AlignmentSettings(Section):
    """Data alignment of quotes with the decision time (EXACT, PRIOR, STALE, NONE)."""

    exact_window_s: float = Field(default=60.0, ge=0, description="data of the decision bar")
    half_life_s: float = Field(default=300.0, gt=0)
    max_lag_s: float = Field(default=600.0, gt=0)
    fail_fast_stale_pct: float = Field(default=30.0, gt=0, le=100)
    fail_fast_min_cycles: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _check_windows(self) -> AlignmentSettings:
        if self.exact_window_s > self.max_lag_s:
            raise ValueError(
                f"alignment.exact_window_s ({self.exact_window_s}) must not exceed "
                f"alignment.max_lag_s ({self.max_lag_s}): data older than max_lag_s is NONE"
            )
        return self
