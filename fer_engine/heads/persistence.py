"""Saving and loading fitted heads without pickle: skops for scikit-learn, XGBoost's JSON for boosters.

Loading a skops file trusts only scikit-learn and numpy types; anything else (and any pickle/joblib file)
is refused with a ModelError instead of being executed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from sklearn.base import BaseEstimator

from fer_engine.errors import ModelError
from fer_engine.heads.base import SKOPS_STORAGE, XGBOOST_JSON_STORAGE
from fer_engine.heads.xgboost_head import XGBoostHead
from fer_engine.io_utils import atomic_write

TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.")
FILE_SUFFIXES = {SKOPS_STORAGE: ".skops", XGBOOST_JSON_STORAGE: ".xgb.json"}


def head_file(directory: str | Path, name: str, storage: str) -> Path:
    """Where head `name` is stored in `directory`: `<name>.skops` or `<name>.xgb.json`."""
    return Path(directory) / f"{name}{FILE_SUFFIXES[storage]}"


def storage_of(estimator: BaseEstimator) -> str:
    """The storage format an estimator needs."""
    return XGBOOST_JSON_STORAGE if isinstance(estimator, XGBoostHead) else SKOPS_STORAGE


def save_estimator(estimator: BaseEstimator, path: str | Path) -> Path:
    """Write a fitted head atomically in its safe format (chosen from the estimator's type)."""
    import skops.io as sio

    if storage_of(estimator) == XGBOOST_JSON_STORAGE:
        # XGBoost picks the format from the file name, so the temp file keeps the .json suffix.
        return atomic_write(path, lambda tmp: _save_xgboost(estimator, tmp))
    return atomic_write(path, lambda tmp: sio.dump(estimator, tmp))


def _save_xgboost(estimator: XGBoostHead, tmp: Path) -> None:
    json_tmp = tmp.with_name(tmp.name + ".json")
    try:
        estimator.save_json(json_tmp)
        json_tmp.replace(tmp)
    finally:
        json_tmp.unlink(missing_ok=True)


def load_estimator(path: str | Path) -> BaseEstimator:
    """Load a head saved by `save_estimator`; refuses pickles and skops files with untrusted types."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no fitted head file at {path}: fit it with `fer heads RUN`")
    if path.name.endswith(FILE_SUFFIXES[XGBOOST_JSON_STORAGE]):
        return _load_xgboost(path)
    if path.suffix == FILE_SUFFIXES[SKOPS_STORAGE]:
        return _load_skops(path)
    raise ModelError(
        f"{path}: unknown head file type (expected .skops or .xgb.json; pickle/joblib files are never loaded)"
    )


def _load_xgboost(path: Path) -> XGBoostHead:
    try:
        return XGBoostHead.load_json(path)
    except Exception as exc:  # xgboost raises its own error types for foreign or corrupt files
        raise ModelError(f"{path} is not a readable fer_engine XGBoost head (XGBoost JSON): {exc}") from exc


def _load_skops(path: Path) -> BaseEstimator:
    import skops.io as sio

    if not zipfile.is_zipfile(path):
        raise ModelError(
            f"{path} is not a skops file (it may be a pickle/joblib file, which is refused because loading it "
            "could execute code): refit the head with `fer heads RUN`"
        )
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelError(f"{path} is not a readable skops file: {exc}") from exc
    refused = [name for name in untrusted if not name.startswith(TRUSTED_TYPE_PREFIXES)]
    if refused:
        raise ModelError(
            f"{path} contains types that are not trusted ({', '.join(sorted(refused))}); only scikit-learn and "
            "numpy objects are loaded. Refit the head with `fer heads RUN`"
        )
    try:
        estimator = sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise ModelError(f"{path} could not be loaded as a skops head: {exc}") from exc
    if not isinstance(estimator, BaseEstimator):
        raise ModelError(f"{path} holds a {type(estimator).__name__}, not a scikit-learn estimator")
    return estimator
