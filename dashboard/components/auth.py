"""Who is using the dashboard and in which mode it serves (public demo or full product)."""

from __future__ import annotations

import os
from typing import Literal

AppMode = Literal["public", "full"]
MODE_ENV = "FER_DASHBOARD_MODE"
LOCAL_USER = "local"


def app_mode() -> AppMode:
    """`public` (demo: shipped model and examples only) or `full` (everything), from FER_DASHBOARD_MODE."""
    return "public" if os.environ.get(MODE_ENV, "full").strip().lower() == "public" else "full"


def current_user() -> str:
    """The name jobs are recorded under: the signed-in user, else 'local' for a localhost session."""
    return LOCAL_USER
