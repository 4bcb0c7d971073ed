"""Entry of the dashboard (`streamlit run dashboard/app.py`): page setup, the mode's pages and the login gate.

Public mode lists only the demo's pages; full mode lists every page, or only the login prompt while a remote
visitor is not signed in (dashboard/components/auth.py decides; docs/security.md explains).
"""

from __future__ import annotations

import streamlit as st

from dashboard.components.auth import needs_login, page_allowed, show_login, show_session_badge
from dashboard.components.uploads import prune_storage_once

PAGES = [  # (script, title, icon); the first is the default page
    ("views/overview.py", "Overview", ":material/home:"),
    ("views/data.py", "Data", ":material/dataset:"),
    ("views/train.py", "Train", ":material/model_training:"),
    ("views/experiments.py", "Experiments", ":material/compare:"),
    ("views/sweeps.py", "Sweeps", ":material/tune:"),
    ("views/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    ("views/predict.py", "Predict", ":material/face:"),
    ("views/video.py", "Video", ":material/movie:"),
]

st.set_page_config(page_title="FER engine", page_icon=":material/mood:", layout="wide")
prune_storage_once()  # uploads and decoded caches past their quota or age go (once per server process)
if needs_login():
    st.navigation([st.Page(show_login, title="Sign in", icon=":material/login:", url_path="login")]).run()
else:
    show_session_badge()
    st.navigation(
        [
            st.Page(script, title=title, icon=icon, default=script == PAGES[0][0])
            for script, title, icon in PAGES
            if page_allowed(script)
        ]
    ).run()
