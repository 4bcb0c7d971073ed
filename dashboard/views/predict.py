"""Predict: upload photos (or take one with the camera); every face is boxed, numbered, labelled and explained.

Public mode (`app_mode() == 'public'`) serves only the shipped model; neither mode needs the runs index
to serve it (a damaged index leaves the shipped model, with a note). One bad photo is one error beside
its name; the others are still classified.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard.components import cached
from dashboard.components.auth import app_mode
from dashboard.components.charts import probability_bars
from dashboard.components.engine import show_error
from dashboard.components.runs import SHIPPED_LABEL, RunChoice, has_checkpoint, path_mtime, pick_run, run_choices
from dashboard.components.settings import MAX_PHOTO_MB, PHOTO_TYPES, default_run_dir
from dashboard.components.uploads import sanitize_filename, upload_bytes
from fer_engine.errors import FerError
from fer_engine.heads import fitting as heads_fitting
from fer_engine.inference import TTA_MODES
from fer_engine.predict import HEAD_CHOICES, annotate, detectors, saliency
from fer_engine.predict.framing import crop_face_rgb
from fer_engine.predict.predictor import DEFAULT_MIN_FACE_SCORE, ImagePrediction
from fer_engine.runs.layout import RunPaths

# (Comments, not docstrings: Streamlit's "magic" would print a bare string literal on the page.)
MAX_PHOTO_PIXELS = 40_000_000  # largest photo decoded here (~120 MB as RGB): a small upload can declare a huge canvas
GRID_COLUMNS = 4  # per-face panels per row when a photo has more than two faces
PANEL_CROP_PX = 112  # side of a face crop in its panel: the expression reads, and a crowd still fits

st.title("Predict")
st.caption(
    "Upload one or more photos, or take one with the camera: each face gets an expression and its probabilities."
)


@dataclass
class PhotoInput:
    """One photo to classify: a display name and its bytes."""

    name: str
    data: bytes


def model_choices() -> tuple[list[RunChoice], str | None]:
    """Models offered here, and a note when the runs index could not be read.

    The shipped model is built from its folder alone (no index); public mode offers nothing else.
    """
    shipped = RunPaths(default_run_dir())
    only_shipped = [RunChoice(SHIPPED_LABEL, None, shipped)] if has_checkpoint(shipped) else []
    if app_mode() == "public":
        return only_shipped, None
    try:
        return run_choices(keep=has_checkpoint), None
    except (FerError, sqlite3.Error, OSError) as exc:
        return only_shipped, (
            f"The runs index cannot be read ({type(exc).__name__}), so only the shipped model is "
            "offered. Rebuild the index with `fer runs reindex`."
        )


def uploaded_photos() -> tuple[list[PhotoInput], list[str]]:
    """The uploaded photos and the camera shot, each checked for size before its bytes are used."""
    photos: list[PhotoInput] = []
    problems: list[str] = []
    uploaded = st.file_uploader(
        f"Photos ({', '.join(PHOTO_TYPES)}; up to {MAX_PHOTO_MB} MB each)",
        type=PHOTO_TYPES,
        accept_multiple_files=True,
        max_upload_size=MAX_PHOTO_MB,
        key="predict-upload",
    )
    for item in uploaded or []:
        name = sanitize_filename(item.name)
        size = getattr(item, "size", None)
        if size is not None and size > MAX_PHOTO_MB * 1024 * 1024:  # the browser's limit is not a server-side check
            problems.append(f"'{name}' is {size / 2**20:.1f} MB; the limit here is {MAX_PHOTO_MB:g} MB")
            continue
        try:
            photos.append(PhotoInput(name, upload_bytes(item, MAX_PHOTO_MB)))
        except FerError as exc:
            problems.append(str(exc))
    if st.toggle("use the camera", value=False, key="predict-camera-on"):
        shot = st.camera_input("Take a photo", key="predict-camera")
        if shot is not None:
            try:
                photos.append(PhotoInput("camera.jpg", upload_bytes(shot, MAX_PHOTO_MB)))
            except FerError as exc:
                problems.append(str(exc))
    return photos, problems


def face_picture(rgb: np.ndarray, face, predictor, explain: bool) -> np.ndarray:
    """The face as shown in its panel: the photo's crop around the box, or its Grad-CAM overlay."""
    if explain and face.crop is not None:
        return saliency.grad_cam(
            predictor.model, face.crop, class_index=predictor.class_names.index(face.label)
        ).overlay
    if face.detection is None:
        return face.crop
    return crop_face_rgb(rgb, face.detection)


def face_panel(number: int, face, picture: np.ndarray, chart_key: str) -> None:
    """One face: its crop, number, label, scores and probability bars (inside the current column)."""
    st.image(picture, width=PANEL_CROP_PX)
    st.markdown(f"**{number}. {face.label}** {face.probabilities[face.label]:.0%}")
    st.caption(f"face {face.face_score:.2f} · detector {face.detector_score:.2f}")
    chart = probability_bars(list(face.probabilities.values()), list(face.probabilities))
    chart.update_layout(height=200)
    st.plotly_chart(chart, key=chart_key)


def show_prediction(
    photo_index: int, photo: PhotoInput, prediction: ImagePrediction, rgb: np.ndarray, predictor, explain: bool
) -> None:
    """A photo's result: the numbered annotated photo, then one panel per face in reading order."""
    if prediction.skipped:
        st.caption(
            f"{prediction.skipped} detected box(es) scored below the minimum face score and were not classified."
        )
    if not prediction.faces:
        st.info(f"No face found in {photo.name}. Try a photo where the face is larger, frontal and well lit.")
        st.image(rgb, width=360)
        return
    faces = prediction.faces
    caption = f"{len(faces)} face(s), numbered in reading order"
    with st.spinner("Grad-CAM..." if explain else "Drawing..."):
        pictures = [face_picture(rgb, face, predictor, explain) for face in faces]
    if len(faces) <= 2:
        image_column, faces_column = st.columns([3, 2], gap="large")
        image_column.image(annotate.annotate(rgb, prediction), caption=caption, width="stretch")
        with faces_column:
            for index, face in enumerate(faces):
                face_panel(index + 1, face, pictures[index], f"probabilities-{photo_index}-{index}")
        return
    st.image(annotate.annotate(rgb, prediction), caption=caption, width="stretch")
    for start in range(0, len(faces), GRID_COLUMNS):
        for offset, column in enumerate(st.columns(GRID_COLUMNS)):
            index = start + offset
            if index < len(faces):
                with column:
                    face_panel(index + 1, faces[index], pictures[index], f"probabilities-{photo_index}-{index}")


choices, index_note = model_choices()
if index_note:
    st.warning(index_note)
if not choices:
    st.info(
        "No model yet: the shipped model is missing and no run has a checkpoint. Train one on the Train page, "
        "or set FER_DEFAULT_CHECKPOINT to a run folder."
    )
    st.stop()

with st.sidebar:
    st.subheader("Model")
    if len(choices) == 1:
        choice = choices[0]
        st.caption(f"Model: {choice.label}")
    else:
        choice = pick_run("model", choices, key="predict-model")
    head_options = ["softmax"]
    head_options += [name for name in heads_fitting.fitted_head_names(choice.paths) if name in HEAD_CHOICES]
    head = st.selectbox(
        "head",
        head_options,
        key="predict-head",
        help="softmax = the network's own classifier; the others are heads fitted on its embeddings",
    )
    descriptions = detectors.describe_detectors()
    detector_names = list(descriptions)
    detector = st.selectbox(
        "face detector",
        detector_names,
        index=detector_names.index(detectors.DEFAULT_DETECTOR),
        key="predict-detector",
        help="\n\n".join(f"**{k}**: {v}" for k, v in descriptions.items()),
    )
    min_face_score = st.slider(
        "minimum face score",
        0.0,
        1.0,
        DEFAULT_MIN_FACE_SCORE,
        0.05,
        key="predict-min-face-score",
        help="probability that a detected box is a face (MediaPipe's face-landmark check); "
        "boxes below it are not classified",
    )
    tta = st.selectbox("test-time augmentation", TTA_MODES, key="predict-tta")
    show_saliency = st.toggle(
        "saliency overlay (Grad-CAM)",
        value=False,
        key="predict-saliency",
        help="where the network looked for its answer (the backbone's class, even with a head)",
    )

photos, problems = uploaded_photos()
for problem in problems:
    st.error(problem)
if not photos:
    st.info("Upload a photo with one or more faces to start.")
    st.stop()

try:
    with st.spinner("Loading the model..."):
        predictor = cached.load_predictor(
            str(choice.paths.root), head, detector, tta, path_mtime(choice.paths.weights_file)
        )
except FerError as exc:
    show_error(exc, "Loading the model")
    st.stop()

for photo_index, photo in enumerate(photos):
    st.subheader(photo.name)
    with st.spinner(f"Finding and classifying faces in {photo.name}..."):
        prediction, rgb = predictor.predict_source(
            photo.data, name=photo.name, min_face_score=min_face_score, max_pixels=MAX_PHOTO_PIXELS
        )
    if prediction.error or rgb is None:
        st.error(f"{photo.name}: {prediction.error}")
        continue
    show_prediction(photo_index, photo, prediction, rgb, predictor, show_saliency)
