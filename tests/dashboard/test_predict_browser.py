"""The Predict page in Debian chromium, public mode, shipped model: a group photo gets numbered boxes and a grid
of face panels; a cat photo gets no box. Also writes the README screenshots:

    PYTHONPATH=tests .venv/bin/python tests/dashboard/test_predict_browser.py   # -> docs/images/predict-group.png, ...
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from support.browser import chromium_available, launch_chromium, open_page, running_dashboard, upload_photo
from support.builders import finished_run
from support.paths import REPO_ROOT

pytestmark = pytest.mark.browser
SHIPPED = REPO_ROOT / "checkpoints" / "default"
SCREENSHOT_MAX_BYTES = 400_000
PANEL_CROP_PX = 112  # dashboard/views/predict.py


def group_photo() -> np.ndarray:
    """A 1600x900 group picture of real faces that ship in packages, and a cat, on a real photo (china.jpg).

    Astronaut (scikit-image), Grace Hopper before a US flag (matplotlib), the cameraman (scikit-image), the cat
    Chelsea (scikit-image), five Labeled-Faces-in-the-Wild faces (scikit-image's 25 px subset, upscaled).
    """
    import matplotlib
    import sklearn.datasets

    china = Image.open(Path(sklearn.datasets.__file__).parent / "images" / "china.jpg").convert("RGB")
    canvas = cv2.resize(np.asarray(china), (1600, 900), interpolation=cv2.INTER_LINEAR)
    grace = np.asarray(Image.open(Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg").convert("RGB"))
    camera = np.stack([skimage.data.camera()] * 3, axis=-1)
    lfw = (skimage.data.lfw_subset()[:100] * 255).round().astype(np.uint8)
    pieces = [(skimage.data.astronaut()[0:300, 75:375], (60, 80), 340), (grace[60:460, 70:470], (450, 60), 360),
              (camera[60:260, 120:320], (860, 90), 260), (skimage.data.chelsea()[0:300, 60:360], (1180, 100), 330)]
    for index, face in enumerate(lfw[[3, 17, 42, 71, 88]]):
        padded = cv2.copyMakeBorder(face, 8, 8, 8, 8, cv2.BORDER_REPLICATE)
        pieces.append((np.stack([padded] * 3, axis=-1), (80 + index * 300, 560), 230))
    for image, (x, y), side in pieces:
        canvas[y : y + side, x : x + side] = cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)
    return canvas


def dashboard_environment(tmp_path: Path) -> dict[str, str]:
    """Public mode with the shipped model (a tiny untrained stand-in when the checkout has none)."""
    shipped = SHIPPED if (SHIPPED / "checkpoint" / "model.safetensors").is_file() else finished_run(tmp_path / "shipped", "default").root
    return {"FER_DASHBOARD_MODE": "public", "FER_RUNS_DIR": str(tmp_path / "runs"), "FER_DEFAULT_CHECKPOINT": str(shipped),
            "FER_CACHE_DIR": os.environ.get("FER_CACHE_DIR", str(tmp_path / "cache"))}


def save_small_png(png: bytes, path: Path) -> Path:
    """A screenshot as a 256-colour PNG (a README image, kept under SCREENSHOT_MAX_BYTES)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def run_predict_page(tmp_path: Path, out_dir: Path) -> dict[str, object]:
    """Upload the group photo, then the cat; screenshots into `out_dir`; what the page showed, for the asserts."""
    from playwright.sync_api import sync_playwright

    group, cat = tmp_path / "group-photo.jpg", tmp_path / "cat.jpg"
    Image.fromarray(group_photo()).save(group, quality=92)
    Image.fromarray(skimage.data.chelsea()).save(cat, quality=92)
    seen: dict[str, object] = {}
    with running_dashboard(dashboard_environment(tmp_path), log_path=tmp_path / "streamlit.log") as url, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            # Streamlit scrolls inside its own container, so a screenshot shows the viewport: size it to the result.
            page = browser.new_page(viewport={"width": 1300, "height": 1850})
            open_page(page, url, "Predict")
            seen["model picker"] = page.get_by_text("Model: shipped default model").count()
            upload_photo(page, group)
            page.wait_for_timeout(1500)  # charts paint after the script run ends
            seen["caption"] = page.get_by_text("numbered in reading order").first.inner_text()
            seen["crops"] = page.eval_on_selector_all(
                '[data-testid="stImage"] img', "els => els.filter(e => e.clientWidth === %d).map(e => "
                "[Math.round(e.getBoundingClientRect().left), Math.round(e.getBoundingClientRect().top)])" % PANEL_CROP_PX)
            seen["exceptions"] = page.locator('[data-testid="stException"]').count()
            save_small_png(page.screenshot(), out_dir / "predict-group.png")
            page = browser.new_page(viewport={"width": 1300, "height": 950})
            open_page(page, url, "Predict")
            upload_photo(page, cat)
            page.wait_for_timeout(1000)
            seen["no face"] = page.get_by_text("No face found in cat.jpg").count()
            seen["exceptions"] = int(seen["exceptions"]) + page.locator('[data-testid="stException"]').count()
            save_small_png(page.screenshot(), out_dir / "predict-no-face.png")
        finally:
            browser.close()
    seen["log"] = (tmp_path / "streamlit.log").read_text()
    return seen


def test_predict_page_group_photo_and_cat_in_chromium(tmp_path: Path) -> None:
    if not chromium_available():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    pytest.importorskip("playwright.sync_api")
    seen = run_predict_page(tmp_path, tmp_path)
    assert seen["model picker"] == 1 and seen["exceptions"] == 0 and "Traceback" not in seen["log"]
    faces = int(str(seen["caption"]).split()[0])
    crops = seen["crops"]
    assert faces >= 6 and len(crops) == faces, (seen["caption"], crops)  # one 112 px crop per face, none blown up
    rows = sorted({top for _, top in crops})
    assert len(rows) == -(-faces // 4)  # a grid of four panels per row, not one long column
    first_row = [left for left, top in crops if top == rows[0]]
    assert first_row == sorted(first_row) and len(first_row) == 4
    assert seen["no face"] == 1
    for name in ("predict-group.png", "predict-no-face.png"):
        assert (tmp_path / name).stat().st_size < SCREENSHOT_MAX_BYTES


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        result = run_predict_page(Path(scratch), REPO_ROOT / "docs" / "images")
    print({key: value for key, value in result.items() if key != "log"})
