"""Load the settings tree from its sources and remember where every value came from.

Precedence, lowest first (a later source overrides an earlier one key by key):

1. defaults declared in :mod:`zerodte.config.settings`;
2. a preset (``preset=`` or ``ZERODTE_PRESET``), see :mod:`zerodte.config.presets`;
3. a TOML file (``config_file=`` or ``ZERODTE_CONFIG``);
4. the ``.env`` file: legacy aliases, then ``ZERODTE_SECTION__KEY`` variables;
5. the process environment: legacy aliases, then ``ZERODTE_SECTION__KEY`` variables.

Within one environment an explicit ``ZERODTE_*`` variable beats a legacy alias for the same
key (a warning is logged, naming both variables but never their values). The process
environment beats ``.env``, as every dotenv tool does. Secrets come only from 4 and 5.

This is the only module family that reads ``os.environ``.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import get_args

from dotenv import dotenv_values
from pydantic import ValidationError

from zerodte.config.fields import field_specs, shown_value, suggest
from zerodte.config.presets import preset_text
from zerodte.config.provenance import Layer, layer_from_env, layer_from_toml, merge
from zerodte.config.root import Settings
from zerodte.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_DOTENV = Path(".env")


def _read_dotenv(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    if not path.is_file():
        logger.debug("no dotenv file at %s", path)
        return {}
    # interpolate=False: ${VAR} expansion would read the process environment behind the
    # caller's back (and make `env=` injection leaky).
    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    return {name: value for name, value in values.items() if value is not None}


def _lookup(name: str, *environments: Mapping[str, str]) -> str | None:
    for environ in environments:
        value = environ.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def _file_layer(path: Path, how: str) -> Layer:
    label = f"file {path}"
    if not path.is_file():
        raise ConfigError(
            f"settings file {path} ({how}) does not exist or is not a file; "
            "pass an existing TOML file or unset it"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot be read: {exc}") from exc
    return layer_from_toml(data, label=label, source=f"file:{path}")


def _preset_layer(name: str) -> Layer:
    stem = name.removesuffix(".toml")
    label = f"preset {stem}"
    try:
        data = tomllib.loads(preset_text(stem))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: the shipped preset is not valid TOML: {exc}") from exc
    return layer_from_toml(data, label=label, source=f"preset:{stem}")


def _key_of(loc: tuple[str, ...]) -> tuple[str | None, str]:
    """Split an error location into the leaf key and any item index below it."""
    specs = field_specs()
    for cut in range(len(loc), 0, -1):
        key = ".".join(loc[:cut])
        if key in specs:
            rest = "".join(f"[{part}]" for part in loc[cut:])
            return key, rest
    return None, ""


def _did_you_mean(annotation: object, err: Mapping[str, object]) -> str:
    """``; did you mean 'random'?`` for a misspelt name of a Literal field."""
    value = err.get("input")
    if err.get("type") != "literal_error" or not isinstance(value, str):
        return ""
    choices = [str(a) for a in get_args(annotation)]
    close = suggest(value, choices, sep="_")
    return f"; did you mean {close!r}?" if close else ""


def explain_validation(exc: ValidationError, sources: Mapping[str, str]) -> str:
    """Turn a pydantic error into one line per problem: key, value, source, what is allowed.

    Secret values are never shown; database URL passwords are masked.
    """
    specs = field_specs()
    lines: list[str] = []
    errors = exc.errors(include_url=False)
    located = [(_key_of(tuple(str(p) for p in err["loc"])), err) for err in errors]
    with_items = {key for (key, item), _ in located if key is not None and item}
    for (key, item), err in located:
        msg = str(err["msg"]).removeprefix("Value error, ")
        if key is not None:
            if err["type"] == "too_short" and key in with_items:
                continue  # the items' own errors say more than "too short after validation"
            spec = specs[key]
            seen = shown_value(key, err.get("input"))
            where = sources.get(key, "default")
            hint = _did_you_mean(spec.annotation, err)
            lines.append(
                f"- {key}{item} = {seen!r} (from {where}): {msg}; allowed: {spec.allowed}{hint}"
            )
            continue
        loc = tuple(str(part) for part in err["loc"])
        section = ".".join(loc) or "settings"
        prefix = "" if section == "settings" else section + "."
        origins = [f"{k} from {s}" for k, s in sorted(sources.items()) if k.startswith(prefix)]
        given = "; values set: " + ", ".join(origins) if origins else "; all values are defaults"
        lines.append(f"- {section}: {msg}{given}")
    return "invalid settings:\n" + "\n".join(lines)


def load_settings_with_sources(
    config_file: Path | None = None,
    *,
    preset: str | None = None,
    env: Mapping[str, str] | None = None,
    dotenv: Path | None = DEFAULT_DOTENV,
) -> tuple[Settings, dict[str, str]]:
    """Load the effective settings and the source of every key.

    Parameters
    ----------
    config_file
        TOML settings file; None falls back to ``ZERODTE_CONFIG`` (environment, then ``.env``).
    preset
        Name of a shipped preset; None falls back to ``ZERODTE_PRESET``.
    env
        Environment variables; None reads ``os.environ``. Tests pass a dict.
    dotenv
        ``.env`` file to read (skipped when missing); None reads none.

    Returns
    -------
    tuple[Settings, dict[str, str]]
        The frozen settings, and for every dotted key (``"exits.stop_loss_pct"``) its source:
        ``default``, ``preset:NAME``, ``file:PATH``, ``dotenv-alias:NAME``, ``dotenv:NAME``,
        ``alias:NAME`` or ``env:NAME``.

    Raises
    ------
    ConfigError
        Unknown keys or variables (with the closest valid name), a secret in a file, an
        unreadable file or an invalid value (each listed with its source and what is allowed).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    dotenv_vars = _read_dotenv(dotenv)
    layers: list[Layer] = []

    preset_name = preset or _lookup("ZERODTE_PRESET", environ, dotenv_vars)
    if preset_name:
        layers.append(_preset_layer(preset_name))

    if config_file is not None:
        layers.append(_file_layer(Path(config_file), "given as config_file"))
    else:
        from_env = _lookup("ZERODTE_CONFIG", environ, dotenv_vars)
        if from_env:
            layers.append(_file_layer(Path(from_env), "from ZERODTE_CONFIG"))

    if dotenv_vars:
        layers.append(layer_from_env(dotenv_vars, origin="dotenv", label=f"dotenv {dotenv}"))
    layers.append(layer_from_env(environ, origin="env", label="environment"))

    values, set_sources = merge(layers)
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        # `from None`: the pydantic error echoes raw inputs, secrets included.
        raise ConfigError(explain_validation(exc, set_sources)) from None

    sources = {key: set_sources.get(key, "default") for key in field_specs()}
    logger.info(
        "settings loaded: %d of %d keys set (preset=%s, file=%s)",
        len(set_sources),
        len(sources),
        preset_name,
        config_file or _lookup("ZERODTE_CONFIG", environ, dotenv_vars),
    )
    return settings, sources


def load_settings(
    config_file: Path | None = None,
    *,
    preset: str | None = None,
    env: Mapping[str, str] | None = None,
    dotenv: Path | None = DEFAULT_DOTENV,
) -> Settings:
    """Load the effective settings; see :func:`load_settings_with_sources`."""
    settings, _sources = load_settings_with_sources(
        config_file, preset=preset, env=env, dotenv=dotenv
    )
    return settings
