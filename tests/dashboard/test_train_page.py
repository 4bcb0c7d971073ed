"""The Train page and its jobs table under AppTest, as a first-time user and as other users see them (issues 14, 19):
the preset suited to the machine, the time estimate, caps, the no-worker notice, owners' buttons and logs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import dashboard.components.jobs_view as jobs_view
from dashboard.components import auth
from fer_engine.data import load_dataset
from fer_engine.jobs import JobQueue
from fer_engine.jobs.owners import ADMINS_ENV
from fer_engine.jobs.local_worker import WORKER_ALIVE_S
from fer_engine.jobs.planning import estimate_training, suggested_preset
from fer_engine.pipeline import PipelineSpec
from fer_engine.training import get_preset
from support.builders import image_folder_dataset
from support.paths import APP_FILE

TIMEOUT = 120


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny dataset named by FER2013_PATH, an empty runs root, worker auto-start off (these tests look at the
    page; tests/dashboard/test_train_browser.py runs the default, auto-start on)."""
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(tmp_path / "no-shipped-model"))
    monkeypatch.setenv("FER2013_PATH", str(image_folder_dataset(tmp_path)))
    monkeypatch.setenv("FER_DASHBOARD_AUTOSTART_WORKER", "0")
    for name in ("FER_DATA_PATH", auth.MODE_ENV, auth.AUTH_HEADER_ENV, ADMINS_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def open_train() -> AppTest:
    app = AppTest.from_file(str(APP_FILE), default_timeout=TIMEOUT)
    app.switch_page("views/train.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def as_user(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The signed-in user the page sees (the login itself is tested in test_modes.py)."""
    monkeypatch.setattr(auth, "current_user", lambda: name)
    monkeypatch.setattr(jobs_view, "current_user", lambda: name)


def estimate_shown(app: AppTest) -> str:
    texts = [box.value for box in app.info if "estimate" in box.value.lower()]
    assert len(texts) == 1, [box.value for box in app.info]
    return texts[0]


def test_first_visit_suggests_the_preset_for_this_machine_and_its_training_time(workspace: Path) -> None:
    app = open_train()
    import torch

    preset = app.selectbox(key="train-preset").value
    assert preset == suggested_preset() == ("strong" if torch.cuda.is_available() else "fast_cpu")
    config = get_preset(preset)
    train_images = len(load_dataset(os.environ["FER2013_PATH"]).split("train").labels)
    expected = estimate_training(config.arch, config.epochs, train_images, device=config.device)
    assert estimate_shown(app) == expected.text()
    if expected.seconds is not None:
        assert "Estimated training time" in expected.text() and "An estimate" in expected.text()


def test_the_estimate_follows_the_form_without_queueing(workspace: Path) -> None:
    app = open_train()
    app.selectbox(key="train-preset").set_value("strong").run()
    app.number_input(key="strong-epochs").set_value(7)
    app.button[1].click().run()  # "Update the time estimate": the form's second submit button
    assert app.button[1].label == "Update the time estimate"
    train_images = len(load_dataset(os.environ["FER2013_PATH"]).split("train").labels)
    assert estimate_shown(app) == estimate_training("vgg19_bn", 7, train_images, device="auto").text()
    assert JobQueue(workspace / "runs").list() == []
    assert not app.success


def test_caps_refuse_a_huge_job_with_the_reason(workspace: Path) -> None:
    app = open_train()
    app.selectbox(key="train-preset").set_value("fast_cpu").run()
    app.number_input(key="fast_cpu-epochs").set_value(1_000_000)
    app.button[0].click().run()
    assert any("epochs=1000000 is above this server's cap of 500" in e.value for e in app.error), \
        [e.value for e in app.error]
    assert JobQueue(workspace / "runs").list() == []


def test_a_queued_job_records_the_user(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    as_user(monkeypatch, "alice@example.org")
    app = open_train()
    app.button[0].click().run()
    assert not app.error, [e.value for e in app.error]
    (job,) = JobQueue(workspace / "runs").list()
    assert job.owner == "alice@example.org" and job.spec["data_path"] == str(Path(os.environ["FER2013_PATH"]).resolve())
    assert jobs_view_table(app)["owner"].tolist() == ["alice@example.org"]


def test_a_dataset_path_outside_the_allowed_folders_is_not_queued(workspace: Path) -> None:
    app = open_train()
    preset = app.selectbox(key="train-preset").value
    app.text_input(key=f"{preset}-data").set_value("/etc/passwd")
    app.button[0].click().run()
    assert any("outside the dataset folders" in e.value for e in app.error), [e.value for e in app.error]
    assert not any("root:" in e.value for e in app.error)
    assert JobQueue(workspace / "runs").list() == []


def jobs_view_table(app: AppTest):
    for element in app.dataframe:
        if {"job", "owner", "state", "detail", "error"} <= set(element.value.columns):
            return element.value
    raise AssertionError("no jobs table")


def _queued(workspace: Path, owner: str) -> tuple[JobQueue, int]:
    queue = JobQueue(workspace / "runs")
    spec = PipelineSpec(data_path=os.environ["FER2013_PATH"], preset="fast_cpu", name="theirs")
    return queue, queue.submit(spec, name="theirs", owner=owner).id


def test_only_the_owner_or_an_admin_gets_the_buttons_and_the_log(workspace: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    queue, job_id = _queued(workspace, "alice")
    as_user(monkeypatch, "bob")
    app = open_train()
    assert not [b for b in app.button if b.key in (f"cancel-{job_id}", f"retry-{job_id}")]
    assert not any(e.label.startswith("log") for e in app.expander)
    assert any("Queued by alice" in c.value for c in app.caption)
    as_user(monkeypatch, "alice")
    app = open_train()
    assert any(e.label.startswith("log") for e in app.expander)
    app.button(key=f"cancel-{job_id}").click().run()
    assert queue.get(job_id).state == "cancelled"
    monkeypatch.setenv("FER_ADMINS", "carol")
    as_user(monkeypatch, "carol")
    app = open_train()
    app.button(key=f"retry-{job_id}").click().run()
    assert queue.get(job_id).state == "queued"


def test_a_failed_job_shows_its_reason_in_one_line(workspace: Path) -> None:
    queue, job_id = _queued(workspace, "local")
    job = queue.claim("w", ["cpu"])
    queue.finish(job_id, "failed", "dataset is not a FER2013 csv\nTraceback (most recent call last):\n  secret,row",
                 lease=job.lease)
    app = open_train()
    assert jobs_view_table(app)["error"].tolist() == ["dataset is not a FER2013 csv"]
    assert [e.value for e in app.error] == [f"Job {job_id}: dataset is not a FER2013 csv"]


def test_queued_jobs_without_a_worker_say_so_and_offer_to_start_one(workspace: Path) -> None:
    queue, _ = _queued(workspace, "local")
    app = open_train()
    assert any("no worker is running" in w.value for w in app.warning), [w.value for w in app.warning]
    app.button(key="start-worker").click().run()
    workers = queue.live_workers(WORKER_ALIVE_S)
    try:
        assert len(workers) == 1
        app = open_train()
        assert not any("no worker is running" in w.value for w in app.warning)
    finally:
        for worker in workers:  # the worker runs in its own session: stop it and its job processes
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
