"""`fer evaluate` on labelled face sets other than FER2013: whole set by default, aliases, photo path, saved result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_engine.cli.main import main  # noqa: E402
from fer_engine.data.synthetic import write_class_folder, write_fer_csv  # noqa: E402
from fer_engine.evaluation.stored import run_evaluations  # noqa: E402
from fer_engine.predict.predictor import Predictor  # noqa: E402
from support.builders import run_with_checkpoint

CK_LIKE = {"Anger": 0, "contempt": 1, "happiness": 3, "sadness": 4, "surprised": 5}  # no neutral, one extra class


@pytest.fixture
def run(tmp_path: Path):
    return run_with_checkpoint(tmp_path / "runs" / "demo-run")


def test_a_class_folder_set_is_scored_whole_with_its_classes_mapped(run, tmp_path: Path, capsys) -> None:
    source = write_class_folder(tmp_path / "ck_like", CK_LIKE, 5, as_zip=True)
    assert main(["evaluate", "--checkpoint", str(run.root), "--data", str(source), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "split all" in out and "n=20" in out  # every image of the 4 mapped classes: nothing drawn aside
    assert "Anger -> angry" in out and "happiness -> happy" in out and "contempt -> skipped" in out
    assert "skipped 5 images of classes the model lacks (contempt 5)" in out
    assert "absent from the data: disgust, fear, neutral (macro averages over the 4 classes present)" in out
    saved = Path(out.strip().splitlines()[-1].removeprefix("saved "))
    assert saved.parent == run.reports_dir and saved.name.startswith("evaluation_ck-like-")
    stored = run_evaluations(run, saved.stem.removeprefix("evaluation_").rsplit("_", 1)[0])["softmax"]
    assert stored.n == 20 and stored.protocol["skipped_classes"] == {"contempt": 5}
    assert f"accuracy {stored.accuracy * 100:.2f}%" in out


def test_fer2013_keeps_its_splits_and_asks_which_one(run, tmp_path: Path, capsys) -> None:
    csv = write_fer_csv(tmp_path / "fer.csv", {"train": 4, "val": 2, "test": 2})
    assert main(["evaluate", "--checkpoint", str(run.root), "--data", str(csv)]) == 2
    err = capsys.readouterr().err
    assert "has the splits train, val, test: choose one with --split" in err and "Traceback" not in err
    assert main(["evaluate", "--checkpoint", str(run.root), "--data", str(csv), "--split", "all", "--json",
                 "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 56 and result["protocol"]["dataset_split"] == "all" and Path(result["saved_to"]).exists()
    assert main(["evaluate", "--checkpoint", str(run.root), "--data", str(csv), "--split", "val", "--json",
                 "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 14 and result["split"] == "val" and "saved_to" not in result  # FER2013's own split


def test_through_the_photo_path_faces_are_detected_and_misses_counted(run, tmp_path: Path, capsys) -> None:
    source = tmp_path / "photos"
    (source / "happy").mkdir(parents=True)
    (source / "sad").mkdir()
    Image.fromarray(skimage.data.astronaut()).save(source / "happy" / "astronaut.png")
    Image.fromarray(np.full((240, 320, 3), 128, np.uint8)).save(source / "sad" / "grey_wall.png")
    assert main(["evaluate", "--checkpoint", str(run.root), "--data", str(source), "--through-photo-path",
                 "--json", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    photo = result["protocol"]["photo_path"]
    assert result["n"] == 2 and photo["no_face"] == 1 and photo["no_face_by_class"] == {"sad": 1}
    assert result["split"].endswith("-all-photo") and result["protocol"]["detector"]
    # The astronaut is scored with the label `fer predict` gives her; the grey wall is a miss of 'sad'.
    label = Predictor.from_checkpoint(run.root, device="cpu").predict_image(skimage.data.astronaut()).faces[0].label
    assert result["per_class"]["sad"]["recall"] == 0.0
    assert result["accuracy"] == (0.5 if label == "happy" else 0.0)
    assert sum(map(sum, result["confusion_matrix"])) == 1
