"""Composition helpers: the same engine for backtest, paper and live.

:func:`build_engine` takes the three parts that differ between modes (feed, broker, and
the clock inside the feed) and builds everything else from the settings: gates, sizer,
exit manager and contract selection. Mode is decided by the caller, never in here.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableSequence, Sequence
from datetime import date

import numpy as np
import pandas as pd
from pydantic import ValidationError

from zerodte.broker.base import Broker
from zerodte.broker.tags import TagFactory
from zerodte.config.root import Settings
from zerodte.config.settings import OptionsSettings
from zerodte.engine.alignment import AlignmentGate, AlignmentTracker
from zerodte.engine.engine import Engine
from zerodte.engine.feed import ONE_MINUTE, BoxedTimes, Feed, QuoteBookFactory, floats
from zerodte.engine.parts import ContextSource, ContractSelector, CycleHooks, ExitPolicy
from zerodte.engine.recorder import Recorder
from zerodte.errors import ConfigError
from zerodte.exits.manager import ExitManager
from zerodte.market.calendar import TradingCalendar
from zerodte.policy.base import Gate
from zerodte.policy.gates import build_gates
from zerodte.policy.sizing import Sizer, build_sizer
from zerodte.types import Observation, OptionContract, QuoteBook, Right


def validate_settings(settings: Settings) -> Settings:
    """Re-validate ``settings`` (objects built with ``model_construct`` skip validation).

    Raises
    ------
    ConfigError
        With every problem pydantic found (e.g. a negative stop, a trail at or above its
        activation), before anything runs.
    """
    try:
        return Settings.model_validate(settings.model_dump())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration, refusing to start: {problems}") from exc


def build_engine(
    settings: Settings,
    *,
    feed: Feed,
    broker: Broker,
    recorder: Recorder,
    controller_name: str,
    run_id: str,
    selector: ContractSelector | None = None,
    exits: ExitPolicy | None = None,
    sizer: Sizer | None = None,
    context: ContextSource | None = None,
    gates: Sequence[Gate] | None = None,
    hooks: CycleHooks | None = None,
    alignment: AlignmentTracker | None = None,
    probe_gates: bool = False,
) -> Engine:
    """The engine for ``settings`` around the injected feed and broker.

    ``run_id`` goes into every order's client tag (:mod:`zerodte.broker.tags`), so a
    restarted run sends the same tags. ``gates`` replaces the gates of
    :func:`~zerodte.policy.gates.build_gates`; ``hooks`` run around every cycle (live).
    ``alignment`` adds each cycle's ``iv_conf`` to the context and the alignment gate.
    ``probe_gates`` records every cycle's gate state (for off-policy evaluation).
    """
    chosen = list(build_gates(settings) if gates is None else gates)
    if alignment is not None and alignment.lags:
        # Without lags every cycle is EXACT (iv_conf 1): nothing to add to the loop.
        chosen.append(AlignmentGate())
        context = _with_alignment(context, alignment)
    return Engine(
        feed=feed,
        broker=broker,
        recorder=recorder,
        gates=chosen,
        sizer=sizer if sizer is not None else build_sizer(settings),
        selector=selector if selector is not None else ModelContractSelector(settings.options),
        exits=exits if exits is not None else ExitManager.from_settings(settings.exits),
        controller_name=controller_name,
        tags=TagFactory(settings.broker.client_tag_prefix, run_id),
        context=context,
        hooks=hooks,
        max_cycles=settings.engine.max_cycles,
        probe_gates=probe_gates,
    )


def _with_alignment(context: ContextSource | None, tracker: AlignmentTracker) -> ContextSource:
    """``context`` plus the cycle's ``iv_conf`` when its data is not EXACT."""
    if context is None:
        return tracker.context
    base = context
    return lambda i: {**base(i), **tracker.context(i)}


class ModelContractSelector:
    """Contract selection by ``options.selection`` (ATM, target delta or N strikes OTM)."""

    feature_inputs: tuple[str, ...] = ()

    def __init__(self, options: OptionsSettings) -> None:
        self.options = options

    def select(
        self, observation: Observation, right: Right, quotes: QuoteBook
    ) -> OptionContract | None:
        """The contract ``options.selection`` picks at this observation."""
        from zerodte.options.chain import select_contract

        opts = self.options
        expiry = expiry_for(observation.session, opts.expiry_days)
        return select_contract(
            observation.spy,
            right,
            expiry,
            rule=opts.selection,
            settings=opts,
            quotes=quotes,
            vix=observation.vix,
            minutes_to_close=observation.minutes_to_close,
            underlying=opts.underlying,
        )


def expiry_for(session: date, expiry_days: int) -> date:
    """The expiry ``expiry_days`` trading days after ``session`` (0 = same day)."""
    if expiry_days == 0:
        return session
    return TradingCalendar().sessions_from(session, expiry_days + 1)[-1]


def modelled_quote_books(
    settings: Settings, frame: pd.DataFrame, starts: BoxedTimes | None = None
) -> QuoteBookFactory:
    """``i -> ModelledQuoteBook`` pricing options from SPY and VIX of bar ``i``.

    ``starts`` (the boxed bar starts of ``frame``'s index) is shared with the feed that
    replays the frame (:class:`~zerodte.engine.feed.HistoricalFeed`'s ``starts``)."""
    from zerodte.options.model import ModelledQuoteBook, OptionModel

    model = OptionModel(settings.options)
    if starts is None:
        starts = BoxedTimes(pd.DatetimeIndex(frame.index))
    times = starts.times
    ends_index = times + ONE_MINUTE  # a bar's close quotes are priced at its end
    ends = BoxedTimes(ends_index)
    # Where the next bar starts at this bar's end, its boxed start is this bar's end:
    # each Timestamp is boxed once (see BoxedTimes for why boxing is worth saving).
    next_starts_here = np.zeros(len(times), dtype=bool)
    next_starts_here[:-1] = ends_index.asi8[:-1] == times.asi8[1:]
    chained = next_starts_here.tobytes()  # 1 or 0 per bar, a byte each
    cols: Mapping[str, MutableSequence[float]] = {
        c: floats(frame[c].to_numpy(dtype=float))
        for c in ("spy_open", "spy_close", "vix_open", "vix_close")
    }

    def book(i: int) -> QuoteBook:
        return ModelledQuoteBook(
            model,
            time=starts[i],
            time_close=starts[i + 1] if chained[i] else ends[i],
            spot_open=cols["spy_open"][i],
            spot_close=cols["spy_close"][i],
            vix_open=cols["vix_open"][i],
            vix_close=cols["vix_close"][i],
        )

    return book


def market_quote_books(
    settings: Settings, market_data: object, starts: BoxedTimes | None = None
) -> QuoteBookFactory:
    """Real quote books where ``market_data`` carries real quotes, else modelled ones.

    Real quotes are used when the store holds quotes of ``options.underlying`` on these
    sessions and ``options.real_quotes`` is ``"auto"`` (see
    :mod:`zerodte.options.real_book`); the modelled book is their fallback.
    """
    frame: pd.DataFrame = market_data.frame  # type: ignore[attr-defined]
    quotes = getattr(market_data, "option_quotes", None)
    modelled = modelled_quote_books(settings, frame, starts)
    if quotes is None or quotes.empty or settings.options.real_quotes == "off":
        return modelled
    from zerodte.options.model import ModelledQuoteBook
    from zerodte.options.real_book import RealQuoteBook, RealQuotes

    real = RealQuotes(quotes, settings.options.underlying)
    sessions = list(frame["session"])
    seen: set[tuple[OptionContract, date]] = set()

    def book(i: int) -> QuoteBook:
        fallback = modelled(i)
        assert isinstance(fallback, ModelledQuoteBook)
        return RealQuoteBook(
            real, fallback, fallback.time_open, fallback.time_close, sessions[i], seen
        )

    return book
