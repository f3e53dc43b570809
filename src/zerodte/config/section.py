"""``Section``: the base of every settings section (immutable, strict, finite).

Kept apart from :mod:`zerodte.config.settings` so that the sections of
:mod:`zerodte.config.decision_settings` share the same validation without an import cycle.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _scalar_types(annotation: Any) -> set[type]:
    """The plain types a field's annotation is made of (through Optional, tuple, Annotated)."""
    origin = get_origin(annotation)
    if origin is None:
        return {annotation} if isinstance(annotation, type) else set()
    if origin is Literal:
        return set()
    out: set[type] = set()
    for arg in get_args(annotation):
        out |= _scalar_types(arg)
    return out


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


class Section(BaseModel):
    """Base of every settings section: immutable, unknown keys rejected, finite floats."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _strict_kinds(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse a boolean where a number is expected, and a number where a boolean is."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        kinds = _scalar_types(field.annotation)
        numeric = bool(kinds & {int, float}) and bool not in kinds
        for item in _items(value):
            if numeric and isinstance(item, bool):
                raise ValueError(f"expected a number, got the boolean {str(item).lower()}")
            if bool in kinds and isinstance(item, int | float) and not isinstance(item, bool):
                raise ValueError(f"expected true or false, got the number {item}")
        return value
