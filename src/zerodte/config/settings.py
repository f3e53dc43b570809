"""The one typed settings tree.

Every section is a frozen pydantic model that rejects unknown fields. Percent-valued
fields are in percent (``8.0`` means 8 %). Secrets are ``SecretStr`` and only come from the
environment or a ``.env`` file (see :mod:`zerodte.config.loader`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

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


class Section(BaseModel):
    """Base of every settings section: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class DataSettings(Section):
    """Market data: where it lives and how the embedded synthetic market is made."""

    data_dir: Path = Path("data")
    cache_dir: Path = Path("data/cache")
    symbols: tuple[str, ...] = ("SPY", "QQQ", "VIX")
    source: Literal["synthetic", "files", "polygon", "tradier", "yahoo"] = "synthetic"
    synthetic_seed: int = 7
    synthetic_days: int = Field(default=120, ge=1)
    synthetic_edge: float = Field(default=1.0, ge=0.0, le=1.0)
    synthetic_start: date = date(2024, 1, 2)
    vendor_retries: int = Field(default=4, ge=0)
    polygon_api_key: SecretStr | None = None


class OptionsSettings(Section):
    """Option pricing, volatility surface, bid/ask model and contract selection."""

    risk_free_rate: float = 0.045
    dividend_yield: float = 0.013
    expiry_days: int = Field(default=0, ge=0, description="0 = same-day expiry (0DTE)")
    strike_step: float = Field(default=1.0, gt=0)
    selection: Literal["atm", "delta", "otm"] = "atm"
    target_delta: float = Field(default=0.50, gt=0, lt=1)
    otm_offset: int = Field(default=0, ge=0, description="strikes out of the money for 'otm'")
    # volatility surface from VIX (parameters justified in docs/options.md)
    iv_vix_ratio: float = Field(default=0.87, gt=0)
    skew_slope: float = -0.05
    smile_curvature: float = 0.02
    zero_dte_term_mult: float = Field(default=1.66, gt=0)
    iv_floor: float = Field(default=0.05, gt=0)
    smile_z_cap: float = Field(default=3.0, gt=0, description="|z| cap of the smile, ATM sds")
    # bid/ask model
    tick: float = Field(default=0.01, gt=0)
    min_spread: float = Field(default=0.01, ge=0)
    base_spread_pct: float = Field(default=2.0, ge=0, description="percent of mid")
    spread_moneyness_mult: float = Field(default=1.0, ge=0)
    spread_close_mult: float = Field(default=1.0, ge=0)
    spread_vix_mult: float = Field(default=0.02, ge=0)
    max_spread_pct: float = Field(default=50.0, gt=0)
    spread_vix_ref: float = Field(default=15.0, ge=0, description="VIX with no vix widening")
    spread_close_minutes: float = Field(default=60.0, gt=0, description="widening window")


class CostsSettings(Section):
    """Friction applied by the paper broker and by ghost (counterfactual) trades alike."""

    fee_per_contract: float = Field(default=0.65, ge=0)
    slippage_pct_of_spread: float = Field(default=10.0, ge=0, description="percent of spread")
    slippage_min_ticks: int = Field(default=0, ge=0)
    latency_seconds: float = Field(default=1.0, ge=0)


class ExitsSettings(Section):
    """Exit rules, applied hard rules first (see :mod:`zerodte.exits`)."""

    max_loss_per_trade: float = Field(default=500.0, gt=0, description="dollar loss cap")
    stop_loss_pct: float = Field(default=8.0, gt=0)
    stop_loss_min_hold_minutes: float = Field(default=1.0, ge=0)
    take_profit_pct: float = Field(default=12.0, gt=0)
    use_trailing_stop: bool = True
    trailing_activation_pct: float = Field(default=4.0, gt=0)
    trailing_stop_pct: float = Field(default=2.0, gt=0)
    use_partial_take_profit: bool = False
    partial_take_profit_pct: float = Field(default=10.0, gt=0)
    partial_fraction: float = Field(default=0.5, gt=0, lt=1)
    runner_trail_pct: float = Field(default=4.0, gt=0)
    max_hold_minutes: float = Field(default=45.0, gt=0)
    expiry_exit_minutes: float = Field(default=30.0, ge=0)
    eod_flatten_minutes: float = Field(default=1.0, ge=0)
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

    no_entry_after_open_minutes: float = Field(default=5.0, ge=0)
    no_entry_before_close_minutes: float = Field(default=45.0, ge=0)
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
    cooldown_minutes: float = Field(default=5.0, ge=0)
    calibration_enabled: bool = False
    calibration_min_prob: float = Field(default=0.42, ge=0, le=1)
    calibration_min_trades: int = Field(default=30, ge=1)
    regime_filter_enabled: bool = False
    regime_conflict_veto: bool = False
    v4: V4GateSettings = Field(default_factory=V4GateSettings)
    regime_quality: RegimeQualitySettings = Field(default_factory=RegimeQualitySettings)


class EntrySettings(Section):
    """Entry controller selection, its parameters and position sizing."""

    controller: str = "momentum"
    q_threshold: float = 0.0
    q_min_conf: float = 0.0
    q_min_abs_ret: float = Field(default=0.0, ge=0)
    momentum_lookback_minutes: int = Field(default=5, ge=1)
    momentum_threshold_pct: float = Field(default=0.10, ge=0)
    random_p_call: float = Field(default=0.02, ge=0, le=1)
    random_p_put: float = Field(default=0.02, ge=0, le=1)
    random_seed: int = 0
    prediction_min_risk_adjusted: float = Field(default=0.3, ge=0)
    prediction_min_confidence: float = Field(default=0.55, ge=0, le=1)
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


class QScorerSettings(Section):
    """Counterfactual labels, Q-regression training and the Q entry controller."""

    horizon_minutes: int = Field(default=15, ge=1)
    horizons: tuple[int, ...] = (10, 15, 20, 30, 60)
    feature_set: str = Field(default="minimal", description="state features (zerodte.features)")
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
    epochs: int = Field(default=30, ge=1)
    batch_size: int = Field(default=512, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    hidden: tuple[int, ...] = (64, 64)
    ensemble_size: int = Field(default=5, ge=1)
    positive_weight: float = Field(default=2.0, ge=1)
    lcb_z: float = Field(default=1.0, ge=0)
    validation_fraction: float = Field(default=0.25, gt=0, lt=1)
    embargo_minutes: int | None = None
    seed: int = 0


class ModelsSettings(Section):
    """Predictors, regime model and calibration."""

    horizon_minutes: int = Field(default=15, ge=1)
    sequence_length: int = Field(default=60, ge=2)
    encoder: Literal["tcn", "lstm", "transformer", "mamba"] = "tcn"
    uncertainty: Literal["mc_dropout", "variational"] = "mc_dropout"
    hidden: int = Field(default=64, ge=4)
    epochs: int = Field(default=8, ge=1)
    batch_size: int = Field(default=512, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    neutral_band_pct: float = Field(default=0.05, ge=0)
    knn_k: int = Field(default=50, ge=1)
    tree_thresholds_pct: tuple[float, float] = (0.10, 0.20)
    tree_horizons: tuple[int, ...] = (5, 15, 30)
    calibration_method: Literal["isotonic", "platt"] = "platt"
    hmm_refit_days: int = Field(default=20, ge=1)
    hmm_train_days: int = Field(default=60, ge=5)
    model_dir: Path = Path("models")
    predictor_bundle: Path | None = None  # trained bundle: backtests join its predictions
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
    client_tag_prefix: str = "zdte"

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


class DashboardSettings(Section):
    """The FastAPI dashboard and REST API."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_token: SecretStr | None = None


class EngineSettings(Section):
    """The cycle loop and run directories."""

    runs_dir: Path = Path("runs")
    max_cycles: int | None = Field(default=None, ge=1)
    seed: int = 0
    write_decisions: bool = True
