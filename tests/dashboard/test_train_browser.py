"""The Train page as a first-time user gets it, in Debian chromium: every default left as it is (worker
auto-start on), a small made dataset and a tiny config; Enter in a field does not queue; "Validate and queue"
does, the started worker runs the job, and the jobs table follows it to `succeeded` (issue 14)."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from fer_engine.data.synthetic import write_image_folder
from fer_engine.jobs import JobQueue
from support.browser import chromium_available, launch_chromium, open_page, running_dashboard, wait_until_idle
from support.paths import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
JOB_LINE = re.compile(r"(\d+) · browser-job · (queued|running|succeeded|failed|cancelled)")


def _stop_workers(runs: Path) -> None:
    """Kill the workers the dashboard started (each leads its own session, with its job processes)."""
    if not (runs / "index.sqlite").exists():
        return
    for worker in JobQueue(runs).live_workers(3600):
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def test_a_first_time_user_queues_a_job_and_sees_it_succeed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not chromium_available():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    monkeypatch.delenv("FER_DASHBOARD_AUTOSTART_WORKER", raising=False)  # the default: on
    dataset = write_image_folder(tmp_path / "tiny", {"train": 30, "val": 4})  # training lasts seconds, not one
    runs = tmp_path / "runs"
    env = {"FER_RUNS_DIR": str(runs), "FER2013_PATH": str(dataset), "FER_CACHE_DIR": os.environ["FER_CACHE_DIR"],
           "FER_DEFAULT_CHECKPOINT": str(tmp_path / "no-shipped-model"), "OMP_NUM_THREADS": "1"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    seen: list[str] = []
    try:
        with running_dashboard(env, log_path=tmp_path / "streamlit.log") as url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 2400})
                open_page(page, url, "Train")
                assert page.locator('[data-testid="stException"]').count() == 0
                page.get_by_text("Estimated training time").or_(page.get_by_text("No time estimate")).first.wait_for()
                # A small config: the smallest model, 8 epochs (long enough for the table to show the train step).
                arch = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("arch", exact=True))
                arch.click()
                page.get_by_role("option", name="vgg19_bn_quarter", exact=True).click()
                page.get_by_text("Optimisation", exact=True).click()
                epochs = page.get_by_label("epochs", exact=True)
                epochs.fill("8")
                epochs.press("Tab")
                name = page.get_by_label("run name", exact=True)
                name.fill("browser-job")
                name.press("Enter")  # Enter in a field must not queue
                page.wait_for_timeout(3000)
                wait_until_idle(page)
                assert JobQueue(runs).list() == [], "pressing Enter queued a job"
                page.get_by_role("button", name="Validate and queue").click()
                page.get_by_text("Queued job").wait_for(timeout=120_000)
                deadline = time.monotonic() + 600
                state = None
                while time.monotonic() < deadline:
                    chosen = page.get_by_role("combobox", name="job")  # the jobs table's job picker
                    match = JOB_LINE.fullmatch(chosen.input_value()) if chosen.count() else None
                    state = match.group(2) if match else None
                    progress = page.locator('[data-testid="stProgress"]')
                    line = f"{state}: {progress.first.inner_text() if progress.count() else ''}".strip()
                    if not seen or seen[-1] != line:
                        seen.append(line)
                    if state in ("succeeded", "failed", "cancelled"):
                        break
                    page.wait_for_timeout(500)
                page.wait_for_timeout(2500)  # one more refresh of the table
                page.screenshot(path=str(SCREENSHOTS / "train-job.png"), full_page=True)
                assert page.locator('[data-testid="stException"]').count() == 0
            finally:
                browser.close()
        jobs = JobQueue(runs).list()
        print("\n".join(["progress seen in the page:", *seen]))
        assert state == "succeeded", (seen, [(job.state, job.error) for job in jobs])
        assert len(jobs) == 1 and jobs[0].state == "succeeded" and jobs[0].owner == "local"
        assert any(line.startswith("running: train") for line in seen), seen  # progress was shown while it ran
        assert "Traceback" not in (tmp_path / "streamlit.log").read_text()
    finally:
        _stop_workers(runs)
