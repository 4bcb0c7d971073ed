"""Predict: upload photos (or take one with the camera); every face is boxed, labelled and explained."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.components import cached
from dashboard.components.charts import probability_bars
from dashboard.components.engine import show_error
from dashboard.components.runs import has_checkpoint, path_mtime, pick_run, run_choices
from dashboard.components.settings import MAX_PHOTO_MB, PHOTO_TYPES
from dashboard.components.uploads import sanitize_filename, upload_bytes
from fer_engine.errors import FerError
from fer_engine.inference import TTA_MODES

st.title("Predict")
st.caption("Upload one or more photos, or take one with the camera: each face gets an expression and its probabilities.")

import fer_engine.predict.predictor as predictor_module
from fer_engine.heads import fitting as heads_fitting
from fer_engine.predict import HEAD_CHOICES, detectors, image_io

choices = run_choices(keep=has_checkpoint)
if not choices:
    st.info("No model yet: the shipped model is missing and no run has a checkpoint. Train one on the Train page, "
            "or set FER_DEFAULT_CHECKPOINT to a run folder.")
    st.stop()


@dataclass
class PhotoInput:
    """One photo to classify: a display name and its bytes."""

    name: str
    data: bytes


with st.sidebar:
    st.subheader("Model")
    choice = pick_run("model", choices, key="predict-model")
    head_options = ["softmax"]
    head_options += [name for name in heads_fitting.fitted_head_names(choice.paths) if name in HEAD_CHOICES]
    head = st.selectbox("head", head_options, key="predict-head",
                        help="softmax = the network's own classifier; the others are heads fitted on its embeddings")
    descriptions = detectors.describe_detectors()
    detector_names = list(descriptions)
    detector = st.selectbox("face detector", detector_names, index=detector_names.index(detectors.DEFAULT_DETECTOR),
                            key="predict-detector", help="\n\n".join(f"**{k}**: {v}" for k, v in descriptions.items()))
    tta = st.selectbox("test-time augmentation", TTA_MODES, key="predict-tta")
    show_saliency = st.toggle("saliency overlay (Grad-CAM)", value=False, key="predict-saliency",
                              help="where the network looked for its answer (the backbone's class, even with a head)")

uploaded = st.file_uploader(f"Photos ({', '.join(PHOTO_TYPES)}; up to {MAX_PHOTO_MB} MB each)", type=PHOTO_TYPES,
                            accept_multiple_files=True, max_upload_size=MAX_PHOTO_MB, key="predict-upload")
photos: list[PhotoInput] = []
problems: list[str] = []
for item in uploaded or []:
    try:
        photos.append(PhotoInput(sanitize_filename(item.name), upload_bytes(item, MAX_PHOTO_MB)))
    except FerError as exc:
        problems.append(str(exc))
if st.toggle("use the camera", value=False, key="predict-camera-on"):
    shot = st.camera_input("Take a photo", key="predict-camera")
    if shot is not None:
        photos.append(PhotoInput("camera.jpg", shot.getvalue()))
for problem in problems:
    st.error(problem)
if not photos:
    st.info("Upload a photo with one or more faces to start.")
    st.stop()

run_dir = choice.paths.root
try:
    with st.spinner("Loading the model..."):
        predictor = cached.load_predictor(str(run_dir), head, detector, tta,
                                          path_mtime(choice.paths.checkpoint_dir / "model.safetensors"))
except FerError as exc:
    show_error(exc, "Loading the model")
    st.stop()

from fer_engine.predict import (
    annotate,
    saliency,
)

gallery = []
for photo_index, photo in enumerate(photos):
    st.subheader(photo.name)
    try:
        rgb = image_io.read_rgb(photo.data)
        with st.spinner(f"Finding and classifying faces in {photo.name}..."):
            prediction = predictor.predict_rgb(rgb, photo.name)
    except FerError as exc:
        show_error(exc, photo.name)
        continue
    if prediction.error:
        st.error(f"{photo.name}: {prediction.error}")
        continue
    if not prediction.faces:
        st.info(f"No face found in {photo.name}. Try a photo where the face is larger, frontal and well lit.")
        st.image(rgb, width=360)
        continue
    image_column, faces_column = st.columns([3, 2], gap="large")
    image_column.image(annotate.annotate(rgb, prediction), caption=f"{len(prediction.faces)} face(s)", width="stretch")
    with faces_column:
        for index, face in enumerate(prediction.faces):
            crop_column, chart_column = st.columns([1, 2])
            picture = face.crop
            if show_saliency and face.crop is not None:
                with st.spinner("Grad-CAM..."):
                    picture = saliency.grad_cam(predictor.model, face.crop,
                                                class_index=predictor.class_names.index(face.label)).overlay
            if picture is not None:
                crop_column.image(picture, width=120)
                gallery.append((picture, f"{photo.name} #{index + 1}: {face.label}"))
            crop_column.markdown(f"**{face.label}** {face.probabilities[face.label]:.0%}")
            chart_column.plotly_chart(probability_bars(list(face.probabilities.values()), list(face.probabilities)),
                                      key=f"probabilities-{photo_index}-{index}")

if len(gallery) > 1:
    st.divider()
    st.subheader("All faces")
    columns = st.columns(min(6, len(gallery)))
    for index, (picture, caption) in enumerate(gallery):
        columns[index % len(columns)].image(picture, caption=caption, width="stretch")
