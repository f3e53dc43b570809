"""Settings layers and where each value came from.

A *layer* maps dotted keys to ``(value, source)`` pairs. The loader builds one layer per
source (preset, file, ``.env``, process environment), checks each for unknown keys and
misplaced secrets, and merges them in order: a later layer overrides an earlier one key by
key. Source labels:

``default``, ``preset:NAME``, ``file:PATH``, ``dotenv-alias:NAME``, ``dotenv:NAME``,
``alias:NAME``, ``env:NAME``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from zerodte.config.aliases import ALIASES
from zerodte.config.fields import (
    ENV_PREFIX,
    RESERVED_ENV,
    RESERVED_ENV_PREFIXES,
    env_to_key,
    field_specs,
    key_to_env,
    model_children,
    parse_env_text,
    suggest,
    url_has_password,
)
from zerodte.config.root import Settings
from zerodte.errors import ConfigError

logger = logging.getLogger(__name__)

Layer = dict[str, tuple[object, str]]


def _raise_all(problems: list[str]) -> None:
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(f"- {p}" for p in problems))


def _unknown_key(label: str, dotted: str) -> str:
    close = suggest(dotted, field_specs())
    hint = f"; did you mean {close}?" if close else "; `zerodte config show` lists every key"
    return f"{label}: unknown key {dotted}{hint}"


@dataclass
class _TomlReader:
    """Walks one TOML document along the settings tree, collecting values and problems."""

    label: str
    source: str
    out: Layer = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def walk(
        self, table: Mapping[str, Any], model: type[BaseModel], prefix: tuple[str, ...]
    ) -> None:
        children = model_children(model)
        for name, value in table.items():
            dotted = ".".join((*prefix, name))
            if name not in children:
                self._unknown(name, dotted, value, children, top=not prefix)
                continue
            sub = children[name]
            if sub is None:
                self._leaf(dotted, value)
            elif isinstance(value, dict):
                self.walk(value, sub, (*prefix, name))
            else:
                self.problems.append(
                    f"{self.label}: {dotted} is a section; write its keys under a [{dotted}] table"
                )

    def _unknown(
        self,
        name: str,
        dotted: str,
        value: object,
        children: Mapping[str, type[BaseModel] | None],
        *,
        top: bool,
    ) -> None:
        if isinstance(value, dict) and top:
            sections = [n for n, sub in children.items() if sub is not None]
            close = suggest(name, sections)
            hint = f"; did you mean [{close}]?" if close else f"; sections: {', '.join(sections)}"
            self.problems.append(f"{self.label}: unknown section [{name}]{hint}")
        else:
            self.problems.append(_unknown_key(self.label, dotted))

    def _leaf(self, dotted: str, value: object) -> None:
        spec = field_specs()[dotted]
        if spec.secret:
            # Never echo the value: it is a secret that has leaked into a file.
            self.problems.append(
                f"{self.label}: {dotted} is a secret and may only come from the environment or "
                f".env (set {spec.env_name}); remove it from the file (value not shown)"
            )
        elif url_has_password(value):
            self.problems.append(
                f"{self.label}: {dotted} contains a password; put the URL in the environment "
                f"or .env instead (set {spec.env_name}) (value not shown)"
            )
        else:
            self.out[dotted] = (value, self.source)


def layer_from_toml(data: Mapping[str, Any], *, label: str, source: str) -> Layer:
    """Check a parsed TOML document against the settings tree and flatten it.

    Parameters
    ----------
    data
        The document as :func:`tomllib.loads` returns it.
    label
        How errors name the document, e.g. ``"file cfg.toml"``.
    source
        The source label recorded for each value, e.g. ``"file:cfg.toml"``.

    Raises
    ------
    ConfigError
        Listing every unknown section or key (with the closest valid name) and every
        secret found in the document (without its value).
    """
    reader = _TomlReader(label, source)
    reader.walk(data, Settings, ())
    _raise_all(reader.problems)
    return reader.out


def layer_from_env(environ: Mapping[str, str], *, origin: str, label: str) -> Layer:
    """Read ``ZERODTE_*`` variables and legacy aliases from one environment.

    Parameters
    ----------
    environ
        The variables (process environment or the contents of a ``.env`` file).
    origin
        ``"env"`` or ``"dotenv"``; sources become ``env:NAME``/``alias:NAME`` or
        ``dotenv:NAME``/``dotenv-alias:NAME``.
    label
        How errors name this environment, e.g. ``"environment"`` or ``"dotenv .env"``.

    Returns
    -------
    Layer
        Alias values overridden by explicit ``ZERODTE_*`` values for the same key.

    Raises
    ------
    ConfigError
        For any ``ZERODTE_*`` variable that names no key, or an alias whose text its
        conversion cannot read.
    """
    specs = field_specs()
    by_env = {spec.env_name: spec for spec in specs.values()}
    alias_source = "alias" if origin == "env" else f"{origin}-alias"
    problems: list[str] = []

    from_alias: Layer = {}
    for alias in ALIASES:
        raw = environ.get(alias.name)
        if raw is None:
            continue
        if alias.key in from_alias:
            earlier = from_alias[alias.key][1].split(":", 1)[1]
            logger.warning(
                "%s: %s and %s both set %s; using %s",
                label,
                earlier,
                alias.name,
                alias.key,
                earlier,
            )
            continue
        try:
            value = alias.parse(raw)
        except ValueError as exc:
            seen = "" if alias.spec.secret else f"={raw.strip()!r}"
            problems.append(f"{label}: {alias.name}{seen} cannot set {alias.key}: {exc}")
            continue
        from_alias[alias.key] = (value, f"{alias_source}:{alias.name}")

    explicit: Layer = {}
    for name in sorted(environ):
        upper = name.upper()
        if (
            not upper.startswith(ENV_PREFIX)
            or upper in RESERVED_ENV
            or upper.startswith(RESERVED_ENV_PREFIXES)
        ):
            continue
        spec = by_env.get(upper)
        if spec is None:
            candidates = [*by_env, *RESERVED_ENV]
            close = suggest(upper, candidates, sep="__")
            hint = (
                f"; did you mean {close}?"
                if close
                else f"; it would set {env_to_key(upper)}, which does not exist"
            )
            problems.append(f"{label}: unknown variable {name}{hint}")
            continue
        explicit[spec.key] = (parse_env_text(spec, environ[name]), f"{origin}:{name}")

    for key in sorted(from_alias.keys() & explicit.keys()):
        logger.warning(
            "%s: both %s and legacy %s are set for %s; using %s (explicit ZERODTE_* wins)",
            label,
            explicit[key][1].split(":", 1)[1],
            from_alias[key][1].split(":", 1)[1],
            key,
            key_to_env(key),
        )
    _raise_all(problems)
    return {**from_alias, **explicit}


def merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge layers in order (later wins) into a nested dict and a key-to-source map."""
    flat: Layer = {}
    for layer in layers:
        flat.update(layer)
    nested: dict[str, Any] = {}
    for key, (value, _source) in flat.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested, {key: source for key, (_value, source) in flat.items()}
