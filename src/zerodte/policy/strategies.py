"""Signal strategies: the label every decision carries, and the gate that blocks labels.

A controller names the strategy behind a decision in ``Decision.context["strategy"]``;
controllers that do not (``momentum``, ``random``, ``prediction``, ``q_scorer``) get the
label :func:`strategy_label` derives from their name and action. The label is recorded on
every trade (``signal_strategy``) and ``entry.block_signal_strategies`` vetoes entries by
label (:class:`BlockedStrategyGate`), the predecessor's way of switching off a strategy
that measured badly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from zerodte.types import Action, Decision, Observation, Veto

STRATEGIES: tuple[str, ...] = (
    "NEURAL_BULLISH",
    "NEURAL_BEARISH",
    "HMM_TREND",
    "MOMENTUM",
    "VOLATILITY_EXPANSION",
    "CONTRARIAN_FADE",
    "HMM_OVERRIDE",
    "DISAGREEMENT_TIEBREAK",
    "CONSENSUS",
    "BANDIT",
    "PPO",
    "Q_VALUE",
    "RANDOM",
    "NONE",
)
"""Every label a zerodte controller emits."""

_BY_CONTROLLER: dict[str, str] = {
    "momentum": "MOMENTUM",
    "random": "RANDOM",
    "q_scorer": "Q_VALUE",
}


def strategy_label(decision: Decision, controller: str) -> str:
    """The decision's strategy: its own ``context["strategy"]``, else derived.

    ``prediction`` maps to NEURAL_BULLISH / NEURAL_BEARISH by direction; HOLD is NONE.
    """
    own = decision.context.get("strategy")
    if isinstance(own, str) and own:
        return own
    if decision.action == Action.HOLD:
        return "NONE"
    if controller == "prediction":
        return "NEURAL_BULLISH" if decision.action == Action.BUY_CALLS else "NEURAL_BEARISH"
    return _BY_CONTROLLER.get(controller, controller.upper())


@dataclass
class BlockedStrategyGate:
    """Vetoes an entry whose strategy label is in ``blocked``."""

    blocked: frozenset[str]
    controller: str
    name: str = field(default="blocked_strategy")

    @classmethod
    def of(cls, blocked: Iterable[str], controller: str) -> BlockedStrategyGate:
        """Check the labels against :data:`STRATEGIES` (a typo would block nothing)."""
        labels = frozenset(b.upper() for b in blocked)
        unknown = sorted(labels - set(STRATEGIES))
        if unknown:
            from zerodte.errors import ConfigError

            raise ConfigError(
                f"entry.block_signal_strategies has unknown labels {unknown}; "
                f"valid: {', '.join(STRATEGIES)}"
            )
        return cls(labels, controller)

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto when the decision's label is blocked."""
        label = strategy_label(decision, self.controller)
        if label in self.blocked:
            return Veto(self.name, f"signal strategy {label} is in entry.block_signal_strategies")
        return None
