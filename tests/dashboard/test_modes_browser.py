"""The login gate in a real browser (issue 19): full mode listening on every interface, as the Procfile starts it.

Opened by a visitor from elsewhere (a proxy on this machine forwarding for them: X-Forwarded-For; every request
of these tests stays on loopback) the full mode shows only the login prompt; opened on localhost it serves every page; behind a proxy (FER_AUTH_HEADER) the header
names the user and its absence means no pages. The public demo never offers the Data or Train page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.browser import (
    PAGE_PATHS,
    chromium_available,
    launch_chromium,
    open_page,
    running_dashboard,
    wait_until_idle,
)

pytestmark = pytest.mark.browser
PUBLIC_TITLES = ["Overview", "Experiments", "Embeddings", "Predict", "Video"]
REMOTE_VISITOR = {"X-Forwarded-For": "203.0.113.7"}  # TEST-NET-3: a documentation address, never contacted


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An empty runs root; everything else as a user gets it."""
    if not chromium_available():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    pytest.importorskip("playwright.sync_api")
    return {"FER_RUNS_DIR": str(tmp_path / "runs"), "FER_CACHE_DIR": os.environ["FER_CACHE_DIR"],
            "FER_DASHBOARD_MODE": "full"}


def nav_titles(page) -> list[str]:
    """The page titles the sidebar's navigation lists (without the icons' names)."""
    return [link.inner_text().strip().splitlines()[-1] for link in page.locator('[data-testid="stSidebarNav"] a').all()]


def title(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def test_full_mode_asks_a_remote_visitor_to_sign_in_and_serves_localhost(env: dict[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with (running_dashboard(env, address="0.0.0.0", log_path=tmp_path / "streamlit.log") as url,
          sync_playwright() as playwright):
        browser = launch_chromium(playwright)
        try:
            remote = browser.new_context(extra_http_headers=REMOTE_VISITOR).new_page()
            for path in ("", "train", "data"):  # every address of the app leads to the prompt
                remote.goto(f"{url}/{path}", wait_until="domcontentloaded")
                remote.get_by_text("No login is configured").wait_for(timeout=90_000)  # the prompt's last line
                assert title(remote) == "Sign in"
                assert nav_titles(remote) == [] and remote.locator('[data-testid="stTextInput"]').count() == 0
            local = browser.new_page()
            open_page(local, url, "Train")
            assert title(local) == "Train" and nav_titles(local) == list(PAGE_PATHS)
            assert local.get_by_text("Local session").count() == 1
        finally:
            browser.close()


def test_full_mode_behind_a_proxy_takes_the_user_from_its_header(env: dict[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    env = {**env, "FER_AUTH_HEADER": "X-Forwarded-User"}
    with (running_dashboard(env, log_path=tmp_path / "streamlit.log") as url, sync_playwright() as playwright):
        browser = launch_chromium(playwright)
        try:
            signed_in = browser.new_context(extra_http_headers={"X-Forwarded-User": "ann@example.org"}).new_page()
            open_page(signed_in, url, "Experiments")
            assert title(signed_in) == "Experiments" and nav_titles(signed_in) == list(PAGE_PATHS)
            assert signed_in.get_by_text("Signed in as ann@example.org").count() == 1
            anonymous = browser.new_page()  # the same loopback connection without the header: no pages
            anonymous.goto(f"{url}/experiments", wait_until="domcontentloaded")
            anonymous.get_by_text("reverse proxy").wait_for(timeout=90_000)
            assert title(anonymous) == "Sign in" and nav_titles(anonymous) == []
        finally:
            browser.close()


def test_public_mode_never_offers_data_or_train(env: dict[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    env = {**env, "FER_DASHBOARD_MODE": "public"}
    with (running_dashboard(env, address="0.0.0.0", log_path=tmp_path / "streamlit.log") as url,
          sync_playwright() as playwright):
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(extra_http_headers=REMOTE_VISITOR).new_page()
            open_page(page, url, "Overview")
            overview = title(page)
            open_page(page, url, "Predict")
            assert title(page) == "Predict" and nav_titles(page) == PUBLIC_TITLES
            for path in ("data", "train"):  # typed by hand: Streamlit knows no such page and shows the default
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                wait_until_idle(page)
                assert title(page) == overview, f"/{path} in public mode shows {title(page)!r}, not the Overview"
                assert page.locator('[data-testid="stTextInput"] input').count() == 0
        finally:
            browser.close()
