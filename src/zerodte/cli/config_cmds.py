"""``zerodte config ...`` and ``zerodte presets ...``: inspect settings, presets and aliases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from zerodte.cli.context import current_settings_with_sources
from zerodte.config import ALIASES, list_presets, preset_text, settings_manifest
from zerodte.config.aliases import alias_table_markdown

app = typer.Typer(no_args_is_help=True, help="Show the effective settings and their sources.")
presets_app = typer.Typer(no_args_is_help=True, help="List and show the shipped presets.")

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_flatten(value, key + "."))
        else:
            out[key] = value
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _columns(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


@app.command("show")
def show(
    ctx: typer.Context,
    json_out: Json = False,
    preset: Annotated[
        str | None, typer.Option("--preset", help="Apply this preset (overrides the root one).")
    ] = None,
    changed: Annotated[
        bool, typer.Option("--changed", help="Only keys whose value is not the default.")
    ] = False,
) -> None:
    """Print the effective settings and the source of every value (secrets hidden)."""
    settings, sources = current_settings_with_sources(ctx, preset)
    manifest = settings_manifest(settings)
    if changed:
        sources = {k: s for k, s in sources.items() if s != "default"}
    if json_out:
        flat = _flatten(manifest)
        shown = manifest if not changed else _nest({k: flat[k] for k in sources})
        print(json.dumps({"settings": shown, "sources": sources}, indent=2, sort_keys=False))
        return
    if not sources:
        print("every setting has its default value")
        return
    flat = _flatten(manifest)
    rows = [("key", "value", "source")]
    rows.extend((key, _text(flat[key]), source) for key, source in sources.items())
    _columns(rows)


@app.command("aliases")
def aliases(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown table of the docs.")
    ] = False,
) -> None:
    """List the legacy flat environment variables and the keys they set."""
    if markdown:
        print(alias_table_markdown())
        return
    rows = [("variable", "key", "units", "conversion")]
    rows.extend((a.name, a.key, a.units, a.conversion) for a in ALIASES)
    _columns(rows)


@presets_app.command("list")
def presets_list(json_out: Json = False) -> None:
    """List the shipped presets with what each is for."""
    infos = list_presets()
    if json_out:
        print(json.dumps([{"name": i.name, "description": i.description} for i in infos]))
        return
    _columns([("name", "description"), *((i.name, i.description) for i in infos)])


@presets_app.command("show")
def presets_show(name: Annotated[str, typer.Argument(help="Preset name.")]) -> None:
    """Print the TOML text of one preset."""
    text = preset_text(name)
    print(text, end="" if text.endswith("\n") else "\n")


def register(root: typer.Typer) -> None:
    """Attach ``config`` and ``presets`` to the root app."""
    root.add_typer(app, name="config")
    root.add_typer(presets_app, name="presets")
