"""CLI commands (module: options_cmds): ``zerodte options quote``, ``chain`` and ``gex``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import (
    Config,
    DataDirOpt,
    Days,
    Edge,
    End,
    Preset,
    Seed,
    SkipMissingDays,
    Start,
    VixProxy,
    load_market_options,
)
from zerodte.cli.output import print_json

app = typer.Typer(no_args_is_help=True, help="Modelled option quotes, greeks and chains.")

_FIELDS = ("mid", "bid", "ask", "iv", "delta", "gamma", "theta", "vega")


def _right(value: str) -> bool:
    text = value.strip().lower()
    if text in ("call", "c"):
        return True
    if text in ("put", "p"):
        return False
    raise typer.BadParameter(f"right must be 'call' or 'put', got {value!r}")


def _checked(option: str, value: float, *, above_zero: bool = True) -> float:
    """``value`` of ``option`` when it is finite and above zero (or at least zero)."""
    if math.isfinite(value) and (value > 0 if above_zero else value >= 0):
        return value
    bound = "above 0" if above_zero else "0 or more"
    raise typer.BadParameter(f"must be a finite number {bound}, got {value:g}", param_hint=option)


@app.command("quote")
def quote(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    spot: Annotated[float, typer.Option(help="Underlying price.")],
    strike: Annotated[float, typer.Option(help="Strike.")],
    right: Annotated[str, typer.Option(help="call or put.")] = "call",
    minutes_to_close: Annotated[
        float, typer.Option(help="Minutes to the session close (= expiry for 0DTE).")
    ] = 120.0,
    vix: Annotated[float, typer.Option(help="VIX level (index points).")] = 15.0,
    minutes_to_expiry: Annotated[
        float | None, typer.Option(help="Minutes to expiry if not today's close.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Price one option: mid, bid, ask, implied vol and greeks (per share)."""
    from zerodte.options.model import OptionModel

    for option, given in (("--spot", spot), ("--strike", strike), ("--vix", vix)):
        _checked(option, given)
    _checked("--minutes-to-close", minutes_to_close, above_zero=False)
    model = OptionModel(current_settings(ctx).options)
    mte = minutes_to_close if minutes_to_expiry is None else minutes_to_expiry
    _checked("--minutes-to-expiry", mte, above_zero=False)
    q = model.quote_values(spot, strike, _right(right), mte, vix, minutes_to_close)
    row = {"spot": spot, "strike": strike, "right": right.lower(), "minutes_to_expiry": mte}
    row.update({k: float(getattr(q, k)) for k in _FIELDS})
    if as_json:
        print_json(row, sort_keys=False)
        return
    for key, value in row.items():
        print(f"{key:>18}: {value:.6g}" if isinstance(value, float) else f"{key:>18}: {value}")


@app.command("chain")
def chain(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    spot: Annotated[float, typer.Option(help="Underlying price.")],
    vix: Annotated[float, typer.Option(help="VIX level (index points).")] = 15.0,
    minutes_to_close: Annotated[float, typer.Option(help="Minutes to the close.")] = 120.0,
    width: Annotated[int, typer.Option(help="Strikes each side of ATM.", min=0)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A modelled 0DTE chain around the money: calls and puts side by side."""
    import numpy as np

    from zerodte.options.chain import strike_grid
    from zerodte.options.model import OptionModel

    _checked("--spot", spot)
    _checked("--vix", vix)
    _checked("--minutes-to-close", minutes_to_close, above_zero=False)
    opts = current_settings(ctx).options
    model = OptionModel(opts)
    strikes = strike_grid(spot, opts.strike_step, width)
    calls = model.price(spot, strikes, True, minutes_to_close, vix)
    puts = model.price(spot, strikes, False, minutes_to_close, vix)
    rows: list[dict[str, Any]] = [
        {
            "strike": float(k),
            "call": {f: float(calls[f][i]) for f in _FIELDS},
            "put": {f: float(puts[f][i]) for f in _FIELDS},
        }
        for i, k in enumerate(np.asarray(strikes))
    ]
    if as_json:
        print_json(
            {"spot": spot, "vix": vix, "minutes_to_close": minutes_to_close, "chain": rows},
            sort_keys=False,
        )
        return
    print(f"spot {spot:.2f}  VIX {vix:.2f}  {minutes_to_close:.0f} min to close")
    head = f"{'c.delta':>8} {'c.iv':>6} {'c.bid':>7} {'c.ask':>7} | {'strike':>8} | "
    head += f"{'p.bid':>7} {'p.ask':>7} {'p.iv':>6} {'p.delta':>8}"
    print(head)
    for r in rows:
        c, p = r["call"], r["put"]
        print(
            f"{c['delta']:8.3f} {c['iv']:6.3f} {c['bid']:7.2f} {c['ask']:7.2f} | "
            f"{r['strike']:8.2f} | {p['bid']:7.2f} {p['ask']:7.2f} {p['iv']:6.3f} "
            f"{p['delta']:8.3f}"
        )


@app.command("gex")
def gex(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    at: Annotated[
        str | None, typer.Option("--at", help="Bar time (YYYY-MM-DD HH:MM, New York); else last.")
    ] = None,
    oi_file: Annotated[
        Path | None,
        typer.Option(
            "--oi", help="Open-interest Parquet (date, open_interest, right, strike, expiry)."
        ),
    ] = None,
    convention: Annotated[
        str, typer.Option("--convention", help="dealer (calls +, puts -) or long_all.")
    ] = "dealer",
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Dealer gamma exposure, delta exposure, the zero-gamma flip and max pain at a bar."""
    from zerodte.options.gex_at import bar_at, gex_at, parse_at
    from zerodte.options.open_interest import prior_day_chain, read_open_interest

    if convention not in ("dealer", "long_all"):
        raise typer.BadParameter("use dealer or long_all", param_hint="--convention")
    # the flags' own values first: a bad --at or --oi fails before any data is loaded
    when = None if at is None else parse_at(at)
    oi = None if oi_file is None else read_open_interest(oi_file)
    settings = current_settings(ctx)
    md = load_market_options(settings, days, start, end, seed, edge)
    chain = None
    if oi is not None:
        session = bar_at(md.frame, when).date()
        chain = prior_day_chain(oi, session, session)
        if chain.empty:
            raise typer.BadParameter(
                f"{oi_file} has no {session} expiry known before that session opened",
                param_hint="--oi",
            )
    res = gex_at(md.frame, when, settings.options, chain, convention)  # type: ignore[arg-type]
    res["data_source"] = md.data_source
    if as_json:
        print_json(res, sort_keys=False)
        return
    print(
        f"{res['time']}  spot {res['spot']:.2f}  {res['minutes_to_close']:.0f} min to close  "
        f"({res['open_interest']})"
    )
    flip = res["zero_gamma_flip"]
    print(
        f"net GEX {res['net_gex']:,.0f} $/1%  net DEX {res['net_dex']:,.0f} $  "
        f"flip {'none in +-5%' if flip is None else f'{flip:.2f}'}  max pain "
        f"{res['max_pain']:.2f}  pin strike {res['pin_strike']:.2f}"
    )


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    from zerodte.cli.options_calibrate_cmds import calibrate_cmd

    app.command("calibrate")(calibrate_cmd)
    root.add_typer(app, name="options")
