"""Option pricing for SPY 0DTE: Black–Scholes–Merton, implied vol, VIX surface, quotes.

Modules (import them directly; this package re-exports nothing, so importing one module
stays cheap):

* :mod:`~zerodte.options.black_scholes` -- ``bs_price``, ``bs_greeks`` (vectorised)
* :mod:`~zerodte.options.iv` -- ``implied_vol`` (vectorised, robust to minutes to expiry)
* :mod:`~zerodte.options.expiry` -- the calendar-time convention, ``minutes_to_expiry``
* :mod:`~zerodte.options.surface` -- ``VolSurface`` from the VIX
* :mod:`~zerodte.options.quotes` -- ``BidAskModel`` (tick grid, widening)
* :mod:`~zerodte.options.occ` -- ``format_occ``, ``parse_occ``
* :mod:`~zerodte.options.chain` -- strike grid, ``select_contract``, ``select_strikes``
* :mod:`~zerodte.options.model` -- ``OptionModel``, ``ModelledQuoteBook``
* :mod:`~zerodte.options.calibration` -- IVs and spreads of real quotes (docs/options.md)
"""
