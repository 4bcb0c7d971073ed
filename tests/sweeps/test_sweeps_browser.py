"""The Sweeps page in Debian chromium as a user gets it (worker auto-start on): define a sweep with the widgets,
launch it, and watch the started worker run its trials until the page shows the sweep finished with a best run.
The page is served on its own (`streamlit run dashboard/views/sweeps.py`) until dashboard/app.py lists it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fer_engine.data.synthetic import write_image_folder
from fer_engine.jobs import JobQueue
from fer_engine.sweeps import view_sweep

pytestmark = [pytest.mark.timeout(900)]
REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_page(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "views" / "sweeps.py"),
               "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    environment = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise TimeoutError(f"the page did not answer within 120 s (log: {log})")


def _stop_workers(runs: Path) -> None:
    if (runs / "index.sqlite").exists():
        for worker in JobQueue(runs).live_workers(3600):
            try:
                os.killpg(worker.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.mark.slow
@pytest.mark.browser
def test_create_a_sweep_from_the_page_and_watch_it_finish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    monkeypatch.delenv("FER_DASHBOARD_AUTOSTART_WORKER", raising=False)  # the default: on
    runs = tmp_path / "runs"
    env = {"FER_RUNS_DIR": str(runs), "FER2013_PATH": str(write_image_folder(tmp_path / "tiny", {"train": 4, "val": 2})),
           "FER_CACHE_DIR": os.environ["FER_CACHE_DIR"], "OMP_NUM_THREADS": "1"}
    server, url = _serve_page(env, tmp_path / "streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(url, timeout=120_000)
            page.get_by_text("No sweeps yet").wait_for(timeout=180_000)
            page.get_by_label("sweep name", exact=True).fill("from-browser")
            for label, value in (("trials", "2"), ("epochs per trial", "1"), ("in flight (K)", "2")):
                field = page.get_by_label(label, exact=True)
                field.fill(value)
                field.press("Tab")
            page.wait_for_timeout(1500)
            page.get_by_role("button", name="Validate and launch").click()
            page.get_by_text("Sweep from-browser launched").wait_for(timeout=120_000)
            deadline = time.monotonic() + 700
            queue = JobQueue(runs)
            while not (queue.list() and all(job.finished for job in queue.list())) and time.monotonic() < deadline:
                time.sleep(3)
            page.get_by_role("button", name="Refresh").click()  # the page records finished trials too
            page.get_by_text("Best: trial").wait_for(timeout=120_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=str(tmp_path / "sweeps.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        _stop_workers(runs)
    view = view_sweep("from-browser", runs)
    assert view.row.status == "finished" and len(view.trials) == 2 and view.best is not None
    assert {t["job_state"] for t in view.trials} == {"succeeded"}
    assert view.row.config.base_spec["overrides"] == {"epochs": 1} and view.row.config.owner == "local"
