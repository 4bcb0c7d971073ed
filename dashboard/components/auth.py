"""Who is using the dashboard, which mode it serves (public demo or full product), and what each may do.

Public mode (FER_DASHBOARD_MODE=public, the Procfile's default) serves only `PUBLIC_PAGES`. Full mode serves
every page; a session from another machine must be signed in first, through Streamlit's OIDC login (an
`[auth]` section in .streamlit/secrets.toml) or through a reverse proxy that puts the user name in the header
named by FER_AUTH_HEADER. A session on this machine needs no login. docs/security.md explains the deployment.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from typing import Literal

import streamlit as st

from fer_engine.errors import ConfigError
from fer_engine.jobs.owners import LOCAL_OWNER, admin_users, can_manage

AppMode = Literal["public", "full"]
MODE_ENV = "FER_DASHBOARD_MODE"
AUTH_HEADER_ENV = "FER_AUTH_HEADER"
LOCAL_USER = LOCAL_OWNER
ANONYMOUS_USER = "anonymous"
PUBLIC_PAGES = frozenset(
    {"views/overview.py", "views/experiments.py", "views/embeddings.py", "views/predict.py", "views/video.py"}
)
"""Page files the public demo serves (the shipped model and the example runs only; no paths, uploads of data, jobs)."""

LOOPBACK_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
"""A request that carries one of these came through a proxy: its loopback address says nothing about the visitor."""
_USER_NAME = re.compile(r"[\w.@+\-]{1,128}")


def app_mode() -> AppMode:
    """`public` (demo: shipped model and examples only) or `full` (everything, the default), from FER_DASHBOARD_MODE."""
    value = os.environ.get(MODE_ENV, "full").strip().lower() or "full"
    if value not in ("public", "full"):
        raise ConfigError(f"{MODE_ENV}={value[:40]!r} is not a dashboard mode: use 'public' or 'full'")
    return value  # type: ignore[return-value]


def page_allowed(page_file: str) -> bool:
    """Whether the page script `views/<name>.py` is served in the current mode (for navigation and page links)."""
    return app_mode() == "full" or page_file in PUBLIC_PAGES


def auth_header_name() -> str | None:
    """The header a trusted reverse proxy sets to the signed-in user's name (FER_AUTH_HEADER), if the operator set one."""
    name = os.environ.get(AUTH_HEADER_ENV, "").strip()
    return name or None


def oidc_providers() -> list[str | None]:
    """Providers of Streamlit's OIDC login configured in secrets.toml: None for a bare [auth] section, else names."""
    if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
        return []
    section = st.secrets["auth"]
    named = [name for name, value in section.items() if isinstance(value, Mapping)]
    return named or ([None] if "client_id" in section else [])


def is_local_session() -> bool:
    """The browser runs on this machine: the server listens on loopback only, or the connection comes from it.

    Never true when a proxy header is configured or the request was forwarded (a proxy on this machine connects
    from loopback on behalf of remote visitors). Streamlit reports a loopback client's address as None; a session
    without any headers (no browser connection, e.g. AppTest) only counts as local on a loopback-bound server.
    """
    if auth_header_name():
        return False
    headers = st.context.headers
    if any(name in headers for name in FORWARDING_HEADERS):
        return False
    if str(st.get_option("server.address") or "").strip("[]") in LOOPBACK_ADDRESSES:
        return True
    return bool(headers) and st.context.ip_address is None


def signed_in_user() -> str | None:
    """The name a login vouches for: the trusted proxy header, else the OIDC user's email (or name); None if none."""
    header = auth_header_name()
    if header:
        value = (st.context.headers.get(header) or "").strip()
        return value if _USER_NAME.fullmatch(value) else None
    claims = st.user.to_dict()
    if oidc_providers() and claims.get("is_logged_in") is True:
        return str(claims.get("email") or claims.get("name") or claims.get("sub") or "") or None
    return None


def current_user() -> str:
    """The name jobs are recorded under: the signed-in user, 'local' on this machine, else 'anonymous'."""
    return signed_in_user() or (LOCAL_USER if is_local_session() else ANONYMOUS_USER)


def needs_login() -> bool:
    """Full mode reached from another machine by nobody signed in: show the login prompt and no page."""
    return app_mode() == "full" and current_user() == ANONYMOUS_USER


def is_admin(user: str | None = None) -> bool:
    """An admin (may cancel and retry anyone's jobs): listed in FER_ADMINS, or the local user (fer_engine.jobs.owners)."""
    return (current_user() if user is None else user) in admin_users()


def may_manage(owner: str, user: str | None = None) -> bool:
    """Whether `user` (default: the current one) may cancel or retry a job queued by `owner`; never an anonymous one."""
    user = current_user() if user is None else user
    return user != ANONYMOUS_USER and can_manage(owner, user)


def require_full_mode() -> None:
    """Guard at the top of a page outside the public demo: in public mode, or without a needed login, it stops."""
    if app_mode() == "public":
        st.info(
            "This page is not part of the public demo. Run the dashboard in full mode to use it "
            f"({MODE_ENV}=full; see docs/security.md)."
        )
        st.stop()
    if needs_login():
        st.info("Sign in to use this page.")
        st.stop()


def show_login() -> None:
    """The only page of full mode before a remote visitor signs in: how to sign in, or why nobody can yet."""
    st.title("Sign in")
    st.write(
        "This dashboard runs in full mode (training, datasets, jobs) and is reachable from other machines, "
        "so it needs a login."
    )
    header = auth_header_name()
    providers = oidc_providers()
    if header:
        st.info(
            f"Sign-in is handled by the reverse proxy in front of this server; the request reached the "
            f"dashboard without a user name in its `{header}` header. Open the dashboard through the "
            "proxy's address."
        )
    elif providers and importlib.util.find_spec("authlib") is None:
        st.error(
            "Login is configured in secrets.toml but the Authlib package is missing: "
            '`pip install "streamlit[auth]"` on the server (see docs/security.md).'
        )
    elif providers:
        for provider in providers:
            label = f"Log in with {provider}" if provider else "Log in"
            st.button(
                label,
                key=f"login-{provider or 'default'}",
                on_click=st.login,
                args=(provider,) if provider else (),
                type="primary",
            )
    else:
        st.warning(
            "No login is configured for remote use. The operator can configure an OIDC provider in "
            f".streamlit/secrets.toml or a reverse proxy header ({AUTH_HEADER_ENV}), or serve the "
            f"public demo ({MODE_ENV}=public); see docs/security.md."
        )


def show_session_badge() -> None:
    """Sidebar line naming the mode and the user, with a logout button for an OIDC session."""
    if app_mode() == "public":
        st.sidebar.caption("Public demo: the shipped model and example runs.")
        return
    user = current_user()
    if user == LOCAL_USER:
        st.sidebar.caption("Local session: no login needed on this machine.")
    else:
        st.sidebar.caption(f"Signed in as **{user}**" + (" (admin)" if is_admin(user) else ""))
    if not auth_header_name() and oidc_providers() and st.user.to_dict().get("is_logged_in") is True:
        st.sidebar.button("Log out", key="logout", on_click=st.logout)
