"""``zerodte options calibrate``: the model fitted to stored real quotes, and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import Json
from zerodte.cli.output import print_json
from zerodte.cli.paths import output_file
from zerodte.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from zerodte.market.option_store import OptionQuoteStore


def calibrate_cmd(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    root: Annotated[str, typer.Option("--root", help="Option root: SPXW, SPX or SPY.")] = "SPXW",
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Store directory (default data.data_dir).")
    ] = None,
    vix_file: Annotated[
        Path | None,
        typer.Option("--vix", help="Cboe daily VIX CSV (date, open, close); else the store's VIX."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            callback=output_file,
            help="Parameter file (default <data_dir>/option_params_<ROOT>.json).",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Fit the surface and bid/ask model to real quotes; leave-one-day-out errors."""
    from zerodte.engine.rundir import code_version
    from zerodte.market.option_store import OptionQuoteStore
    from zerodte.options.calibrate import calibrate, read_vix_daily
    from zerodte.options.contracts import RULES
    from zerodte.options.params import save_params

    if root.upper() not in RULES:
        raise ConfigError(f"--root {root!r} is not a known option root; choose {', '.join(RULES)}")
    given_vix = None if vix_file is None else read_vix_daily(vix_file)  # flags before the store
    settings = current_settings(ctx)
    where = Path(data_dir if data_dir is not None else settings.data.data_dir)
    store = OptionQuoteStore(where)
    quotes = store.quotes((root,))
    if quotes.empty:
        raise DataError(_no_quotes(store, where, root.upper()))
    vix = given_vix if given_vix is not None else _stored_vix(where)
    report = calibrate(quotes, vix, root, settings.options)
    target = out or Path(where) / f"option_params_{report['root']}.json"
    files = [f["sha256"] for f in store.provenance() if f["kind"] == "quotes"]
    save_params(
        target,
        report["root"],
        report["params"],
        fitted_on={"days": report["days"], "quotes": report["quotes"], "sources": files},
        errors={"in_sample": report["in_sample"], "leave_one_day_out": report["leave_one_day_out"]},
        code_version=code_version(),
    )
    report["artifact"] = str(target)
    if as_json:
        print_json(report)
        return
    _print(report)


def _no_quotes(store: OptionQuoteStore, where: Path, root: str) -> str:
    held = sorted({r for f in store.provenance() if f["kind"] == "quotes" for r in f["roots"]})
    has = f"only {', '.join(held)}" if held else "no option quotes at all"
    return (
        f"the store {where} holds no {root} option quotes ({has}); import them with "
        f"`zerodte data import-options FILE --data-dir {where}` (docs/real-data.md), or pick "
        "another --root or --data-dir"
    )


def _stored_vix(where: Path) -> pd.DataFrame:
    """The store's VIX bars (daily ones as the ``date, open, close`` table)."""
    from zerodte.market.store import ParquetStore

    bars = ParquetStore(where)
    vix = bars.load(symbols=["VIX"]).get("VIX")
    if vix is None or vix.empty:
        raise DataError(
            f"the store {where} holds no VIX bars to price the option quotes with; import "
            f"them with `zerodte data import FILE --symbol VIX --data-dir {where}`, or give a "
            "daily VIX CSV (date, open, close) with --vix FILE"
        )
    if bars.intervals().get("VIX") == "1day":
        vix = vix.assign(date=vix["timestamp"].dt.date.astype(str))
    return vix


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _print(report: dict[str, Any]) -> None:
    print(
        f"{report['root']}: {report['quotes']} two-sided 0DTE quotes on {', '.join(report['days'])}"
    )
    for run in report["leave_one_day_out"]:
        print(
            f"\nheld out {run['held_out']} (fitted on the other days): {run['quotes']} quotes, "
            f"median |IV error| {_fmt(run['iv_median_abs'])}, modelled below one tick where "
            f"real quoted one: bid {run['below_tick']['bid']}, ask {run['below_tick']['ask']}"
        )
        for name in ("by_moneyness", "by_minutes_to_close"):
            print(
                f"  {'bucket':<10} {'quotes':>6} {'|IV err|':>9} {'|mid err|':>10} "
                f"{'spread err':>11} {'|spread err|':>13}"
            )
            for bucket, r in run[name].items():
                print(
                    f"  {bucket:<10} {r['quotes']:>6} {_fmt(r['iv_median_abs']):>9} "
                    f"{_fmt(r['mid_median_abs_rel']):>10} {_fmt(r['spread_median_rel']):>11} "
                    f"{_fmt(r['spread_median_abs_rel']):>13}"
                )
    print(
        f"\nparameters (all days) -> {report['artifact']}; load them for {report['root']} "
        "backtests with options.model_params"
    )
