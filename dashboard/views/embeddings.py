"""Embeddings: a 2-D map (UMAP, PCA or t-SNE) of a run's GAP embeddings; click a point to see its face.

The shipped model and the example runs carry a precomputed map, shown at once with the default settings;
any other map is computed after an estimate of how long it takes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard.components import cached
from dashboard.components.auth import app_mode
from dashboard.components.engine import show_error
from dashboard.components.projection import PROJECTION_METHODS, cached_projection, stored_map_points
from dashboard.components.runs import path_mtime, pick_run, run_choices
from dashboard.components.settings import data_path
from fer_engine.embeddings import available_embedding_splits
from fer_engine.embeddings.projection import DEFAULT_MAP_SETTINGS, estimate_seconds, map_settings, sample_rows
from fer_engine.errors import FerError
from fer_engine.metric_learning.report import embedding_quality_for_run, read_embedding_quality

st.title("Embeddings")
public = app_mode() == "public"

choices = run_choices(keep=lambda run: bool(available_embedding_splits(run)))
if not choices:
    st.info("No run with stored embeddings yet: run `fer embed <run>` (or the pipeline's embed step) first.")
    st.stop()

controls = st.columns([3, 1, 1, 1])
with controls[0]:
    choice = pick_run("run", choices, key="embedding-run")
run = choice.paths
splits = available_embedding_splits(run)
split = controls[1].selectbox(
    "split", splits, index=splits.index("val") if "val" in splits else 0, key="embedding-split"
)
wanted_method = st.query_params.get("projection")
method = controls[2].selectbox(
    "method",
    PROJECTION_METHODS,
    key="embedding-method",
    index=PROJECTION_METHODS.index(wanted_method) if wanted_method in PROJECTION_METHODS else 0,
    help="UMAP (default) keeps local neighbourhoods; PCA is instant; t-SNE is slow on "
    "many points. The shipped model and the examples carry a precomputed UMAP map.",
)
st.query_params["projection"] = method
colour_by = controls[3].radio("colour by", ["true class", "predicted class"], key="embedding-colour")

with st.expander("projection settings"):
    settings_columns = st.columns(4)
    max_points = settings_columns[0].number_input(
        "max points (seeded sample)",
        100,
        40_000,
        int(DEFAULT_MAP_SETTINGS["max_points"]),
        step=500,
        key="embedding-max",
    )
    params: dict[str, float | int] = {}
    if method == "UMAP":
        params["neighbors"] = settings_columns[1].slider(
            "neighbours", 2, 100, int(DEFAULT_MAP_SETTINGS["neighbors"]), key="umap-neighbors"
        )
        params["min_dist"] = settings_columns[2].slider(
            "min distance", 0.0, 0.99, float(DEFAULT_MAP_SETTINGS["min_dist"]), key="umap-min-dist"
        )
    elif method == "t-SNE":
        params["perplexity"] = settings_columns[1].slider(
            "perplexity", 5.0, 100.0, float(DEFAULT_MAP_SETTINGS["perplexity"]), key="tsne-perplexity"
        )
    params["seed"] = int(
        settings_columns[3].number_input("seed", 0, 10_000, int(DEFAULT_MAP_SETTINGS["seed"]), key="embedding-seed")
    )

file_mtime = path_mtime(run.embeddings_file(split))
try:
    embedding_set = cached.load_embeddings(str(run.root), split, file_mtime)
except FerError as exc:
    show_error(exc)
    st.stop()

count = len(embedding_set)
st.caption(
    f"Each point is one face, placed by its {embedding_set.embeddings.shape[1]}-d GAP embedding; "
    "nearby points look alike to the model."
)
settings = map_settings(method, max_points=int(max_points), **params)
rows = sample_rows(count, int(max_points), int(params["seed"]))
class_names = list(embedding_set.class_names)
points = stored_map_points(run, split, method, settings, embedding_set.keys[rows], file_mtime)
map_source = "precomputed map stored with the run"
if points is None:
    map_source = f"{method} computed here (cached for this session)"
    compute_key = (str(run.root), file_mtime, split, tuple(sorted(settings.items())))
    started = st.session_state.setdefault("embedding-maps-started", set())
    estimate = estimate_seconds(method, len(rows))
    if method != "PCA" and compute_key not in started:
        st.info(
            f"No stored {method} map of this run with these settings: computing one for {len(rows):,} points "
            f"takes about {estimate:.0f} s on this server's CPU (less once UMAP has been compiled)."
        )
        if st.button(f"Compute the {method} map", key="embedding-compute", type="primary"):
            started.add(compute_key)
            st.rerun()
        st.stop()
    with st.spinner(f"{method} of {len(rows):,} embeddings: about {estimate:.0f} s..."):
        points = cached_projection(
            f"{run.root}@{file_mtime}",
            split,
            method,
            tuple(sorted(params.items())),
            len(rows),
            embedding_set.embeddings[rows],
        )

frame = pd.DataFrame(
    {
        "x": points[:, 0],
        "y": points[:, 1],
        "true class": [class_names[i] for i in embedding_set.labels[rows]],
        "predicted class": [class_names[i] for i in embedding_set.softmax_predictions[rows]],
        "key": embedding_set.keys[rows],
    }
)
frame["misclassified"] = np.where(frame["true class"] != frame["predicted class"], "misclassified", "correct")
figure = px.scatter(
    frame,
    x="x",
    y="y",
    color=colour_by,
    symbol="misclassified",
    symbol_map={"correct": "circle", "misclassified": "x"},
    category_orders={colour_by: class_names},
    hover_data={"key": True, "true class": True, "predicted class": True, "x": False, "y": False},
    custom_data=["key"],
    opacity=0.75,
    height=640,
)
figure.update_traces(marker=dict(size=6))
figure.update_layout(xaxis_title=f"{method} 1", yaxis_title=f"{method} 2", legend_title_text="")
event = st.plotly_chart(figure, key="embedding-scatter", on_select="rerun", selection_mode=("points", "box", "lasso"))
errors = int((frame["misclassified"] == "misclassified").sum())
st.caption(
    f"{len(frame):,} of {count:,} {split} embeddings of {choice.label} ({map_source}); {errors:,} "
    "misclassified by the softmax (crosses). Click a point to see the face."
)

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
            st.info(
                "Face images need the dataset: "
                + ("it is not part of the public demo." if public else "point the Data page at it.")
            )
        elif key is not None:
            try:
                with st.spinner("Loading the dataset..."):
                    face = cached.face_by_key(source, str(key))
            except (FerError, ImportError) as exc:
                show_error(exc, "Loading the dataset")
                face = None
            if face is None:
                st.warning(f"`{key}` is not in the dataset.")
            else:
                match = frame[frame["key"] == key].iloc[0]
                st.image(face, width=192, caption=f"true {match['true class']} · predicted {match['predicted class']}")

with metrics_column:
    st.subheader("Embedding quality")
    try:
        by_split = read_embedding_quality(run)
    except FerError as exc:
        show_error(exc, "Reading the embedding quality")
        st.stop()
    if by_split:
        if split in by_split:
            st.dataframe(pd.Series(by_split[split], name="value").astype(str), key="quality-table")
            st.caption(f"k-NN and retrieval metrics of {split} against train embeddings, stored with the run.")
        else:
            st.info(f"The stored embedding quality covers {', '.join(by_split)}, not {split}.")
    elif "train" in splits and split != "train" and not public:
        if st.button(f"Compute k-NN metrics of {split} against train", key="quality-button"):
            with st.spinner("k-NN accuracy, MAP@R, silhouette..."):
                try:
                    result = embedding_quality_for_run(run, [split])[split]
                except FerError as exc:
                    show_error(exc)
                else:
                    st.dataframe(pd.Series(result.to_dict(), name="value").astype(str), key="quality-computed")
    else:
        st.info("No embedding quality stored with this run (it needs train embeddings to compare against).")
