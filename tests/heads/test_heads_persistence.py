"""Heads are stored without pickle: a round trip predicts identically; pickles and foreign types are refused."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fer_engine.errors import ModelError  # noqa: E402
from fer_engine.heads import HEAD_NAMES, create_head, load_estimator, save_estimator  # noqa: E402
from fer_engine.heads.persistence import head_file, storage_of  # noqa: E402
from support.builders import FAST_HEAD_PARAMS, separable_embeddings


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_round_trip_gives_identical_predictions(name, tmp_path):
    train = separable_embeddings(15, dim=8)
    probe = separable_embeddings(6, dim=8, seed=3, spread=3.0)  # hard cases, so decisions are not trivial
    head = create_head(name, **FAST_HEAD_PARAMS[name]).fit(train.embeddings, train.labels)
    path = head_file(tmp_path, name, storage_of(head))
    save_estimator(head, path)
    assert path.name == (f"{name}.xgb.json" if name == "xgboost" else f"{name}.skops")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left behind
    loaded = load_estimator(path)
    np.testing.assert_array_equal(loaded.predict(probe.embeddings), head.predict(probe.embeddings))
    if hasattr(head, "predict_proba"):
        np.testing.assert_allclose(
            loaded.predict_proba(probe.embeddings), head.predict_proba(probe.embeddings), rtol=1e-6
        )


def test_a_pickle_is_refused_with_a_clear_error(tmp_path):
    head = create_head("rf", n_estimators=3).fit(*_tiny())
    path = tmp_path / "rf.skops"
    path.write_bytes(pickle.dumps(head))
    with pytest.raises(ModelError, match="not a skops file.*pickle"):
        load_estimator(path)
    joblib_like = tmp_path / "rf.joblib"
    joblib_like.write_bytes(pickle.dumps(head))
    with pytest.raises(ModelError, match="never loaded"):
        load_estimator(joblib_like)


class NotAnEstimator:
    """A foreign type a skops file could carry."""


def test_a_skops_file_with_foreign_types_is_refused(tmp_path):
    import skops.io as sio

    path = tmp_path / "foreign.skops"
    sio.dump({"model": NotAnEstimator()}, path)
    with pytest.raises(ModelError, match="not trusted.*NotAnEstimator"):
        load_estimator(path)


def test_a_foreign_json_is_refused_as_an_xgboost_head(tmp_path):
    path = tmp_path / "xgboost.xgb.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(ModelError, match="not a readable fer_engine XGBoost head"):
        load_estimator(path)
    with pytest.raises(ModelError, match="no fitted head file"):
        load_estimator(tmp_path / "missing.skops")


def _tiny():
    train = separable_embeddings(5, dim=4)
    return train.embeddings, train.labels
