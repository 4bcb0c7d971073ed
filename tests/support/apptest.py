"""Streamlit AppTest helpers for the dashboard page tests: open a page of the app, find a table, read every text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from support.paths import APP_FILE

APP_TIMEOUT_S = 120
FIRST_PAGE = "views/overview.py"


def open_page(page: str, *, query: dict[str, str] | None = None, timeout_s: float = APP_TIMEOUT_S) -> AppTest:
    """Run app.py (with URL `query` parameters), switch to `page`, run it; fails on any exception on the page."""
    app = AppTest.from_file(str(APP_FILE), default_timeout=timeout_s)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    if page != FIRST_PAGE:
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def table_with(app: AppTest, *columns: str):
    """The first st.dataframe on the page that has all `columns` (AppTest does not look dataframes up by key)."""
    for element in app.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    raise AssertionError(f"no table with columns {columns}")


def texts(app: AppTest) -> str:
    """Every message and markdown text on the page, joined (for 'is this said somewhere' checks)."""
    parts = [e.value for kind in ("info", "warning", "error", "success", "markdown", "caption", "title", "subheader")
             for e in getattr(app, kind)]
    return "\n".join(str(p) for p in parts)
