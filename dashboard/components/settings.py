"""Where the dashboard looks for runs, the shipped model and the dataset (environment variables, then defaults)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from dashboard.components.uploads import prune_storage_once
from fer_engine.paths import default_checkpoint_dir, uploads_root
from fer_engine.paths import runs_root as engine_runs_root

DATA_PATH_KEY = "data_path"  # session key shared by every page: the dataset the user pointed at
DATA_PATH_ENV_VARS = ("FER_DATA_PATH", "FER2013_PATH")
WORKER_AUTOSTART_ENV = "FER_DASHBOARD_AUTOSTART_WORKER"

MAX_PHOTO_MB = 15
MAX_DATASET_MB = 400
MAX_UPLOAD_MB = max(MAX_PHOTO_MB, MAX_DATASET_MB)
"""The largest per-widget limit: .streamlit/config.toml's server.maxUploadSize must equal it (tested)."""
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp"]
DATASET_TYPES = ["zip", "csv"]


def runs_root() -> Path:
    """The runs root the library uses (`FER_RUNS_DIR`, else ./runs)."""
    return engine_runs_root()


def default_run_dir() -> Path:
    """The shipped default run folder (`FER_DEFAULT_CHECKPOINT` overrides checkpoints/default)."""
    return default_checkpoint_dir()


def data_path() -> str:
    """The dataset path chosen on the Data page this session, else `FER_DATA_PATH` / `FER2013_PATH`, else ''."""
    chosen = st.session_state.get(DATA_PATH_KEY)
    if chosen:
        return str(chosen)
    for name in DATA_PATH_ENV_VARS:
        if os.environ.get(name):
            return os.environ[name]
    return ""


def set_data_path(path: str | Path) -> None:
    """Remember the dataset path for every page of this session."""
    st.session_state[DATA_PATH_KEY] = str(path)


def uploads_dir(kind: str) -> Path:
    """Folder for uploaded files of one kind ('datasets', 'photos'), never inside the repository; the first call
    of a server process applies the uploads/cache quota and expiry (`uploads.prune_storage_once`)."""
    prune_storage_once()
    folder = uploads_root() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def worker_autostart() -> bool:
    """Whether submitting a job starts a local worker (set FER_DASHBOARD_AUTOSTART_WORKER=0 to run workers yourself)."""
    return os.environ.get(WORKER_AUTOSTART_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
