"""Position sizing: how many contracts an entry buys.

Every sizer returns a :class:`SizeDecision`; fewer than one contract gives
``contracts == 0`` and a reason starting with ``"sizing: "`` that the engine records as a
veto. Every sizer is also capped by what the account can pay at the ask:
``floor(buying_power / (ask * 100 + fee_per_contract))``, so a sized order is not rejected
for cash at the next bar unless the ask moves against it (slippage is not reserved).

Sizes are computed from the ask seen at the decision (the close quote of bar ``t``); the
fill happens at the next bar's open ask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, runtime_checkable

from zerodte.config.decision_settings import QuantorSettings
from zerodte.config.root import Settings
from zerodte.types import CONTRACT_MULTIPLIER, AccountState, Action, Decision, Observation


@dataclass(frozen=True, slots=True)
class SizeDecision:
    """Contracts to buy, and why it is zero when it is."""

    contracts: int
    reason: str = ""


@runtime_checkable
class Sizer(Protocol):
    """Chooses the number of contracts for an entry."""

    @property
    def name(self) -> str:
        """Short sizer name."""
        ...

    def size(self, ask: float, account: AccountState) -> SizeDecision:
        """Contracts to buy at ``ask`` (premium per share) given ``account``."""
        ...


@runtime_checkable
class MarketSizer(Sizer, Protocol):
    """A sizer that reads the market: the engine calls :meth:`size_for` instead of ``size``."""

    def size_for(self, ask: float, observation: Observation, decision: Decision) -> SizeDecision:
        """Contracts to buy at ``ask`` for ``decision`` in ``observation``."""
        ...


def _precheck(ask: float, account: AccountState, fee: float) -> tuple[int, str]:
    """``(affordable contracts, reason)``; reason is non-empty when nothing can be bought."""
    if not (math.isfinite(ask) and ask > 0.0):
        return 0, f"sizing: no usable ask ({ask!r})"
    per_contract = ask * CONTRACT_MULTIPLIER + fee
    cash = account.buying_power
    affordable = math.floor(cash / per_contract) if math.isfinite(cash) and cash > 0 else 0
    if affordable < 1:
        return 0, (
            f"sizing: one contract costs ${per_contract:,.2f} (ask {ask:.2f} x 100 + fee "
            f"{fee:.2f}), buying power is ${cash:,.2f}"
        )
    return affordable, ""


def _capped(wanted: int, affordable: int, why_zero: str) -> SizeDecision:
    if wanted < 1:
        return SizeDecision(0, why_zero)
    return SizeDecision(min(wanted, affordable))


@dataclass(frozen=True, slots=True)
class FixedContracts:
    """Always ``contracts`` contracts (capped by buying power)."""

    contracts: int = 1
    fee_per_contract: float = 0.65
    name: str = "fixed_contracts"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def size(self, ask: float, account: AccountState) -> SizeDecision:
        """``min(contracts, affordable)``."""
        affordable, reason = _precheck(ask, account, self.fee_per_contract)
        if reason:
            return SizeDecision(0, reason)
        return _capped(self.contracts, affordable, "sizing: fixed size is zero")


@dataclass(frozen=True, slots=True)
class FixedDollarRisk:
    """Risk ``risk_dollars`` per trade.

    ``contracts = floor(risk_dollars / risk_per_contract)`` with, for ``basis="stop"``
    (default), ``risk_per_contract = ask * 100 * stop_loss_pct / 100 + 2 * fee`` (the loss
    if the stop is hit at its level, plus round-trip fees) and, for ``basis="premium"``,
    ``ask * 100 + 2 * fee`` (the whole premium can be lost).

    The stop basis understates the risk when the market gaps through the stop (the fill is
    at the gapped bid); the per-trade dollar loss cap of the exit manager and the premium
    basis bound that.
    """

    risk_dollars: float = 500.0
    stop_loss_pct: float = 8.0
    fee_per_contract: float = 0.65
    basis: Literal["stop", "premium"] = "stop"
    name: str = "fixed_risk"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def size(self, ask: float, account: AccountState) -> SizeDecision:
        """``floor(risk_dollars / risk_per_contract)``, capped by buying power."""
        affordable, reason = _precheck(ask, account, self.fee_per_contract)
        if reason:
            return SizeDecision(0, reason)
        fraction = self.stop_loss_pct / 100.0 if self.basis == "stop" else 1.0
        risk = ask * CONTRACT_MULTIPLIER * fraction + 2.0 * self.fee_per_contract
        wanted = math.floor(self.risk_dollars / risk)
        return _capped(
            wanted,
            affordable,
            f"sizing: risk per contract ${risk:,.2f} ({self.basis} basis) exceeds the "
            f"${self.risk_dollars:,.2f} risk budget",
        )


@dataclass(frozen=True, slots=True)
class EquityFraction:
    """Spend at most ``fraction`` of equity on premium:
    ``contracts = floor(equity * fraction / (ask * 100))``, capped by buying power."""

    fraction: float = 0.05
    fee_per_contract: float = 0.65
    name: str = "equity_fraction"
    feature_inputs: ClassVar[tuple[str, ...]] = ()

    def size(self, ask: float, account: AccountState) -> SizeDecision:
        """``floor(equity * fraction / (ask * 100))``."""
        affordable, reason = _precheck(ask, account, self.fee_per_contract)
        if reason:
            return SizeDecision(0, reason)
        budget = account.equity * self.fraction
        wanted = math.floor(budget / (ask * CONTRACT_MULTIPLIER)) if budget > 0 else 0
        return _capped(
            wanted,
            affordable,
            f"sizing: one contract costs ${ask * CONTRACT_MULTIPLIER:,.2f} in premium, more "
            f"than {self.fraction:.1%} of equity ${account.equity:,.2f} (${budget:,.2f})",
        )


@dataclass(frozen=True, slots=True)
class QuantorSizer:
    """The Quantor fuzzy sizer (:mod:`zerodte.policy.quantor`) behind the sizing seam.

    The engine calls :meth:`size_for` (it needs the observation and the decision's
    direction); :meth:`size` alone, without the market, sizes nothing.
    """

    config: QuantorSettings
    fee_per_contract: float = 0.65
    max_loss: float = math.inf
    name: str = "quantor"

    def size(self, ask: float, account: AccountState) -> SizeDecision:
        """Without the observation the fuzzy factors are unknown: no trade."""
        return SizeDecision(0, "sizing: quantor needs the observation (size_for)")

    def size_for(self, ask: float, observation: Observation, decision: Decision) -> SizeDecision:
        """Contracts from :func:`zerodte.policy.quantor.analyze`."""
        from zerodte.policy.quantor import analyze

        assert observation.account is not None
        direction = {Action.BUY_CALLS: 1.0, Action.BUY_PUTS: -1.0}.get(decision.action, 0.0)
        result = analyze(
            observation.features,
            direction=direction,
            ask=ask,
            account=observation.account,
            vix=observation.vix,
            config=self.config,
            max_loss=self.max_loss,
            fee_per_contract=self.fee_per_contract,
        )
        if not result.should_trade:
            return SizeDecision(0, "sizing: quantor: " + "; ".join(result.reasons))
        return SizeDecision(result.position_size)


def build_sizer(settings: Settings) -> Sizer:
    """The sizer named by ``entry.sizing`` with its parameters.

    ``fixed_contracts`` uses ``entry.contracts``; ``fixed_risk`` uses
    ``entry.risk_dollars`` and ``exits.stop_loss_pct``; ``equity_fraction`` uses
    ``entry.equity_fraction``; ``quantor`` uses ``entry.quantor`` and
    ``exits.max_loss_per_trade``. All use ``costs.fee_per_contract``.
    """
    entry = settings.entry
    fee = settings.costs.fee_per_contract
    if entry.sizing == "fixed_contracts":
        return FixedContracts(entry.contracts, fee)
    if entry.sizing == "fixed_risk":
        return FixedDollarRisk(entry.risk_dollars, settings.exits.stop_loss_pct, fee)
    if entry.sizing == "quantor":
        return QuantorSizer(entry.quantor, fee, settings.exits.max_loss_per_trade)
    return EquityFraction(entry.equity_fraction, fee)
