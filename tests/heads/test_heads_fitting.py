"""fit_heads on a run: fitted on train only, scored on val/test, its own training split never called validation."""

from __future__ import annotations

import json

import pytest

from fer_engine.embeddings import load_embeddings, save_embeddings  # noqa: E402
from fer_engine.errors import ConfigError, ModelError  # noqa: E402
from fer_engine.heads import HEAD_NAMES, fit_head, fit_heads, fitted_head_names, load_fitted_head  # noqa: E402
from fer_engine.scoring.metrics import TRAINING_ACCURACY_LABEL  # noqa: E402
from support.builders import FAST_HEAD_PARAMS, run_with_separable_embeddings, separable_embeddings


def test_fit_heads_writes_model_and_record_with_val_and_test_scores(tmp_path):
    run = run_with_separable_embeddings(tmp_path / "run", splits=("train", "val", "test"))
    events = []
    records = fit_heads(run, HEAD_NAMES, params=FAST_HEAD_PARAMS, on_event=events.append)
    assert list(records) == list(HEAD_NAMES) and fitted_head_names(run) == list(HEAD_NAMES)
    assert [e["head"] for e in events if e["event"] == "head_fitted"] == list(HEAD_NAMES)
    for name in HEAD_NAMES:
        stored = json.loads((run.heads_dir / f"{name}.json").read_text())
        assert (run.heads_dir / stored["file"]).is_file()
        assert stored["fitted_on_split"] == "train" and stored["n_train"] == 210
        assert stored["fit_seconds"] >= 0 and 0.8 < stored["training_accuracy"] <= 1.0
        assert set(stored["scores"]) == {"val", "test"}
        assert stored["scores"]["val"]["score_kind"] == "validation (PublicTest)"
        assert stored["scores"]["val"]["accuracy"] > 0.8
        assert "validation_accuracy" not in stored  # only 'training_accuracy' names a fit-split number
        assert stored["params"]  # the classifier's settings are recorded


def test_scoring_a_head_on_its_own_training_split_is_labelled_training_accuracy(tmp_path):
    run = run_with_separable_embeddings(tmp_path / "run")
    fit_heads(run, ["xgboost"], params=FAST_HEAD_PARAMS)
    head = load_fitted_head(run, "xgboost")
    on_train = head.score(load_embeddings(run, "train"))
    on_val = head.score(load_embeddings(run, "val"))
    assert on_train.fitted_on_split is True and on_train.score_kind == TRAINING_ACCURACY_LABEL
    assert on_train.to_dict()["score_kind"] == "training accuracy (fitted on this split)"
    assert on_val.fitted_on_split is False and "validation" in on_val.score_kind


def test_heads_are_fitted_on_train_only(tmp_path):
    with pytest.raises(ConfigError, match="fitted on the 'train' split only"):
        fit_head("svm", separable_embeddings(5, split="val"))


def test_max_train_and_class_weight_are_recorded(tmp_path):
    run = run_with_separable_embeddings(tmp_path / "run")
    record = fit_heads(run, ["mlp"], params=FAST_HEAD_PARAMS, max_train=70, class_weight="balanced")["mlp"]
    assert record.n_train == 70 and record.max_train == 70 and record.class_weight == "balanced"


def test_fit_heads_with_search_records_the_search(tmp_path):
    run = run_with_separable_embeddings(tmp_path / "run")
    record = fit_heads(run, ["svm"], search=True, n_iter=2, cv=2)["svm"]
    assert record.search["n_iter"] == 2 and record.search["cv_inside"] == "train"
    assert len(record.search["candidates"]) == 2


def test_head_on_embeddings_of_another_checkpoint_warns_and_another_dimension_is_refused(tmp_path):
    run = run_with_separable_embeddings(tmp_path / "run")
    fit_heads(run, ["rf"], params=FAST_HEAD_PARAMS)
    head = load_fitted_head(run, "rf")
    head.record.embeddings_checkpoint_sha256 = "one"
    other = load_embeddings(run, "val")
    other.checkpoint_sha256 = "another"
    with pytest.warns(UserWarning, match="another checkpoint file"):
        result = head.score(other)
    assert result.protocol["head_checkpoint_mismatch"] is True
    with pytest.raises(ModelError, match="expects 16-d embeddings"):
        head.predict(other.embeddings[:, :8])


def test_missing_head_and_missing_train_embeddings_are_clear(tmp_path):
    run = run_with_separable_embeddings(tmp_path / "run", splits=("val",))
    with pytest.raises(ModelError, match="no fitted head 'svm'.*fer heads"):
        load_fitted_head(run, "svm")
    from fer_engine.errors import DataError

    with pytest.raises(DataError, match="no embeddings for split 'train'"):
        fit_heads(run, ["svm"])
    save_embeddings(separable_embeddings(3), run.embeddings_file("train"))
    with pytest.raises(ConfigError, match="unknown head"):
        fit_heads(run, ["svm", "nope"])
