"""CLI commands (module: learn_cmds): ``zerodte learn regret | apply | report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.output import print_json
from zerodte.cli.paths import output_file

app = typer.Typer(no_args_is_help=True, help="QThink: regret scoring, journals and weights.")

RunDir = Annotated[Path, typer.Option("--run", help="Run directory (runs/<run_id>).")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _journal(ctx: typer.Context) -> Any:
    from zerodte.store import make_engine
    from zerodte.store.qthink import SqlQThinkJournal

    return SqlQThinkJournal(make_engine(current_settings(ctx).store))


@app.command("regret")
def regret(ctx: typer.Context, run: RunDir, json_out: Json = False) -> None:
    """Assess every closed trade of a run and write its journals (run dir and store)."""
    from zerodte.learning.loop import assess_run_dir

    _, res = assess_run_dir(run, _journal(ctx))
    if json_out:
        print_json(res)
        return
    s = res["summary"]
    print(f"{s['trades']} trade(s) assessed in {res['run_dir']} ({s['wins']} won)")
    for key in ("labels", "archetypes", "time_blocks"):
        print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in s[key].items()))
    print(
        "mean regrets: "
        + ", ".join(
            f"{k.removesuffix('_regret')}={'n/a' if v is None else f'{v:.3f}'}"
            for k, v in s["mean_regrets"].items()
        )
    )
    print(f"penalty points {s['penalty_points']:.0f}, mesh confusion on {s['mesh_confusion']}")


@app.command("apply")
def apply(
    run: RunDir,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", callback=output_file, help="State file (else RUN/qthink_state.json)."
        ),
    ] = None,
    start: Annotated[
        Path | None, typer.Option("--from-state", help="Continue from this state file.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Update the QThink weights and penalties from a run's assessed trades."""
    from zerodte.learning.loop import apply_run_dir

    res = apply_run_dir(run, out, start)
    if json_out:
        print_json(res)
        return
    print(f"state {res['state']}: {res['versions']} versions from {res['trades']} trade(s)")
    print("weights: " + ", ".join(f"{k}={v:.3f}" for k, v in res["weights"].items()))
    print("penalties: " + ", ".join(f"{k}={v:.1f}" for k, v in res["penalties"].items()))
    print(f"use it with entry.consensus.qthink.enabled = true, state_path = {res['state']}")


@app.command("report")
def report(
    ctx: typer.Context,
    runs: Annotated[
        list[Path] | None, typer.Option("--run", help="Run directories for memory triggers.")
    ] = None,
    json_out: Json = False,
) -> None:
    """Assessed trades across the store's runs and the memory triggers of the given runs."""
    from zerodte.learning.loop import report as build

    res = build(_journal(ctx), runs)
    if json_out:
        print_json(res)
        return
    print(f"{res['trades']} assessed trade(s) in {res['runs']} run(s)")
    for key in ("labels",):
        if key in res:
            print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in res[key].items()))
    for name, g in res.get("archetypes", {}).items():
        print(f"  {name:15s} {g['trades']:5d} trades, mean P&L {g['mean_pnl']:+.2f}")
    for run, trig in res["memory_triggers"].items():
        print(f"memory triggers of {run}:")
        for t in trig["archetypes"]:
            print(
                f"  archetype {t['archetype']}: {', '.join(t['triggers'])} ({t['trades']} trades)"
            )
        for t in trig["agents"]:
            print(f"  agent {t['agent']} leads to {t['leads_to']} ({t['trades']} trades)")
        tod = trig["time_of_day"]
        if "spearman" in tod:
            print(
                f"  regret vs minute of day: Spearman {tod['spearman']:+.3f} "
                f"(p {tod['p_value']:.3f}, n {tod['n']})"
            )


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app, name="learn")
