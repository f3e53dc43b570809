"""Legacy flat environment variables and the settings keys they set.

The system zerodte replaces read dozens of flat variables (``HARD_STOP_LOSS_PCT``,
``TT_MAX_CYCLES``, ...). They keep working as *aliases*: each one sets exactly one key, with
the conversion stated here. An explicit ``ZERODTE_SECTION__KEY`` variable from the same
place (process environment or ``.env``) wins over an alias, with a logged warning.

:data:`ALIASES` is the single source of truth: the table in ``docs/configuration.md`` is
generated from it by :func:`alias_table_markdown` (``zerodte config aliases --markdown``) and a
test checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zerodte.config.fields import FieldSpec, field_specs, parse_env_text

_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")


def _magnitude(raw: str) -> float:
    """Stop-loss percent as a positive number: the predecessor wrote ``-8`` or ``8``."""
    try:
        value = float(raw.strip())
    except ValueError as exc:
        raise ValueError(f"expected a number such as 8 or -8, saw {raw.strip()!r}") from exc
    return abs(value)


def _max_cycles(raw: str) -> int | None:
    """``0`` or empty meant "no limit" to the predecessor; zerodte spells that None."""
    text = raw.strip()
    if text.lower() in {"", "0", "none", "null"}:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise ValueError(f"expected a whole number of cycles, saw {text!r}") from exc


def _weekdays(raw: str) -> list[str]:
    """Comma list of days to skip; ``mon``, ``Monday`` and ``MON`` all mean ``MON``."""
    out = []
    for part in raw.split(","):
        token = part.strip().strip("'\"").upper()
        if not token:
            continue
        day = next((d for d in _WEEKDAYS if len(token) >= 3 and d.startswith(token)), None)
        # Unknown tokens pass through unchanged so the validation error names them.
        out.append(day[:3] if day is not None else token)
    return out


@dataclass(frozen=True)
class Alias:
    """One legacy variable.

    Attributes
    ----------
    name
        The variable name, e.g. ``"HARD_STOP_LOSS_PCT"``.
    key
        The settings key it sets, e.g. ``"exits.stop_loss_pct"``.
    units
        Units of the value, for the documentation table.
    conversion
        What happens to the text on its way to the key, for the documentation table.
    convert
        The conversion; None parses the text exactly as ``ZERODTE_<KEY>`` would be parsed.
    """

    name: str
    key: str
    units: str
    conversion: str = "parsed as the key's type"
    convert: Callable[[str], object] | None = None

    def parse(self, raw: str) -> object:
        """Convert the variable's text into a value for :attr:`key`.

        Raises
        ------
        ValueError
            If the conversion cannot read the text.
        """
        if self.convert is not None:
            return self.convert(raw)
        return parse_env_text(self.spec, raw)

    @property
    def spec(self) -> FieldSpec:
        """The field this alias sets."""
        return field_specs()[self.key]


ALIASES: tuple[Alias, ...] = (
    Alias("ENTRY_CONTROLLER", "entry.controller", "controller name"),
    Alias("ENTRY_Q_THRESHOLD", "entry.q_threshold", "Q-scorer output units"),
    Alias("Q_ENTRY_MIN_CONF", "entry.q_min_conf", "confidence, 0 to 1"),
    Alias("Q_ENTRY_MIN_ABS_RET", "entry.q_min_abs_ret", "Q-scorer output units"),
    Alias("Q_HORIZON_MINUTES", "qscorer.horizon_minutes", "minutes"),
    Alias("Q_SCORER_RELOAD_SEC", "qscorer.reload_sec", "seconds"),
    Alias("MODEL_RUN_DIR", "qscorer.model_dir", "path"),
    Alias(
        "TT_MAX_CYCLES",
        "engine.max_cycles",
        "cycles",
        "0 or empty means no limit (none)",
        _max_cycles,
    ),
    Alias("TT_Q_LABELS", "qscorer.record_labels", "true/false"),
    Alias("TT_MAX_HOLD_MINUTES", "exits.max_hold_minutes", "minutes"),
    Alias("GHOST_PREMIUM_PCT", "qscorer.ghost_premium_pct", "percent of spot"),
    Alias(
        "GHOST_SPREAD_SLIPPAGE_RT_PCT",
        "qscorer.ghost_spread_slippage_rt_pct",
        "percent of premium, round trip",
    ),
    Alias("GHOST_FEE_PER_CONTRACT", "qscorer.ghost_fee_per_contract", "dollars per contract"),
    Alias("GHOST_THETA_DAILY_PCT", "qscorer.ghost_theta_daily_pct", "percent of premium per day"),
    Alias(
        "HARD_STOP_LOSS_PCT",
        "exits.stop_loss_pct",
        "percent of entry premium",
        "magnitude: -8 and 8 both mean 8",
        _magnitude,
    ),
    Alias("HARD_TAKE_PROFIT_PCT", "exits.take_profit_pct", "percent of entry premium"),
    Alias("USE_TRAILING_STOP", "exits.use_trailing_stop", "true/false"),
    Alias("TRAILING_ACTIVATION_PCT", "exits.trailing_activation_pct", "percent of entry premium"),
    Alias("TRAILING_STOP_PCT", "exits.trailing_stop_pct", "percent of entry premium"),
    Alias("MAX_LOSS_PER_TRADE", "exits.max_loss_per_trade", "dollars"),
    Alias("STOP_LOSS_MIN_HOLD_MINUTES", "exits.stop_loss_min_hold_minutes", "minutes"),
    Alias(
        "DAY_OF_WEEK_FILTER",
        "gates.day_of_week_filter",
        "weekdays to SKIP",
        "comma list; mon, Monday, MON all mean MON",
        _weekdays,
    ),
    Alias("SKIP_MONDAY", "gates.skip_monday", "true/false"),
    Alias("SKIP_FRIDAY", "gates.skip_friday", "true/false"),
    Alias("PAPER_TRADING", "broker.paper_trading", "true/false"),
    Alias("TRADIER_TOKEN", "broker.tradier_token", "secret"),
    Alias(
        "TRADIER_API_KEY",
        "broker.tradier_token",
        "secret",
        "used only when TRADIER_TOKEN is unset",
    ),
    Alias("TRADIER_ACCOUNT_ID", "broker.tradier_account_id", "text"),
    Alias("POLYGON_API_KEY", "data.polygon_api_key", "secret"),
    Alias("DATABASE_URL", "store.url", "SQLAlchemy URL", "password masked when shown"),
)

ALIAS_BY_NAME: dict[str, Alias] = {alias.name: alias for alias in ALIASES}


def alias_table_markdown() -> str:
    """The documentation table of every alias (one line per alias, Markdown)."""
    lines = [
        "| legacy variable | settings key | units | conversion |",
        "| --- | --- | --- | --- |",
    ]
    lines.extend(f"| `{a.name}` | `{a.key}` | {a.units} | {a.conversion} |" for a in ALIASES)
    return "\n".join(lines)
