"""The photo pipeline's fast paths give the answers of the plain ones (issue 14, ten faces < 100 ms).

The face check scores every box of a photo in one batched LiteRT call; the pyramid detector confirms
boxes across scales with one IoU matrix and writes straight into LiteRT's input buffer; bf16
classification runs a copy of the model with weights cast once, in channels_last; complete colour JPEGs
are decoded by OpenCV.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image, ImageOps

from fer_engine.errors import DataError
from fer_engine.inference import run_inference
from fer_engine.predict import image_io
from fer_engine.predict.detectors import FaceBox
from fer_engine.predict.detectors.blazeface_pyramid import (
    CONFIRM_MAX_SIDE,
    SIZE_MULTIPLE,
    BlazeFacePyramidDetector,
    confirmed,
)
from fer_engine.predict.detectors.presence import MAX_BATCH, FacePresenceModel
from fer_engine.predict.image_io import opencv_jpeg, read_rgb
from fer_engine.predict.inference_copy import bf16_inference_copy
from fer_engine.predict.predictor import Predictor
from tests.predict.test_predict_predictor import make_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "checkpoint", seed=3)


def test_batched_face_check_gives_the_one_by_one_scores() -> None:
    photo = skimage.data.astronaut()
    rng = np.random.default_rng(0)
    boxes = [FaceBox(172.0, 64.0, 104.0, 116.0)]  # the face, then faceless boxes of all sizes, some off the border
    boxes += [FaceBox(float(x), float(y), float(side), float(side)) for x, y, side in
              zip(rng.uniform(-50, 450, MAX_BATCH + 3), rng.uniform(-50, 450, MAX_BATCH + 3), rng.uniform(20, 300, MAX_BATCH + 3))]
    model = FacePresenceModel()
    batched = model.scores(photo, boxes)  # MAX_BATCH + 4 boxes: two LiteRT calls
    one_by_one = [model.score(photo, box) for box in boxes]
    assert len(batched) == len(boxes)
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    assert batched[0] > 0.9 and max(batched[1:]) < 0.5  # and the scores still mean what they say
    assert model.scores(photo, []) == []


def test_confirmation_matrix_matches_pairwise_iou() -> None:
    rng = np.random.default_rng(1)

    def random_boxes(count: int) -> list[FaceBox]:
        return [FaceBox(*map(float, rng.uniform(0, 400, 2)), *map(float, rng.uniform(5, 150, 2))) for _ in range(count)]

    for _ in range(20):
        boxes, finer, scale = random_boxes(int(rng.integers(0, 30))), random_boxes(int(rng.integers(0, 30))), float(rng.uniform(0.5, 3))
        expected = [max(b.w, b.h) * scale > CONFIRM_MAX_SIDE or any(b.iou(f) >= 0.3 for f in finer) for b in boxes]
        assert confirmed(boxes, finer, scale).tolist() == expected


def padded_inputs(detector: BlazeFacePyramidDetector, height: int, width: int) -> list[tuple[int, int]]:
    """The LiteRT input shape of each pyramid pass (sizes rounded as the detector does, padded to 32)."""
    return [(-(-round(height * s) // SIZE_MULTIPLE) * SIZE_MULTIPLE, -(-round(width * s) // SIZE_MULTIPLE) * SIZE_MULTIPLE)
            for s in detector.scales(height, width)]


def test_reused_input_buffer_leaves_no_trace_of_the_previous_photo() -> None:
    """Two photos padded to the same input shapes: the second one's faces must not depend on the first."""
    big = np.full((640, 960, 3), 250, np.uint8)  # bright up to its edges, past where the smaller photo ends
    small = np.full((620, 930, 3), 128, np.uint8)
    small[300:530, 500:730] = skimage.data.astronaut()[20:250, 120:350]
    detector = BlazeFacePyramidDetector()
    assert padded_inputs(detector, 640, 960) == padded_inputs(detector, 620, 930)  # so one interpreter serves both
    detector.detect(big)
    after_big = detector.detect(small)
    fresh = BlazeFacePyramidDetector().detect(small)
    assert len(fresh) == 1
    assert [(b.x, b.y, b.w, b.h, b.score) for b in after_big] == [(b.x, b.y, b.w, b.h, b.score) for b in fresh]


def test_bf16_copy_reproduces_autocast_and_leaves_the_model_alone(checkpoint: Path) -> None:
    predictor = Predictor.from_checkpoint(checkpoint, precision="bf16")
    faces = np.random.default_rng(2).integers(0, 256, (12, 48, 48), dtype=np.uint8)
    autocast = run_inference(predictor.model, faces, precision="bf16")
    same_layout = run_inference(bf16_inference_copy(predictor.model, channels_last=False), faces, precision="bf16")
    np.testing.assert_array_equal(same_layout.logits, autocast.logits)  # weights cast once = cast every call
    np.testing.assert_array_equal(same_layout.embeddings, autocast.embeddings)
    probabilities, embeddings = predictor.classify(faces)  # what photos get: the copy, channels_last
    np.testing.assert_allclose(probabilities, autocast.probabilities, atol=5e-3)
    np.testing.assert_allclose(embeddings, autocast.embeddings, atol=5e-2, rtol=5e-2)
    assert all(p.dtype == torch.float32 for p in predictor.model.parameters())  # saliency and fp32 still use it


def test_fp32_predictions_are_the_loaded_model_exactly(checkpoint: Path) -> None:
    predictor = Predictor.from_checkpoint(checkpoint, precision="fp32")
    faces = np.random.default_rng(4).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    probabilities, embeddings = predictor.classify(faces)
    reference = run_inference(predictor.model, faces, precision="fp32")
    np.testing.assert_array_equal(probabilities, reference.probabilities.astype(np.float64))
    np.testing.assert_array_equal(embeddings, reference.embeddings)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_fast_decode_gives_pillows_upright_pixels(orientation: int, monkeypatch: pytest.MonkeyPatch) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()[:, :400]).save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    data = buffer.getvalue()
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    np.testing.assert_array_equal(opencv_jpeg(data, (400, 512), orientation), expected)
    decoded = []
    monkeypatch.setattr(image_io, "opencv_jpeg", lambda *args: decoded.append(opencv_jpeg(*args)) or decoded[-1])
    np.testing.assert_array_equal(read_rgb(data), expected)
    assert len(decoded) == 1 and decoded[0] is not None  # read_rgb took the fast path


def test_truncated_jpeg_still_gets_pillows_error() -> None:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, "JPEG")
    cut = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    assert opencv_jpeg(cut, (512, 512)) is None
    with pytest.raises(DataError, match="truncated"):
        read_rgb(cut, name="cut.jpg")
