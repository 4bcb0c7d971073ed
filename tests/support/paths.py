"""Where the checkout's parts are, for tests that start the dashboard or a subprocess from the repository root."""

from __future__ import annotations

from pathlib import Path

TESTS_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_ROOT.parent
APP_FILE = REPO_ROOT / "dashboard" / "app.py"
