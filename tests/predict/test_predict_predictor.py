"""Predictor on real photos with a tiny vgg19_bn_quarter checkpoint; heads, Grad-CAM, annotation, ONNX parity."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.errors import ConfigError, ModelError
from fer_engine.models import create_model
from fer_engine.models.checkpoint import ModelCard, save_checkpoint
from fer_engine.predict.annotate import LABEL_COLOURS, annotate, safe_output_name
from fer_engine.predict.predictor import Predictor, head_probabilities
from fer_engine.predict.saliency import grad_cam


def make_tiny_checkpoint(directory: Path, seed: int = 0) -> Path:
    """A randomly initialised vgg19_bn_quarter saved as a checkpoint folder (what a run writes)."""
    import torch

    torch.manual_seed(seed)
    model = create_model("vgg19_bn_quarter")
    save_checkpoint(model, ModelCard(arch="vgg19_bn_quarter", embedding_dim=model.embedding_dim), directory)
    return directory


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "checkpoint")


@pytest.fixture(scope="module")
def predictor(checkpoint: Path) -> Predictor:
    return Predictor.from_checkpoint(checkpoint)


def test_astronaut_gets_one_face_with_probabilities_summing_to_one(predictor: Predictor) -> None:
    result = predictor.predict_image(skimage.data.astronaut())
    assert result.error is None and len(result.faces) == 1
    face = result.faces[0]
    assert list(face.probabilities) == list(FER_CLASS_NAMES)
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.label == max(face.probabilities, key=face.probabilities.get)
    assert face.embedding.shape == (128,) and face.crop.shape == (48, 48)
    x, y, w, h = face.box
    assert 160 < x < 190 and 60 < y < 100 and 80 < w < 120


def test_exif_rotated_photo_gives_upright_box(predictor: Predictor, tmp_path: Path) -> None:
    upright = skimage.data.astronaut()[:, :400]
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(upright))).save(path, quality=95, exif=exif.tobytes())
    result = predictor.predict_image(path)
    assert (result.width, result.height) == (400, 512)
    reference = predictor.predict_image(upright).faces[0].box
    assert len(result.faces) == 1
    assert np.abs(np.subtract(result.faces[0].box, reference)).max() <= 4


def test_no_face_is_an_empty_list_and_bad_bytes_an_error(predictor: Predictor) -> None:
    empty = predictor.predict_image(skimage.data.coffee())
    assert empty.faces == [] and empty.error is None
    broken = predictor.predict_image(b"definitely not a picture")
    assert broken.faces == [] and "not an image" in broken.error
    assert broken.to_json() == {"image": "<24 bytes>", "faces": [], "skipped": 0, "error": broken.error}


def test_predict_faces_takes_crops_of_any_size_and_tta(checkpoint: Path) -> None:
    predictor = Predictor.from_checkpoint(checkpoint, tta="flip")
    crops = [skimage.data.astronaut()[64:180, 172:276], np.full((48, 48), 128, np.uint8), np.zeros((10, 12, 3), np.uint8)]
    faces = predictor.predict_faces(crops)
    assert len(faces) == 3 and faces[0].box == (0, 0, 104, 116)
    for face in faces:
        assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_default_checkpoint_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(tmp_path / "checkpoints" / "default"))
    with pytest.raises(ModelError, match="default model is not installed.*--checkpoint"):
        Predictor.from_checkpoint()


def test_unknown_head_tta_and_missing_heads(checkpoint: Path) -> None:
    with pytest.raises(ConfigError, match="unknown head"):
        Predictor.from_checkpoint(checkpoint, head="knn")
    with pytest.raises(ConfigError, match="unknown TTA"):
        Predictor.from_checkpoint(checkpoint, tta="sideways")
    with pytest.raises(ModelError, match="heads"):
        Predictor.from_checkpoint(checkpoint, head="svm")


def test_a_missing_heads_folder_names_the_run_of_the_checkpoint(tmp_path: Path) -> None:
    """A run's checkpoint folder points at the run (heads/ sits beside checkpoint/); a bare folder at itself."""
    from fer_engine.io_utils import atomic_write_json
    from fer_engine.predict.predictor import load_run_head
    from fer_engine.runs.layout import RunPaths

    run = RunPaths(tmp_path / "run")
    run.checkpoint_dir.mkdir(parents=True)
    atomic_write_json(run.config, {"arch": "vgg19_bn_quarter"})
    bare = tmp_path / "bare"
    bare.mkdir()
    for checkpoint_dir, named in ((run.checkpoint_dir, run.root), (bare, bare)):
        expected = f"'{named}' has no heads/ folder: fit heads with `fer heads {named}`"
        with pytest.raises(ModelError, match=re.escape(expected)):
            load_run_head(checkpoint_dir, "svm")


def test_classical_head_probabilities(checkpoint: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(60, 128)).astype(np.float32)
    labels = np.repeat([0, 3, 6], 20)  # a head that only ever saw three classes
    head = LogisticRegression(max_iter=200).fit(embeddings, labels)
    probabilities = head_probabilities(head, embeddings[:4], 7)
    assert probabilities.shape == (4, 7) and np.allclose(probabilities.sum(axis=1), 1)
    assert np.all(probabilities[:, [1, 2, 4, 5]] == 0)
    from fer_engine.models.checkpoint import load_checkpoint

    model, card = load_checkpoint(checkpoint)
    predictor = Predictor(model, card, head="logreg", head_estimator=head)
    face = predictor.predict_image(skimage.data.astronaut()).faces[0]
    assert face.label in ("angry", "happy", "neutral")


def test_grad_cam_heatmap_and_overlay(predictor: Predictor) -> None:
    face = predictor.predict_image(skimage.data.astronaut()).faces[0]
    saliency = grad_cam(predictor.model, face.crop, overlay_size=96)
    assert saliency.heatmap.shape == (48, 48) and saliency.heatmap.dtype == np.float32
    assert 0.0 <= saliency.heatmap.min() and saliency.heatmap.max() <= 1.0
    assert saliency.overlay.shape == (96, 96, 3) and saliency.overlay.dtype == np.uint8
    assert saliency.class_index == FER_CLASS_NAMES.index(face.label)


def test_annotation_draws_the_box_in_the_label_colour(predictor: Predictor) -> None:
    photo = skimage.data.astronaut()
    result = predictor.predict_image(photo)
    drawn = np.asarray(annotate(photo, result))
    assert drawn.shape == photo.shape and np.array_equal(photo, skimage.data.astronaut())  # the input is untouched
    x, y, w, h = result.faces[0].box
    assert tuple(drawn[y + h // 2, x]) == LABEL_COLOURS[result.faces[0].label]


def test_safe_output_names_are_sanitised_and_unique() -> None:
    taken: set[str] = set()
    first = safe_output_name("../../etc/pass wd?.jpg", ".png", taken)
    second = safe_output_name("other/pass wd?.jpg", ".png", taken)
    assert first == "pass_wd.png" and second == "pass_wd_2.png"
    assert safe_output_name("...", ".png", taken) == "image.png"


def test_onnx_export_matches_pytorch(checkpoint: Path, tmp_path: Path) -> None:
    from fer_engine.data.synthetic import synthetic_images
    from fer_engine.models.checkpoint import load_checkpoint
    from fer_engine.predict.onnx_export import export_onnx, onnx_parity, onnx_probabilities

    model, card = load_checkpoint(checkpoint)
    path = export_onnx(model, card, tmp_path / "model.onnx")
    faces = synthetic_images(3, seed=2)[0][:, None].astype(np.float32) / 255.0  # 21 FER-like faces
    difference = onnx_parity(model, path, faces)
    assert difference < 1e-4, f"ONNX Runtime differs from PyTorch by {difference:.2e}"
    single = onnx_probabilities(path, faces[:1])  # dynamic batch: 1 works as well as 21
    assert single.shape == (1, 7) and np.allclose(single.sum(axis=1), 1, atol=1e-5)
    import onnx

    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert metadata["class_names"].split(",") == list(FER_CLASS_NAMES)


def test_fitted_head_from_the_run_folder(tmp_path: Path) -> None:
    """A run with checkpoint/ and heads/rf.skops + rf.json (as `fer heads` writes them) predicts with --head rf."""
    import json

    from sklearn.ensemble import RandomForestClassifier

    from fer_engine.heads.persistence import save_estimator

    run = tmp_path / "run"
    make_tiny_checkpoint(run / "checkpoint")
    rng = np.random.default_rng(1)
    head = RandomForestClassifier(n_estimators=5, random_state=0).fit(rng.normal(size=(70, 128)), np.repeat(np.arange(7), 10))
    save_estimator(head, run / "heads" / "rf.skops")
    record = {"name": "rf", "title": "Random forest", "file": "rf.skops", "storage": "skops", "fitted_on_split": "train",
              "n_train": 70, "n_features": 128, "fit_seconds": 0.1, "training_accuracy": 1.0}
    (run / "heads" / "rf.json").write_text(json.dumps(record))
    predictor = Predictor.from_checkpoint(run, head="rf")
    face = predictor.predict_image(skimage.data.astronaut()).faces[0]
    assert sum(face.probabilities.values()) == pytest.approx(1.0)
    expected = head.predict_proba(face.embedding[None])[0]
    assert np.allclose(list(face.probabilities.values()), expected)
    with pytest.raises(ModelError, match="no fitted head 'svm'"):
        Predictor.from_checkpoint(run, head="svm")


def test_precision_fp32_reproduces_evaluation_and_bf16_stays_close(checkpoint: Path) -> None:
    """fp32 gives exactly `run_inference`'s probabilities (what `fer evaluate` reports); bf16 is close to it."""
    from fer_engine.data.synthetic import synthetic_images
    from fer_engine.inference import run_inference

    faces = synthetic_images(6, seed=3)[0]
    fp32 = Predictor.from_checkpoint(checkpoint, precision="fp32")
    assert fp32.precision == "fp32"
    probabilities, _ = fp32.classify(faces)
    logits = run_inference(fp32.model, faces, precision="fp32").logits
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
    bf16 = Predictor.from_checkpoint(checkpoint, precision="bf16")
    assert np.abs(bf16.classify(faces)[0] - probabilities).max() < 0.05
    assert Predictor.from_checkpoint(checkpoint).precision in ("bf16", "fp32")  # auto: bf16 only on fast-bf16 CPUs
    with pytest.raises(ConfigError, match="precision"):
        Predictor.from_checkpoint(checkpoint, precision="int8")
