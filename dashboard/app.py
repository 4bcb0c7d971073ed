"""Entry of the dashboard (`streamlit run dashboard/app.py`): page setup and navigation; each page is a file in views/."""

from __future__ import annotations

import streamlit as st

PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("views/data.py", title="Data", icon=":material/dataset:"),
    st.Page("views/train.py", title="Train", icon=":material/model_training:"),
    st.Page("views/experiments.py", title="Experiments", icon=":material/compare:"),
    st.Page("views/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page("views/predict.py", title="Predict", icon=":material/face:"),
]

st.set_page_config(page_title="FER engine", page_icon=":material/mood:", layout="wide")
st.navigation(PAGES).run()
