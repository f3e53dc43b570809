"""Named presets: TOML files shipped inside the package (``zerodte/config/presets/*.toml``).

A preset is an ordinary settings file that sits between the defaults and the user's own file.
Its leading comment block says what it is for; :func:`list_presets` shows that text. No live
trading preset is shipped on purpose: live mode is an explicit, deliberate switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from zerodte.config.fields import suggest
from zerodte.errors import ConfigError

_SUFFIX = ".toml"


@dataclass(frozen=True)
class PresetInfo:
    """A shipped preset: its name (file stem) and the first paragraph of its comment."""

    name: str
    description: str


def _preset_dir() -> Traversable:
    return resources.files("zerodte.config").joinpath("presets")


def preset_names() -> list[str]:
    """Names of every shipped preset, sorted."""
    return sorted(
        entry.name[: -len(_SUFFIX)]
        for entry in _preset_dir().iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIX)
    )


def _description(text: str) -> str:
    """The leading comment paragraph of a preset, joined into one line."""
    words: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        body = stripped.lstrip("#").strip()
        if not body:
            if words:
                break
            continue
        words.append(body)
    return " ".join(words)


def preset_text(name: str) -> str:
    """Return the TOML text of preset ``name``.

    Raises
    ------
    ConfigError
        If no preset has that name; the message lists the presets and the closest one.
    """
    stem = name.removesuffix(_SUFFIX)
    names = preset_names()
    if stem not in names:
        close = suggest(stem, names)
        hint = f"; did you mean {close!r}?" if close else ""
        raise ConfigError(
            f"unknown preset {name!r}{hint} Available presets: {', '.join(names)} "
            "(see `zerodte presets list`)."
        )
    return _preset_dir().joinpath(stem + _SUFFIX).read_text(encoding="utf-8")


def list_presets() -> list[PresetInfo]:
    """Every shipped preset with its description, sorted by name."""
    return [PresetInfo(name, _description(preset_text(name))) for name in preset_names()]
