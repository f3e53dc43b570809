"""The root of the settings tree."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from zerodte.config.settings import (
    AlignmentSettings,
    BrokerSettings,
    CostsSettings,
    DashboardSettings,
    DataSettings,
    EngineSettings,
    EntrySettings,
    ExitsSettings,
    GatesSettings,
    LiveSettings,
    ModelsSettings,
    OptionsSettings,
    QScorerSettings,
    StoreSettings,
)


class Settings(BaseModel):
    """Every setting zerodte has, one section per package."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: DataSettings = Field(default_factory=DataSettings)
    options: OptionsSettings = Field(default_factory=OptionsSettings)
    costs: CostsSettings = Field(default_factory=CostsSettings)
    exits: ExitsSettings = Field(default_factory=ExitsSettings)
    gates: GatesSettings = Field(default_factory=GatesSettings)
    entry: EntrySettings = Field(default_factory=EntrySettings)
    qscorer: QScorerSettings = Field(default_factory=QScorerSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    alignment: AlignmentSettings = Field(default_factory=AlignmentSettings)
