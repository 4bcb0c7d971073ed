"""Scoring other datasets: class mapping, macro averages over the classes present, no-face misses, storage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_engine.classes import FER_CLASS_NAMES  # noqa: E402
from fer_engine.data.loader import load_dataset  # noqa: E402
from fer_engine.data.synthetic import write_class_folder  # noqa: E402
from fer_engine.errors import DataError  # noqa: E402
from fer_engine.evaluation.cross_dataset import (  # noqa: E402
    NO_FACE,
    dataset_evaluation_keys,
    evaluate_on_dataset,
    present_class_metrics,
    scoring_set,
)
from fer_engine.evaluation.stored import run_evaluations  # noqa: E402
from fer_engine.predict.predictor import Predictor  # noqa: E402
from support.builders import run_with_checkpoint

NAMES = list(FER_CLASS_NAMES)
ANGRY, HAPPY, SAD, NEUTRAL = (NAMES.index(name) for name in ("angry", "happy", "sad", "neutral"))


def test_macro_averages_cover_only_the_classes_present() -> None:
    # angry: 1 of 2 right (P 1, R .5, F1 2/3); happy: 2 of 2 right (F1 1). The missed angry image is predicted
    # neutral, a class the data lacks: it costs angry its recall but neutral's zero F1 is not averaged in.
    y_true = np.array([ANGRY, ANGRY, HAPPY, HAPPY])
    y_pred = np.array([ANGRY, NEUTRAL, HAPPY, HAPPY])
    metrics = present_class_metrics(y_true, y_pred, NAMES, split="x-all", head="softmax", protocol={})
    assert metrics.macro_recall == pytest.approx((0.5 + 1.0) / 2)
    assert metrics.macro_f1 == pytest.approx((2 / 3 + 1.0) / 2)
    assert metrics.accuracy == pytest.approx(3 / 4)
    assert metrics.protocol["macro_over"] == ["angry", "happy"]
    assert "neutral" in metrics.protocol["classes_absent"] and len(metrics.protocol["classes_absent"]) == 5
    assert len(metrics.confusion_matrix) == 7 and metrics.confusion_matrix[ANGRY][NEUTRAL] == 1


def test_an_image_without_a_face_is_a_miss_of_its_class_and_no_class_gains() -> None:
    y_true = np.array([SAD, SAD, HAPPY])
    y_pred = np.array([SAD, NO_FACE, HAPPY])
    metrics = present_class_metrics(y_true, y_pred, NAMES, split="x", head="softmax", protocol={})
    assert metrics.accuracy == pytest.approx(2 / 3)
    assert metrics.per_class["sad"]["recall"] == pytest.approx(0.5) and metrics.per_class["sad"]["precision"] == 1.0
    assert sum(map(sum, metrics.confusion_matrix)) == 2  # the no-face image is in no cell


def test_classes_are_mapped_through_aliases_and_unknown_ones_skipped(tmp_path: Path) -> None:
    source = write_class_folder(tmp_path / "ck", {"Anger": ANGRY, "contempt": 1, "happiness": HAPPY}, 3)
    dataset = load_dataset(source, val_fraction=0.0)
    scoring = scoring_set(dataset, "all", NAMES)
    assert scoring.mapping == {"Anger": "angry", "contempt": None, "happiness": "happy"}
    assert scoring.skipped_classes == {"contempt": 3} and len(scoring.labels) == 6
    by_folder = {key.split("/")[0]: label for key, label in zip(scoring.keys.tolist(), scoring.labels.tolist())}
    assert by_folder == {"Anger": ANGRY, "happiness": HAPPY}


def test_a_set_sharing_no_class_with_the_model_is_a_clear_error(tmp_path: Path) -> None:
    dataset = load_dataset(write_class_folder(tmp_path / "odd", {"contempt": 0, "calm": 1}, 2), val_fraction=0.0)
    with pytest.raises(DataError, match="none of the classes .*calm, contempt.* match the model's classes"):
        scoring_set(dataset, "all", NAMES)


def test_an_evaluation_is_stored_beside_the_run_s_fer2013_ones(tmp_path: Path) -> None:
    run = run_with_checkpoint(tmp_path / "run")
    source = write_class_folder(tmp_path / "My Faces", {"anger": ANGRY, "sadness": SAD, "happy": HAPPY}, 4, as_zip=True)
    dataset = load_dataset(source, val_fraction=0.0)
    result = evaluate_on_dataset(run.root, dataset, device="cpu")
    key = f"my-faces-{dataset.fingerprint[:8]}-all"
    assert result.key == key and result.path == run.evaluation_file(key, "softmax") and result.path.exists()
    assert dataset_evaluation_keys(run) == [key]
    stored = run_evaluations(run, key)["softmax"]
    assert stored.n == 12 and stored.confusion_matrix == result.metrics.confusion_matrix
    assert stored.protocol["dataset_fingerprint"] == dataset.fingerprint and stored.protocol["input"] == "face crops"
    # The crops are scored exactly as the predictor classifies them, against the aliased labels.
    predictor = Predictor.from_checkpoint(run.root, device="cpu")
    predicted = np.argmax(predictor.classify(dataset.split("train").images)[0], axis=1)
    truth = [NAMES.index({"anger": "angry", "sadness": "sad", "happy": "happy"}[key.split("/")[0]])
             for key in dataset.split("train").keys.tolist()]
    assert stored.accuracy == pytest.approx(float(np.mean(predicted == np.array(truth))))


def test_the_photo_path_crops_are_those_fer_predict_classifies(tmp_path: Path) -> None:
    import skimage.data

    from fer_engine.evaluation.cross_dataset import largest_face_crop, predict_crops

    run = run_with_checkpoint(tmp_path / "run")
    predictor = Predictor.from_checkpoint(run.root, device="cpu", precision="fp32")
    photo = skimage.data.astronaut()
    crop, found = largest_face_crop(predictor, photo)
    expected = predictor.predict_rgb(photo).faces
    assert found == len(expected) == 1
    assert np.array_equal(crop, expected[0].crop)
    assert NAMES[predict_crops(predictor, crop[None])[0]] == expected[0].label
    assert largest_face_crop(predictor, np.full((200, 300, 3), 128, np.uint8)) == (None, 0)
