"""How a page shows a library error to the user."""

from __future__ import annotations

import streamlit as st

from fer_engine.errors import FerError


def show_error(exc: Exception, context: str = "") -> None:
    """Show a library error as one readable line (FerError), anything else with its type for a bug report."""
    prefix = f"{context}: " if context else ""
    if isinstance(exc, FerError):
        st.error(f"{prefix}{exc}")
    else:
        st.error(f"{prefix}unexpected {type(exc).__name__}: {exc}")
