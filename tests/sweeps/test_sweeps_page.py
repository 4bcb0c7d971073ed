"""The Sweeps page under AppTest: a finished study's page (status, best trial, trials table linked to Experiments,
Optuna's plots), launching a sweep from the widgets, "compare the top 5", and the public demo's refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components import auth
from fer_engine.data.synthetic import write_image_folder
from fer_engine.jobs import JobQueue
from fer_engine.jobs.owners import ADMINS_ENV
from fer_engine.sweeps import list_sweeps, start_sweep, view_sweep
from support.sweeps import fake_config, serve_inline

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "sweeps.py"
TIMEOUT = 120


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("FER2013_PATH", str(write_image_folder(tmp_path / "data", {"train": 2, "val": 1}, as_zip=True)))
    monkeypatch.setenv("FER_DASHBOARD_AUTOSTART_WORKER", "0")
    for name in ("FER_DATA_PATH", auth.MODE_ENV, auth.AUTH_HEADER_ENV, ADMINS_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "runs"


def open_page() -> AppTest:
    app = AppTest.from_file(str(PAGE), default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_finished_study_renders_with_its_best_trial_table_and_plots(workspace: Path) -> None:
    start_sweep(fake_config("done", trials=5, parallel=2), workspace)
    finished = serve_inline(workspace, "done")
    app = open_page()
    assert app.selectbox(key="sweep-choice").value == "done"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["status"] == "finished" and metrics["trials"] == "5 / 5" and metrics["complete"] == "5"
    best = finished.best
    assert best["params"]["lr"] == max(t["params"]["lr"] for t in finished.trials)
    assert f"{best['value']:.4f}" in app.success[0].value and best["run_id"] in app.success[0].value
    [frame] = app.dataframe
    table = frame.value
    assert len(table) == 5 and set(table["state"]) == {"complete"}
    assert f"experiments?run={best['run_id']}" in set(table["run"])
    assert len(app.get("plotly_chart")) == 4  # history, parallel coordinates, importances, slices


def test_compare_the_top_5_selects_their_runs_for_experiments(workspace: Path) -> None:
    start_sweep(fake_config("top", trials=6, parallel=3), workspace)
    view = serve_inline(workspace, "top")
    app = open_page()
    app.button(key="sweep-compare").click().run()
    chosen = app.session_state["compare_run_ids"]
    ranked = sorted(view.trials, key=lambda t: t["value"], reverse=True)
    assert chosen == [t["run_id"] for t in ranked[:5]]


def test_ship_the_best_queues_the_full_pipeline_on_the_best_run(workspace: Path) -> None:
    start_sweep(fake_config("ship", trials=2, parallel=2), workspace)
    view = serve_inline(workspace, "ship")
    app = open_page()
    app.button(key="sweep-ship").click().run()
    assert not app.exception
    job = JobQueue(workspace).list()[0]
    assert job.name == "best-of-ship" and job.spec["resume_run_id"] == view.best["run_id"]
    assert job.spec["steps"] == ["train", "embed", "heads", "evaluate", "report"]


def test_launch_a_sweep_from_the_widgets(workspace: Path) -> None:
    app = open_page()
    assert "No sweeps yet" in app.info[-1].value
    app.text_input(key="sweep-name").set_value("from-page")
    app.number_input(key="sweep-trials").set_value(4)
    app.button(key="sweep-launch").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    [row] = list_sweeps(workspace)
    assert row.name == "from-page" and row.config.trials == 4 and row.config.owner == "local"
    assert set(row.config.space) == {"lr", "weight_decay", "label_smoothing"}
    assert row.config.space["lr"]["log"] is True
    jobs = JobQueue(workspace).list()
    assert len(jobs) == 2 and all(j.spec["overrides"]["epochs"] == 3 for j in jobs)
    assert view_sweep("from-page", workspace).row.status == "running"


def test_launch_refuses_a_bad_space_with_the_reason(workspace: Path) -> None:
    app = open_page()
    app.text_area(key="sweep-yaml").set_value("lr: {low: 0, high: 1, log: true}")
    app.button(key="sweep-launch").click().run()
    assert any("log range needs low > 0" in e.value for e in app.error)
    assert list_sweeps(workspace) == []


def test_public_mode_refuses(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.MODE_ENV, "public")
    app = open_page()
    assert "not part of the public demo" in app.info[0].value
    assert not app.button and not app.dataframe
