"""Guarded access to fer_engine modules: a page degrades with a clear message when a module is not available."""

from __future__ import annotations

import importlib
from types import ModuleType

import streamlit as st

from fer_engine.errors import FerError


def optional_module(name: str, feature: str) -> ModuleType | None:
    """Import `name`; on ImportError say which feature is unavailable (st.info) and return None."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        st.info(f"{feature} is not available in this installation: `{name}` could not be imported ({exc}).")
        return None


def show_error(exc: Exception, context: str = "") -> None:
    """Show a library error as one readable line (FerError), anything else with its type for a bug report."""
    prefix = f"{context}: " if context else ""
    if isinstance(exc, FerError):
        st.error(f"{prefix}{exc}")
    else:
        st.error(f"{prefix}unexpected {type(exc).__name__}: {exc}")
