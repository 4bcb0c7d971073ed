"""End-to-end: the real dashboard in Debian chromium; every page renders, a photo upload labels a face.

Screenshots of each page go to test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from support.browser import (
    PAGE_PATHS,
    chromium_available,
    launch_chromium,
    open_page,
    running_dashboard,
    upload_photo,
    wait_until_idle,
)
from support.builders import dataset_val_keys, finished_run, image_folder_dataset
from support.paths import REPO_ROOT

pytestmark = pytest.mark.browser
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
def dashboard_env(tmp_path: Path) -> dict[str, str]:
    """Environment of the dashboard process: a tiny dataset, two runs, the first one as the shipped model."""
    if not chromium_available():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    pytest.importorskip("playwright.sync_api")
    dataset = image_folder_dataset(tmp_path)
    keys = dataset_val_keys(dataset)
    runs = tmp_path / "runs"
    finished_run(runs, "run-a", loss="ce", seed=0, keys=keys)
    finished_run(runs, "run-b", loss="triplet", seed=1, keys=keys)
    import os

    return {"FER_RUNS_DIR": str(runs), "FER_DEFAULT_CHECKPOINT": str(runs / "run-a"), "FER2013_PATH": str(dataset),
            "FER_CACHE_DIR": os.environ["FER_CACHE_DIR"]}


def test_dashboard_in_chromium(dashboard_env: dict[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from skimage.data import astronaut

    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(photo)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_dashboard(dashboard_env, log_path=tmp_path / "streamlit.log") as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            for title in PAGE_PATHS:
                # PCA: UMAP's first use compiles numba code for minutes on a loaded 2-core CI machine
                open_page(page, url, title, query="projection=PCA" if title == "Embeddings" else "")
                assert page.locator('[data-testid="stException"]').count() == 0, f"{title} shows an exception"
                assert page.locator("h1").first.inner_text().strip(), f"{title} has no title"
                page.wait_for_timeout(1000)  # charts and canvas tables paint after the script run ends
                page.screenshot(path=str(SCREENSHOTS / f"{title.lower()}.png"), full_page=True)
            open_page(page, url, "Embeddings", query="projection=PCA")
            page.locator('[data-testid="stPlotlyChart"] .scatterlayer .point').first.click(force=True)
            page.get_by_text("No point selected.").wait_for(state="detached", timeout=60_000)
            page.get_by_text("predicted", exact=False).last.wait_for(timeout=60_000)
            # The face image renders a moment after the caption: wait for it, then check there is exactly one.
            page.locator('[data-testid="stImage"]').first.wait_for(timeout=60_000)
            assert page.locator('[data-testid="stImage"]').count() == 1, "clicking a point shows no face"
            page.screenshot(path=str(SCREENSHOTS / "embeddings-selected.png"), full_page=True)
            open_page(page, url, "Predict")
            upload_photo(page, photo)
            _assert_one_face_labelled(page, "predict-astronaut.png")
        finally:
            browser.close()
    _assert_clean_log(tmp_path / "streamlit.log")


def _assert_one_face_labelled(page, screenshot: str) -> None:
    """The Predict result shows one face with its probability chart and no exception; saves a screenshot."""
    page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)  # kept for a failure's diagnosis
    assert page.get_by_text("1 face(s)").count() == 1, "not exactly one face found"
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 1  # the face's probability chart
    assert page.locator('[data-testid="stException"]').count() == 0
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)


def _assert_clean_log(log_path: Path) -> None:
    log = log_path.read_text()
    assert "Traceback" not in log, log[-3000:]


def test_camera_photo_is_classified(dashboard_env: dict[str, str], tmp_path: Path) -> None:
    """The Predict page's camera: Chromium's fake webcam plays the astronaut; a snapshot gets its face labelled."""
    import cv2
    from playwright.sync_api import sync_playwright
    from skimage.data import astronaut

    from support.browser import fake_camera_args, wait_for_camera_frames, write_y4m

    frame = cv2.copyMakeBorder(astronaut()[:, :, :3], 0, 0, 64, 64, cv2.BORDER_CONSTANT, value=(90, 90, 90))  # 640x512
    video = write_y4m(tmp_path / "webcam.y4m", frame)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with running_dashboard(dashboard_env, log_path=tmp_path / "streamlit.log") as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright, fake_camera_args(video))
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 2000}, permissions=["camera"])
            page = context.new_page()
            open_page(page, url, "Predict")
            page.get_by_text("use the camera").click()
            wait_for_camera_frames(page)  # a snapshot taken before the stream plays is blank: no face
            page.get_by_role("button", name="Take Photo").click(timeout=120_000)
            page.get_by_text("face(s)").or_(page.get_by_text("No face found")).first.wait_for(timeout=180_000)
            wait_until_idle(page)
            _assert_one_face_labelled(page, "predict-camera.png")
        finally:
            browser.close()
    _assert_clean_log(tmp_path / "streamlit.log")
