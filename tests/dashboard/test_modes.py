"""The dashboard's two modes under AppTest: which pages each serves, the login gate, users and admins (issue 19)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from dashboard.components import auth
from fer_engine.errors import ConfigError
from fer_engine.jobs.owners import ADMINS_ENV
from support.paths import APP_FILE, REPO_ROOT

ALL_PAGES = ["views/overview.py", "views/data.py", "views/train.py", "views/experiments.py", "views/embeddings.py",
             "views/predict.py"]
DEMO_PAGES = ["views/overview.py", "views/experiments.py", "views/embeddings.py", "views/predict.py"]
TIMEOUT = 120
OIDC_SECRETS = {"redirect_uri": "http://dash.example.org/oauth2callback", "cookie_secret": "not-a-real-secret",
                "client_id": "fer-dashboard", "client_secret": "not-a-real-secret",
                "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty runs root, no shipped model, no dataset, no login settings: what every page must cope with."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(tmp_path / "no-shipped-model"))
    for name in ("FER2013_PATH", "FER_DATA_PATH", auth.MODE_ENV, auth.AUTH_HEADER_ENV, ADMINS_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def reachable_remotely() -> Iterator[None]:
    """The server listens on every interface (as the Procfile starts it), not on localhost only."""
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", before)


def run_app(page: str | None = None, secrets: dict | None = None, user: dict | None = None) -> AppTest:
    """app.py under AppTest, opened on `page` (default: the default page) with these secrets and st.user, run
    once; fails on an exception box."""
    app = AppTest.from_file(str(APP_FILE), default_timeout=TIMEOUT)
    app.query_params["projection"] = "PCA"  # UMAP's numba compile is slow; the mode is what matters here
    if page:
        app.switch_page(page)  # before the first run AppTest finds a page by its file name, like a URL does
    app.secrets.update(secrets or {})
    if user is not None:
        app.user = user
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def served_pages(app: AppTest) -> list[str]:
    """The page scripts the app's navigation registered (AppTest.switch_page refuses any other)."""
    served = []
    for page in ALL_PAGES:
        try:
            app.switch_page(page)
        except ValueError:
            continue
        served.append(page)
    return served


def shown_text(app: AppTest) -> str:
    parts = [e.value for kind in ("title", "info", "warning", "error", "markdown", "caption") for e in getattr(app, kind)]
    return "\n".join(str(p) for p in parts) + "\n".join(str(c.value) for c in app.sidebar.caption)


def test_public_mode_serves_only_the_demo_pages(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                reachable_remotely: None) -> None:
    monkeypatch.setenv(auth.MODE_ENV, "public")
    app = run_app("views/predict.py")  # the navigation is the same whichever page is open
    assert served_pages(app) == DEMO_PAGES
    assert "Public demo" in shown_text(app)


@pytest.mark.parametrize("page", DEMO_PAGES)
def test_public_mode_pages_have_no_path_box_upload_of_data_or_job_control(
        workspace: Path, monkeypatch: pytest.MonkeyPatch, reachable_remotely: None, page: str) -> None:
    """An anonymous remote visitor of the demo: each page renders, without anything that reads server paths."""
    monkeypatch.setenv(auth.MODE_ENV, "public")
    app = run_app(page)
    assert app.title, f"{page} shows no title"
    path_boxes = [box.label for box in app.text_input if "path" in box.label.lower() or "folder" in box.label.lower()]
    assert path_boxes == [], f"{page} has path boxes: {path_boxes}"
    data_uploads = [u for u in app.get("file_uploader") if any(kind in str(u.proto.type) for kind in ("zip", "csv"))]
    assert data_uploads == [], f"{page} takes dataset uploads"
    job_buttons = [b.key for b in app.button if b.key and b.key.startswith(("cancel-", "retry-"))]
    assert job_buttons == [], f"{page} offers job control: {job_buttons}"


def test_full_mode_on_localhost_serves_every_page_without_login(workspace: Path) -> None:
    app = run_app()  # .streamlit/config.toml binds to localhost: the default local start
    assert served_pages(app) == ALL_PAGES
    assert "Local session" in shown_text(app)
    for page in ALL_PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert "Sign in" not in [t.value for t in app.title]


def test_full_mode_reachable_remotely_without_login_shows_only_the_prompt(workspace: Path,
                                                                           reachable_remotely: None) -> None:
    app = run_app()
    assert [t.value for t in app.title] == ["Sign in"]
    assert served_pages(app) == []
    assert any("No login is configured" in w.value for w in app.warning)
    assert not app.text_input and not app.get("file_uploader")


def test_full_mode_behind_a_proxy_without_its_header_shows_the_prompt(workspace: Path, monkeypatch: pytest.MonkeyPatch
                                                                      ) -> None:
    """With FER_AUTH_HEADER set even a loopback-bound server asks for the header: the proxy connects from loopback."""
    monkeypatch.setenv(auth.AUTH_HEADER_ENV, "X-Forwarded-User")
    app = run_app()
    assert [t.value for t in app.title] == ["Sign in"] and served_pages(app) == []
    assert any("X-Forwarded-User" in i.value for i in app.info)


def test_full_mode_with_oidc_serves_every_page_to_a_signed_in_user(workspace: Path, reachable_remotely: None) -> None:
    app = run_app(secrets={"auth": OIDC_SECRETS}, user={"is_logged_in": True, "email": "ann@example.org"})
    assert served_pages(app) == ALL_PAGES
    assert "Signed in as **ann@example.org**" in shown_text(app)
    assert [b.key for b in app.sidebar.button] == ["logout"]


def test_full_mode_with_oidc_asks_a_signed_out_visitor_to_log_in(workspace: Path, reachable_remotely: None) -> None:
    app = run_app(secrets={"auth": OIDC_SECRETS}, user={"is_logged_in": False})
    assert [t.value for t in app.title] == ["Sign in"] and served_pages(app) == []
    if importlib.util.find_spec("authlib") is None:  # streamlit's login needs Authlib: the prompt says so
        assert any('pip install "streamlit[auth]"' in e.value for e in app.error)
    else:
        assert [b.label for b in app.button] == ["Log in"]


def test_named_oidc_providers_each_get_a_button(workspace: Path, reachable_remotely: None) -> None:
    pytest.importorskip("authlib")
    secrets = {"redirect_uri": OIDC_SECRETS["redirect_uri"], "cookie_secret": "x",
               "google": {k: OIDC_SECRETS[k] for k in ("client_id", "client_secret", "server_metadata_url")},
               "microsoft": {k: OIDC_SECRETS[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    app = run_app(secrets={"auth": secrets}, user={"is_logged_in": False})
    assert [b.label for b in app.button] == ["Log in with google", "Log in with microsoft"]


def test_require_full_mode_stops_a_page_reached_in_public_mode(workspace: Path, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    def guarded_page() -> None:
        import streamlit as st

        from dashboard.components.auth import require_full_mode

        require_full_mode()
        st.text_input("dataset path on this machine")

    monkeypatch.setenv(auth.MODE_ENV, "public")
    app = AppTest.from_function(guarded_page, default_timeout=TIMEOUT).run()
    assert not app.text_input and any("not part of the public demo" in i.value for i in app.info)
    monkeypatch.setenv(auth.MODE_ENV, "full")
    assert [box.label for box in AppTest.from_function(guarded_page).run().text_input] == ["dataset path on this machine"]


@pytest.mark.parametrize("page", [
    "views/data.py", "views/train.py", "views/sweeps.py"])
def test_full_mode_pages_refuse_when_run_in_public_mode(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                        page: str) -> None:
    """Defence in depth: the navigation never offers them in public mode; a script run anyway must stop too."""
    monkeypatch.setenv(auth.MODE_ENV, "public")
    app = AppTest.from_file(str(APP_FILE.parent / page), default_timeout=TIMEOUT).run()
    assert not app.text_input and not app.get("file_uploader") and not app.button


def test_an_unknown_mode_is_an_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.MODE_ENV, "pubic")
    with pytest.raises(ConfigError, match="FER_DASHBOARD_MODE='pubic'.*'public' or 'full'"):
        auth.app_mode()
    monkeypatch.setenv(auth.MODE_ENV, " Public ")
    assert auth.app_mode() == "public"
    monkeypatch.delenv(auth.MODE_ENV)
    assert auth.app_mode() == "full"


def test_admins_and_owners_may_manage_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ADMINS_ENV, " root@example.org , bob ")
    assert auth.is_admin("root@example.org") and auth.is_admin("bob") and not auth.is_admin("ann")
    assert auth.may_manage("ann", user="ann") and auth.may_manage("ann", user="bob")
    assert auth.may_manage("ann", user=auth.LOCAL_USER)  # whoever sits at the server's machine
    assert not auth.may_manage("ann", user="carol")
    assert not auth.may_manage(auth.ANONYMOUS_USER, user=auth.ANONYMOUS_USER)


@pytest.mark.parametrize(("operator_setting", "mode"), [(None, "public"), ("full", "full")])
def test_procfile_serves_the_public_demo_unless_the_operator_says_full(operator_setting: str | None, mode: str) -> None:
    """The Procfile's own command line, run by bash with a stand-in `streamlit` that prints the mode it gets."""
    import subprocess

    (line,) = [line for line in (REPO_ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")]
    env = {"PATH": os.environ["PATH"], "PORT": "8000", **({auth.MODE_ENV: operator_setting} if operator_setting else {})}
    stand_in = 'streamlit() { echo "mode=$FER_DASHBOARD_MODE args=$*"; }; '
    shown = subprocess.run(["bash", "-c", stand_in + line.removeprefix("web:")], env=env, capture_output=True,
                           text=True, check=True).stdout
    assert shown.startswith(f"mode={mode} args=run dashboard/app.py"), shown
    assert "--server.address 0.0.0.0" in shown  # reachable from other machines: hence the public default
