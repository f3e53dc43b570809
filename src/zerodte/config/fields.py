"""The catalogue of setting keys: every leaf of the settings tree by its dotted name.

A *key* is the dotted path of a leaf field, ``"exits.stop_loss_pct"``; its environment
variable is ``ZERODTE_EXITS__STOP_LOSS_PCT`` (prefix, sections joined by a double underscore).
This module also knows how to read a field's value from environment text, how to describe a
field's type to a human, which fields are secret and how to hide them.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from zerodte.config.root import Settings

ENV_PREFIX = "ZERODTE_"
ENV_SEPARATOR = "__"
MASK = "**********"
# Not settings keys, but read by the loader itself; never reported as unknown.
RESERVED_ENV = frozenset({"ZERODTE_CONFIG", "ZERODTE_PRESET"})
# Variables of the test and development tooling (dev.py, test fixtures), not settings.
RESERVED_ENV_PREFIXES = ("ZERODTE_TEST_",)
# str fields holding URLs whose password part is a secret (shown with the password masked).
URL_KEYS = frozenset({"store.url"})

_NONE_WORDS = frozenset({"", "none", "null"})


@dataclass(frozen=True)
class FieldSpec:
    """One leaf of the settings tree.

    Attributes
    ----------
    key
        Dotted name, e.g. ``"exits.stop_loss_pct"``.
    annotation
        The field's type as pydantic resolved it.
    default
        The default value.
    secret
        True for ``SecretStr`` fields: they may only come from the environment or ``.env``.
    description
        The field's description, if it has one.
    bounds
        Numeric bounds as text, e.g. ``("> 0", "<= 1")``.
    """

    key: str
    annotation: Any
    default: Any
    secret: bool
    description: str | None
    bounds: tuple[str, ...] = ()

    @property
    def allowed(self) -> str:
        """What values the field accepts, for error messages."""
        text = describe_type(self.annotation)
        return f"{text}, {' and '.join(self.bounds)}" if self.bounds else text

    @property
    def env_name(self) -> str:
        """The ``ZERODTE_SECTION__FIELD`` environment variable that sets this key."""
        return key_to_env(self.key)


def key_to_env(key: str) -> str:
    """Return the environment variable name of a dotted key."""
    return ENV_PREFIX + ENV_SEPARATOR.join(key.split(".")).upper()


def env_to_key(name: str) -> str:
    """Return the dotted key an environment variable name would set (it may not exist)."""
    return ".".join(name[len(ENV_PREFIX) :].lower().split(ENV_SEPARATOR))


def _contains(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return any(_contains(arg, target) for arg in get_args(annotation))


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _walk(model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[FieldSpec]:
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        if _is_model(info.annotation):
            yield from _walk(info.annotation, path)  # type: ignore[arg-type]
        else:
            yield FieldSpec(
                key=".".join(path),
                annotation=info.annotation,
                default=info.get_default(call_default_factory=True),
                secret=_contains(info.annotation, SecretStr),
                description=info.description,
                bounds=_bounds(info.metadata),
            )


_BOUND_SYMBOLS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _bounds(metadata: Iterable[Any]) -> tuple[str, ...]:
    out: list[str] = []
    for item in metadata:
        if isinstance(item, FieldInfo):  # Annotated[int, Field(ge=1)] keeps a FieldInfo
            out.extend(_bounds(item.metadata))
            continue
        for attr, symbol in _BOUND_SYMBOLS:
            value = getattr(item, attr, None)
            if value is not None:
                out.append(f"{symbol} {value}")
        min_length = getattr(item, "min_length", None)
        if min_length:
            out.append(f"at least {min_length} item{'s' if min_length > 1 else ''}")
        if getattr(item, "pattern", None):
            out.append(f"matching {item.pattern}")
    return tuple(out)


@functools.cache
def field_specs() -> dict[str, FieldSpec]:
    """Every leaf key of :class:`~zerodte.config.root.Settings`, in declaration order."""
    return {spec.key: spec for spec in _walk(Settings, ())}


def model_children(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    """Map each field of ``model`` to its sub-model (a section) or None (a leaf)."""
    out: dict[str, type[BaseModel] | None] = {}
    for name, info in model.model_fields.items():
        out[name] = info.annotation if _is_model(info.annotation) else None  # type: ignore[assignment]
    return out


def _is_optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _non_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _is_tuple(annotation: Any) -> bool:
    return get_origin(_non_none(annotation)) is tuple


def parse_env_text(spec: FieldSpec, raw: str) -> object:
    """Turn environment text into a value pydantic can validate for ``spec``.

    Scalars stay text (pydantic parses ``"10"`` as an int, ``"yes"`` as a bool, and so on);
    tuples are comma lists (``"MON,FRI"``, optionally bracketed); optional fields read
    ``""``, ``"none"`` and ``"null"`` as None.
    """
    text = raw.strip()
    if _is_optional(spec.annotation) and text.lower() in _NONE_WORDS:
        return None
    if _is_tuple(spec.annotation):
        if len(text) >= 2 and text[0] in "[(" and text[-1] in "])":
            text = text[1:-1]
        return [part.strip().strip("'\"") for part in text.split(",") if part.strip()]
    return text


_TYPE_WORDS: dict[Any, str] = {
    bool: "true/false (also yes/no, 1/0)",
    int: "an integer",
    float: "a number",
    str: "text",
    Path: "a path",
    date: "a date YYYY-MM-DD",
    SecretStr: "secret text",
}


def describe_type(annotation: Any) -> str:
    """Describe a field type for an error message: what values are allowed."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        bounds = _bounds(args[1:])
        base = describe_type(args[0])
        return f"{base} ({' and '.join(bounds)})" if bounds else base
    if origin in (Union, types.UnionType):
        parts = [describe_type(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return f"{text}, or none (empty)" if type(None) in args else text
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list, each item {describe_type(args[0])} (comma-separated in env)"
        items = ", ".join(describe_type(a) for a in args)
        return f"{len(args)} items ({items}) (comma-separated in env)"
    return _TYPE_WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by the mask."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{netloc}"))


def shown_value(key: str, value: object) -> object:
    """Return ``value`` as it may be shown to a human: secrets masked, URL passwords masked."""
    spec = field_specs().get(key)
    if spec is not None and spec.secret:
        return None if value is None else MASK
    if key in URL_KEYS and isinstance(value, str):
        return redact_url(value)
    if isinstance(value, SecretStr):  # a secret reaching here through an unknown key
        return MASK
    return value


def url_has_password(value: object) -> bool:
    """True when ``value`` is a URL with an embedded password."""
    if not isinstance(value, str):
        return False
    try:
        return urlsplit(value).password is not None
    except ValueError:
        return False


def suggest(name: str, candidates: Iterable[str], sep: str = ".") -> str | None:
    """Return the candidate closest to ``name``, if any is close enough.

    First the whole name is compared; failing that, its last component is compared with the
    last components of the candidates, so ``gates.stop_loss_pct`` still finds
    ``exits.stop_loss_pct``.
    """
    pool = list(candidates)
    completions = [c for c in pool if c.startswith(name)]
    if len(completions) == 1:  # a truncated name: "gates.max_trades" -> "..._per_day"
        return completions[0]
    found = get_close_matches(name, pool, n=1, cutoff=0.6)
    if found:
        return found[0]
    by_leaf: dict[str, str] = {}
    for candidate in pool:
        by_leaf.setdefault(candidate.rsplit(sep, 1)[-1], candidate)
    leaf = name.rsplit(sep, 1)[-1]
    found = get_close_matches(leaf, list(by_leaf), n=1, cutoff=0.75)
    return by_leaf[found[0]] if found else None
