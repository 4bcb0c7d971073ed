"""Widgets for every field of a training config dataclass, so the Train form shows every knob the library has."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from typing import Any

import streamlit as st


def config_fields(config: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted name, annotation, current value) of every leaf field; nested dataclasses are walked."""
    hints = typing.get_type_hints(type(config))
    fields: list[tuple[str, Any, Any]] = []
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        name = f"{prefix}{item.name}"
        if dataclasses.is_dataclass(value):
            fields += config_fields(value, prefix=f"{name}.")
        else:
            fields.append((name, hints[item.name], value))
    return fields


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(type without None, whether None is allowed)."""
    args = typing.get_args(annotation)
    if type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return annotation, False


def field_widget(
    name: str,
    annotation: Any,
    value: Any,
    *,
    choices: Sequence[str] | None = None,
    key: str,
    help_text: str | None = None,
) -> Any:
    """One input for a config field; the returned value has the field's type (tuples as 'a, b' strings)."""
    label = name.split(".")[-1].replace("_", " ")
    base, optional = _base_type(annotation)
    if choices:
        options = list(choices) if value in choices else [value, *choices]
        return st.selectbox(label, options, index=options.index(value), key=key, help=help_text)
    if base is bool:
        return st.checkbox(label, value=bool(value), key=key, help=help_text)
    if base is int:
        return st.number_input(
            label, value=value, step=1, key=key, help=help_text, placeholder="none" if optional else None
        )
    if base is float:
        return st.number_input(
            label,
            value=None if value is None else float(value),
            format="%g",
            key=key,
            help=help_text,
            placeholder="none" if optional else None,
        )
    if typing.get_origin(base) is tuple:
        return st.text_input(label, value=", ".join(f"{v:g}" for v in value), key=key, help=help_text or "min, max")
    text = st.text_input(
        label,
        value="" if value is None else str(value),
        key=key,
        help=help_text,
        placeholder="none" if optional else None,
    )
    return (text or None) if optional else text


def changed_fields(values: dict[str, Any], base_fields: list[tuple[str, Any, Any]]) -> dict[str, Any]:
    """The entries of `values` that differ from the base config (the overrides a job should carry)."""
    annotations = {name: annotation for name, annotation, _ in base_fields}
    originals = {name: value for name, _, value in base_fields}
    changed = {}
    for name, value in values.items():
        original = originals[name]
        if typing.get_origin(_base_type(annotations[name])[0]) is tuple:
            unchanged = str(value).replace(" ", "") == ",".join(f"{v:g}" for v in original)
        else:
            unchanged = value == original
        if not unchanged:
            changed[name] = value
    return changed
