"""Every dashboard page under streamlit's AppTest: empty workspace, a tiny dataset with two runs, and the actions."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from support.apptest import open_page as open_app_page
from support.apptest import table_with, texts
from support.builders import dataset_val_keys, finished_run, image_folder_dataset
from support.paths import APP_FILE

PAGES = ["views/overview.py", "views/data.py", "views/train.py", "views/experiments.py", "views/embeddings.py",
         "views/predict.py"]
TIMEOUT = 120


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty runs root, no shipped model, no dataset (worker auto-start left at its default: on)."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(tmp_path / "no-shipped-model"))
    # These tests count what the runs root holds, so the example runs (shown by default) are hidden here; the default
    # is covered by tests/dashboard/test_experiments_page.py and the page walk (test_walk_pages.py).
    monkeypatch.setenv("FER_SHOW_EXAMPLES", "0")
    for name in ("FER2013_PATH", "FER_DATA_PATH"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def populated(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny dataset (FER2013_PATH) and two finished runs whose val keys match the dataset."""
    dataset = image_folder_dataset(workspace)
    keys = dataset_val_keys(dataset)
    finished_run(workspace / "runs", "run-a", loss="ce", seed=0, keys=keys)
    finished_run(workspace / "runs", "run-b", loss="triplet", seed=1, keys=keys)
    monkeypatch.setenv("FER2013_PATH", str(dataset))
    return workspace


def open_page(page: str) -> AppTest:
    """The app on `page`, embeddings projected with PCA (UMAP's numba compile is slow)."""
    return open_app_page(page, query={"projection": "PCA"}, timeout_s=TIMEOUT)


@pytest.mark.parametrize("page", PAGES)
def test_dashboard_page_renders_without_dataset_or_runs(workspace: Path, page: str) -> None:
    app = open_page(page)
    assert app.title, f"{page} shows no title"
    assert not app.error, [e.value for e in app.error]


def test_dashboard_empty_pages_say_what_is_missing(workspace: Path) -> None:
    assert "No shipped model" in texts(open_page("views/overview.py"))
    assert "No dataset chosen" in texts(open_page("views/data.py"))
    assert "No runs under" in texts(open_page("views/experiments.py"))
    assert "No run with stored embeddings" in texts(open_page("views/embeddings.py"))
    assert "No model yet" in texts(open_page("views/predict.py"))


@pytest.mark.parametrize("page", PAGES)
def test_dashboard_page_renders_with_dataset_and_runs(populated: Path, page: str) -> None:
    app = open_page(page)
    assert not app.error, [e.value for e in app.error]


def test_dashboard_data_page_shows_the_dataset(populated: Path) -> None:
    app = open_page("views/data.py")
    shown = texts(app)
    assert "train 28" in shown and "val 21" in shown, shown
    assert len(app.get("image")) == 7  # one row of sample faces per class


def test_dashboard_experiments_compares_two_runs(populated: Path) -> None:
    app = open_page("views/experiments.py")
    assert app.multiselect(key="compare-runs").value == ["run-b", "run-a"]
    comparison = table_with(app, "run", "head", "accuracy", "paper accuracy")
    assert set(comparison["run"]) == {"run-a", "run-b"}
    assert set(comparison["head"]) == {"softmax", "svm"}
    assert comparison["accuracy"].between(0, 1).all()
    assert "Download comparison CSV" in [button.label for button in app.get("download_button")]


def test_dashboard_embeddings_shows_a_projection(populated: Path) -> None:
    app = open_page("views/embeddings.py")
    assert app.get("plotly_chart"), "no scatter plot"
    assert "21 of 21 val embeddings" in texts(app)


def test_dashboard_overview_shows_a_shipped_model(populated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(populated / "runs" / "run-a"))
    shown = texts(open_page("views/overview.py"))
    assert "vgg19_bn_quarter" in shown and "No shipped model" not in shown


def test_dashboard_train_form_queues_a_job(populated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fer_engine.pipeline")
    from fer_engine.jobs.queue import JobQueue

    # Auto-start off: this test checks what the form queues, so no worker may claim the job meanwhile. The default
    # (a worker starts and runs the job) is covered by the Train page's browser test (tests/dashboard/test_train_*).
    monkeypatch.setenv("FER_DASHBOARD_AUTOSTART_WORKER", "0")

    app = open_page("views/train.py")
    app.selectbox(key="train-preset").set_value("fast_cpu").run()
    app.number_input(key="fast_cpu-epochs").set_value(2)
    app.text_input(key="fast_cpu-name").set_value("from-the-form")
    app.button[0].click().run()  # the form's submit button
    assert not app.exception and not app.error, [e.value for e in app.error]
    jobs = JobQueue(populated / "runs").list()
    assert len(jobs) == 1
    assert jobs[0].name == "from-the-form" and jobs[0].state == "queued"
    assert jobs[0].spec["preset"] == "fast_cpu"
    assert jobs[0].spec["overrides"].get("epochs") == 2
    assert any("Queued job" in s.value for s in app.success)
    assert table_with(app, "job", "state", "progress")["name"].tolist() == ["from-the-form"]


def test_dashboard_train_form_refuses_an_invalid_config(populated: Path) -> None:
    pytest.importorskip("fer_engine.pipeline")
    from fer_engine.jobs.queue import JobQueue

    app = open_page("views/train.py")
    app.selectbox(key="train-preset").set_value("strong").run()
    app.selectbox(key="strong-loss").set_value("triplet")  # triplet without select_metric=val_knn_accuracy
    app.button[0].click().run()
    assert any("select_metric" in e.value for e in app.error), [e.value for e in app.error]
    assert JobQueue(populated / "runs").list() == []


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_dashboard_predict_labels_the_astronaut(populated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fer_engine.predict.predictor")
    skimage_data = pytest.importorskip("skimage.data")
    from fer_engine.predict import saliency

    explained = []
    real_grad_cam = saliency.grad_cam
    monkeypatch.setattr(saliency, "grad_cam", lambda *a, **k: explained.append(a[1].shape) or real_grad_cam(*a, **k))
    app = open_page("views/predict.py")
    app.file_uploader(key="predict-upload").set_value(("astronaut.png", _png(skimage_data.astronaut()), "image/png"))
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.get("image"), texts(app)
    assert len(app.get("plotly_chart")) == 1  # one probability chart: one face
    labels = [m.value for m in app.markdown if m.value.startswith("**")]
    assert any(name in labels[0] for name in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"))
    app.toggle(key="predict-saliency").set_value(True).run()  # Grad-CAM overlay instead of the plain crop
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert explained == [(48, 48)]  # one Grad-CAM, on the face's 48x48 FER crop


def test_dashboard_predict_reports_bad_files_and_faceless_photos(populated: Path) -> None:
    pytest.importorskip("fer_engine.predict.predictor")
    app = open_page("views/predict.py")
    grey = np.full((200, 200, 3), 128, np.uint8)
    app.file_uploader(key="predict-upload").set_value([
        ("broken.jpg", b"this is not an image", "image/jpeg"),
        ("../../etc/grey.png", _png(grey), "image/png"),
    ])
    app.run()
    assert not app.exception
    assert any("broken.jpg" in e.value for e in app.error), [e.value for e in app.error]
    assert "No face found in grey.png" in texts(app)


def _running_job(root: Path, run_id: str):
    """A queued pipeline job claimed by a fake worker, attached to `run_id`, half way through training."""
    from fer_engine.jobs.queue import JobQueue
    from fer_engine.pipeline import PipelineSpec

    queue = JobQueue(root)
    queue.submit(PipelineSpec(data_path=str(root), preset="fast_cpu", name="live"), name="live")
    job = queue.claim("test-worker", ["cpu"])
    queue.attach_run(job.id, run_id, lease=job.lease)
    queue.update_progress(job.id, {"step": "train", "epoch": 2, "total_epochs": 4, "fraction": 0.5,
                                   "metrics": {"val_accuracy": 0.31}}, lease=job.lease)
    return queue, job


def test_dashboard_jobs_table_shows_progress_and_cancels(populated: Path) -> None:
    pytest.importorskip("fer_engine.pipeline")
    queue, job = _running_job(populated / "runs", "run-a")
    app = open_page("views/train.py")
    table = table_with(app, "job", "state", "progress", "detail")
    assert table["state"].tolist() == ["running"] and table["progress"].tolist() == [0.5]
    assert "epoch 2/4" in table["detail"][0]
    assert len(app.get("plotly_chart")) == 2  # loss and accuracy curves of the job's run
    app.button(key=f"cancel-{job.id}").click().run()
    assert queue.get(job.id).cancel_requested


def test_dashboard_jobs_table_retries_a_failed_job(populated: Path) -> None:
    pytest.importorskip("fer_engine.pipeline")
    queue, job = _running_job(populated / "runs", "run-a")
    queue.finish(job.id, "failed", "out of memory", lease=job.lease)
    app = open_page("views/train.py")
    assert any("out of memory" in e.value for e in app.error)
    app.button(key=f"retry-{job.id}").click().run()
    assert queue.get(job.id).state == "queued"


def test_dashboard_data_page_counts_and_audit(populated: Path) -> None:
    app = open_page("views/data.py")
    counts = table_with(app, "train", "val", "total", "share")
    assert counts["train"].sum() == 28 and counts["val"].sum() == 21 and len(counts) == 7
    app.button(key="audit-button").click().run()
    assert not app.exception
    assert [m.value for m in app.metric][:1] == ["49"]  # every image was audited


def test_dashboard_run_comes_from_the_url_and_is_validated(populated: Path) -> None:
    app = AppTest.from_file(str(APP_FILE), default_timeout=TIMEOUT)
    app.query_params.update(run="run-b", projection="PCA")
    app.run()
    app.switch_page("views/embeddings.py").run()
    assert app.selectbox(key="embedding-run").value.run_id == "run-b"
    app.query_params["run"] = "../../etc"
    app.run()
    assert any("not a valid run id" in w.value for w in app.warning)


def test_dashboard_face_lookup_by_key(populated: Path) -> None:
    import os

    from dashboard.components.cached import face_by_key
    from fer_engine.data import load_dataset

    source = os.environ["FER2013_PATH"]
    val = load_dataset(source).split("val")
    assert np.array_equal(face_by_key(source, str(val.keys[5])), val.images[5])
    assert face_by_key(source, "no/such/key.jpg") is None


def test_dashboard_experiments_lists_the_shipped_model(populated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = finished_run(populated / "elsewhere", "shipped-run", seed=2)
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(shipped.root))
    app = open_page("views/experiments.py")
    runs = table_with(app, "status", "arch")
    assert runs.loc["shipped default model", "status"] == "shipped"
    assert {"run-a", "run-b"} <= set(runs.index)
    app.multiselect(key="compare-runs").set_value(["shipped default model", "run-a"]).run()
    assert set(table_with(app, "run", "head", "accuracy")["run"]) == {"shipped default model", "run-a"}
