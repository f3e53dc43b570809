"""``zerodte options calibrate``: the model fitted to stored real quotes, and its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import Json
from zerodte.cli.output import print_json


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
            "--out", help="Parameter file (default <data_dir>/option_params_<ROOT>.json)."
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Fit the surface and bid/ask model to real quotes; leave-one-day-out errors."""
    import pandas as pd

    from zerodte.engine.rundir import code_version
    from zerodte.market.option_store import OptionQuoteStore
    from zerodte.market.store import ParquetStore
    from zerodte.options.calibrate import calibrate
    from zerodte.options.params import save_params

    settings = current_settings(ctx)
    where = data_dir if data_dir is not None else settings.data.data_dir
    store = OptionQuoteStore(where)
    quotes = store.quotes((root,))
    if vix_file is not None:
        vix = pd.read_csv(vix_file)
    else:
        vix = ParquetStore(where).load(symbols=["VIX"]).get("VIX", pd.DataFrame())
        if ParquetStore(where).intervals().get("VIX") == "1day" and not vix.empty:
            vix = vix.assign(date=vix["timestamp"].dt.date.astype(str))
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
