"""The Video page in Debian chromium (Playwright): an uploaded video comes back with its timeline; in full mode
the camera streams through streamlit-webrtc from Chromium's fake camera and comes back with labels drawn.

The page is served on its own (`streamlit run dashboard/views/video.py`), so this runs before and after it is
added to the app's navigation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fer_engine.video.synthetic import FacePath, render_frames, write_video
from support.browser import (
    chromium_available,
    fake_camera_args,
    launch_chromium,
    running_dashboard,
    wait_until_idle,
    write_y4m,
)
from support.paths import REPO_ROOT
from support.video import astronaut_face

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not chromium_available(), reason="Debian chromium is not installed")]
PAGE = REPO_ROOT / "dashboard" / "views" / "video.py"
TIMEOUT_MS = 240_000


@contextmanager
def video_page(tmp_path: Path, mode: str) -> Iterator[str]:
    """The Video page served headless on a free port; yields its URL."""
    env = {"PYTHONPATH": str(REPO_ROOT), "FER_DASHBOARD_MODE": mode,
           "FER_CACHE_DIR": os.environ.get("FER_CACHE_DIR", str(tmp_path / "cache"))}
    with running_dashboard(env, log_path=tmp_path / "streamlit.log", script=PAGE) as url:
        yield url


def test_uploaded_video_shows_the_annotated_video_and_a_timeline(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    face = FacePath(astronaut_face(), 0, 2, (200, 220), (420, 260), 160, 200)
    clip = write_video(tmp_path / "astronaut.mp4", render_frames([face], seconds=2, fps=5), fps=5)
    with video_page(tmp_path, "public") as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
            wait_until_idle(page, TIMEOUT_MS)
            page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(clip))
            page.get_by_role("button", name="Analyse").click(timeout=TIMEOUT_MS)
            page.get_by_text("Face #1").first.wait_for(timeout=TIMEOUT_MS)  # the Plotly timeline's title
            wait_until_idle(page, TIMEOUT_MS)
            text = page.inner_text("body")
            page.screenshot(path=str(tmp_path / "video-page.png"), full_page=True)
            video_ready = page.evaluate("() => { const v = document.querySelector('video');"
                                        " return !!v && !!v.currentSrc && !v.error; }")
        finally:
            browser.close()
    assert "astronaut.mp4" in text and "Share of time in each expression" in text
    assert "Download the table (CSV)" in text
    assert video_ready, "the annotated video element is missing or failed to load"


_OUTPUT_FRAME_JS = """() => {
  const videos = [...document.querySelectorAll('video')].filter(v => v.readyState >= 2 && v.videoWidth > 0);
  if (!videos.length) return null;
  const v = videos[videos.length - 1];
  const canvas = document.createElement('canvas');
  canvas.width = v.videoWidth; canvas.height = v.videoHeight;
  const context = canvas.getContext('2d');
  context.drawImage(v, 0, 0);
  return {width: v.videoWidth, height: v.videoHeight, pixels: Array.from(context.getImageData(0, 0, v.videoWidth, v.videoHeight).data)};
}"""
_CAPTION_SHOWN_JS = """() => {
  const frame = (""" + _OUTPUT_FRAME_JS + """)();
  if (!frame) return false;
  let sum = 0, count = 0;
  for (let y = 2; y < 12; y++) for (let x = 2; x < 40; x++) { const i = 4 * (y * frame.width + x); sum += frame.pixels[i] + frame.pixels[i + 1] + frame.pixels[i + 2]; count += 3; }
  return sum / count > 200;
}"""


def test_live_camera_streams_frames_with_labels_drawn(tmp_path: Path) -> None:
    """Chromium's fake camera plays the astronaut; frames come back with the white fps caption and a coloured box
    and label around her face (until the first analysed frame, streamlit-webrtc passes the camera's own frames)."""
    import numpy as np
    from playwright.sync_api import sync_playwright

    from fer_engine.predict.annotate import LABEL_COLOURS

    still = next(render_frames([FacePath(astronaut_face(), 0, 1, (320, 240), (320, 240), 200, 200)], seconds=1, fps=1))
    camera = write_y4m(tmp_path / "camera.y4m", still, frames=30)
    extra = (*fake_camera_args(camera), "--disable-features=WebRtcHideLocalIpsWithMdns")
    with video_page(tmp_path, "full") as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright, extra)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
            wait_until_idle(page, TIMEOUT_MS)
            page.get_by_role("tab", name="Camera").click()
            page.get_by_text("use the camera").click()
            wait_until_idle(page, TIMEOUT_MS)
            page.frame_locator('iframe[title*="streamlit_webrtc"]').first.get_by_role("button", name="START").click(timeout=TIMEOUT_MS)
            webrtc = next(f for f in page.frames if "streamlit_webrtc" in (f.url or "") or f.name.startswith("streamlit_webrtc"))
            webrtc.wait_for_function(_CAPTION_SHOWN_JS, timeout=TIMEOUT_MS, polling=500)
            shot = webrtc.evaluate(_OUTPUT_FRAME_JS)
            page.screenshot(path=str(tmp_path / "video-live.png"), full_page=True)
        finally:
            browser.close()
    rgb = np.array(shot["pixels"], dtype=np.uint8).reshape(shot["height"], shot["width"], 4)[:, :, :3]
    region = (slice(140, 340), slice(220, 420))  # where the astronaut is shown: her box and label are drawn in it

    def coloured(image, colour) -> int:
        return int((np.abs(image[region].astype(int) - np.array(colour)).sum(axis=2) < 40).sum())

    added = {name: coloured(rgb, colour) - coloured(still, colour) for name, colour in LABEL_COLOURS.items()}
    assert max(added.values()) > 300, added  # a box outline and a label background in one expression's colour
