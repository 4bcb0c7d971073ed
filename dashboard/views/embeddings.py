"""Embeddings: a 2-D map (UMAP, PCA or t-SNE) of a run's GAP embeddings; click a point to see its face."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard.components import cached
from dashboard.components.engine import show_error
from dashboard.components.projection import PROJECTION_METHODS, cached_projection
from dashboard.components.runs import path_mtime, pick_run, run_choices
from dashboard.components.settings import data_path
from fer_engine.embeddings.projection import sample_rows
from fer_engine.errors import FerError

st.title("Embeddings")

import fer_engine.embeddings as embeddings_api
from fer_engine.metric_learning import quality

choices = run_choices(keep=lambda run: bool(embeddings_api.available_embedding_splits(run)))
if not choices:
    st.info("No run with stored embeddings yet: run `fer embed <run>` (or the pipeline's embed step) first.")
    st.stop()

controls = st.columns([3, 1, 1, 1])
with controls[0]:
    choice = pick_run("run", choices, key="embedding-run")
run = choice.paths
splits = embeddings_api.available_embedding_splits(run)
split = controls[1].selectbox("split", splits, index=splits.index("val") if "val" in splits else 0, key="embedding-split")
wanted_method = st.query_params.get("projection")
method = controls[2].selectbox("method", PROJECTION_METHODS, key="embedding-method",
                               index=PROJECTION_METHODS.index(wanted_method) if wanted_method in PROJECTION_METHODS else 0,
                               help="UMAP (default) keeps local neighbourhoods; its first use compiles numba code "
                                    "(tens of seconds). PCA is instant; t-SNE is slow on many points.")
st.query_params["projection"] = method
colour_by = controls[3].radio("colour by", ["true class", "predicted class"], key="embedding-colour")

with st.expander("projection settings"):
    settings = st.columns(4)
    max_points = settings[0].number_input("max points (seeded sample)", 100, 40_000, 4_000, step=500, key="embedding-max")
    if method == "UMAP":
        params = (("neighbors", settings[1].slider("neighbours", 2, 100, 15, key="umap-neighbors")),
                  ("min_dist", settings[2].slider("min distance", 0.0, 0.99, 0.1, key="umap-min-dist")))
    elif method == "t-SNE":
        params = (("perplexity", settings[1].slider("perplexity", 5.0, 100.0, 30.0, key="tsne-perplexity")),)
    else:
        params = ()
    params = params + (("seed", settings[3].number_input("seed", 0, 10_000, 0, key="embedding-seed")),)

file_mtime = path_mtime(run.embeddings_file(split))
try:
    embedding_set = cached.load_embeddings(str(run.root), split, file_mtime)
except FerError as exc:
    show_error(exc)
    st.stop()

count = len(embedding_set)
st.caption(f"Each point is one face, placed by its {embedding_set.embeddings.shape[1]}-d GAP embedding; "
           "nearby points look alike to the model.")
rows = sample_rows(count, int(max_points))
class_names = list(embedding_set.class_names)
predicted = embedding_set.softmax_predictions
with st.spinner(f"{method} of {len(rows):,} embeddings (cached afterwards)..."):
    points = cached_projection(f"{run.root}@{file_mtime}", split, method, params, len(rows),
                               embedding_set.embeddings[rows])

frame = pd.DataFrame({
    "x": points[:, 0], "y": points[:, 1],
    "true class": [class_names[i] for i in embedding_set.labels[rows]],
    "predicted class": [class_names[i] for i in predicted[rows]],
    "key": embedding_set.keys[rows],
})
frame["misclassified"] = np.where(frame["true class"] != frame["predicted class"], "misclassified", "correct")
figure = px.scatter(frame, x="x", y="y", color=colour_by, symbol="misclassified",
                    symbol_map={"correct": "circle", "misclassified": "x"}, category_orders={colour_by: class_names},
                    hover_data={"key": True, "true class": True, "predicted class": True, "x": False, "y": False},
                    custom_data=["key"], opacity=0.75, height=640)
figure.update_traces(marker=dict(size=6))
figure.update_layout(xaxis_title=f"{method} 1", yaxis_title=f"{method} 2", legend_title_text="")
event = st.plotly_chart(figure, key="embedding-scatter", on_select="rerun", selection_mode=("points", "box", "lasso"))
errors = int((frame["misclassified"] == "misclassified").sum())
st.caption(f"{len(frame):,} of {count:,} {split} embeddings from `{run.root}`; {errors:,} misclassified by the "
           f"softmax (crosses). Click a point to see the face.")

selected = event.selection.points if event and getattr(event, "selection", None) else []
detail, metrics_column = st.columns([1, 2], gap="large")
with detail:
    st.subheader("Selected face")
    if not selected:
        st.caption("No point selected.")
    else:
        point = selected[0]
        key = (point.get("customdata") or [None])[0]
        st.markdown(f"`{key}`  \n{len(selected)} point(s) selected")
        source = data_path()
        if not source:
            st.info("Point the Data page at the dataset to see the face images.")
        elif key is not None:
            try:
                with st.spinner("Loading the dataset..."):
                    face = cached.face_by_key(source, str(key))
            except (FerError, ImportError) as exc:
                show_error(exc, "Loading the dataset")
                face = None
            if face is None:
                st.warning(f"`{key}` is not in the dataset at `{source}`.")
            else:
                match = frame[frame["key"] == key].iloc[0]
                st.image(face, width=192, caption=f"true {match['true class']} · predicted {match['predicted class']}")

with metrics_column:
    st.subheader("Embedding quality")
    quality_file = run.reports_dir / "embedding_quality.json"
    if quality_file.is_file():
        report = json.loads(quality_file.read_text(encoding="utf-8"))
        st.dataframe(pd.json_normalize(report, sep=".").T.rename(columns={0: "value"}), key="quality-table")
        st.caption(f"From `{quality_file}`.")
    elif "train" in splits and split != "train":
        if st.button(f"Compute k-NN metrics of {split} against train", key="quality-button"):
            reference = cached.load_embeddings(str(run.root), "train", path_mtime(run.embeddings_file("train")))
            with st.spinner("k-NN accuracy, MAP@R, silhouette..."):
                result = quality.embedding_quality(reference.embeddings, reference.labels,
                                                   embedding_set.embeddings, embedding_set.labels)
            st.dataframe(pd.Series(result.to_dict(), name="value").astype(str), key="quality-computed")
    else:
        st.info("No embedding_quality.json in this run, and no train embeddings to compute it against.")
