"""``zerodte data import-options`` and ``data options-info``: real option quotes in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import Json
from zerodte.cli.output import print_json

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Store directory (default data.data_dir).")
]


def _store_dir(ctx: typer.Context, data_dir: Path | None) -> Path:
    return data_dir if data_dir is not None else current_settings(ctx).data.data_dir


def import_options(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="Quote and/or open-interest files (Lean Parquet/CSV or chain CSV)."),
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="auto, lean or csv (docs/real-data.md).")
    ] = "auto",
    tz: Annotated[str | None, typer.Option("--tz", help="Timezone of naive timestamps.")] = None,
    repair: Annotated[
        str | None, typer.Option("--repair", help="drop-crossed: drop quotes with bid > ask.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Let new rows win over differing stored ones.")
    ] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Import real option minute quotes and open interest; all files or none are stored."""
    import pandas as pd

    from zerodte.market.option_store import OptionQuoteStore
    from zerodte.options.importing import read_option_file

    if fmt not in ("auto", "lean", "csv"):
        raise typer.BadParameter("use auto, lean or csv", param_hint="--format")
    repairs = {r.strip() for r in (repair or "").split(",") if r.strip()}
    if repairs - {"drop-crossed"}:
        raise typer.BadParameter(
            f"unknown repair(s) {sorted(repairs - {'drop-crossed'})}; "
            "the only repair is drop-crossed",
            param_hint="--repair",
        )
    read = [
        read_option_file(f, fmt=fmt, tz=tz, drop_crossed="drop-crossed" in repairs) for f in files
    ]
    frames: dict[str, list[pd.DataFrame]] = {"quotes": [], "open_interest": []}
    for one in read:
        frames[one.kind].append(one.frame)
    merged = {k: pd.concat(v, ignore_index=True) for k, v in frames.items() if v}
    store = OptionQuoteStore(_store_dir(ctx, data_dir))
    rows = store.write(merged, [one.provenance for one in read], replace=replace)
    if as_json:
        print_json(
            {
                "rows": rows,
                "files": [one.provenance.to_dict() for one in read],
                "notes": [n for one in read for n in one.notes],
                "store": str(store.root),
            }
        )
        return
    for one in read:
        for note in one.notes:
            print(f"note: {one.provenance.source}: {note}")
        p = one.provenance
        print(
            f"imported {p.rows} {p.kind.replace('_', ' ')} rows ({', '.join(p.roots)}; "
            f"{p.first} .. {p.last}) from {p.source} sha256 {p.sha256[:12]} -> {store.root}"
        )


def options_info(ctx: typer.Context, data_dir: DataDir = None, as_json: Json = False) -> None:
    """Imported option files: kind, source, roots, rows, range and hash."""
    from zerodte.market.option_store import OptionQuoteStore

    store = OptionQuoteStore(_store_dir(ctx, data_dir))
    files = store.provenance()
    if as_json:
        print_json({"store": str(store.root), "files": files})
        return
    if not files:
        print(f"no option quotes in {store.root}; run `zerodte data import-options FILE`")
        return
    for f in files:
        print(
            f"{f['kind']:<14} {f['source']:<40} {','.join(f['roots']):<14} {f['rows']:>7} rows "
            f"{f['first']} .. {f['last']} sha256 {f['sha256'][:12]}"
        )


def attach(app: typer.Typer) -> None:
    """Add the option-data commands to ``zerodte data``."""
    app.command("import-options")(import_options)
    app.command("options-info")(options_info)
