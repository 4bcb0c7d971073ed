"""Streamlit dashboard of fer_engine: thin views over the library (start with `streamlit run dashboard/app.py`)."""
