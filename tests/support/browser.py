"""Test support: start the dashboard in a subprocess and drive it with Debian's chromium through Playwright.

Shared by the browser tests and benchmarks/dashboard_timing.py; never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.paths import APP_FILE, REPO_ROOT

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGE_PATHS = {"Overview": "", "Data": "data", "Train": "train", "Experiments": "experiments", "Sweeps": "sweeps",
              "Embeddings": "embeddings", "Predict": "predict", "Video": "video"}
"""Page title -> URL path (st.Page derives it from the file name in views/)."""

# stApp carries the script state (initial -> running -> notRunning); skeletons stand in for elements still loading.
_IDLE_JS = ("() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state')"
            " === 'notRunning' && !document.querySelector('[data-testid=stSkeleton]')")


def chromium_available() -> bool:
    """Debian's chromium binary is installed."""
    return Path(CHROMIUM_PATH).is_file() or shutil.which("chromium") is not None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_dashboard(env: dict[str, str], port: int | None = None, timeout_s: float = 90.0,
                      log_path: Path | None = None, address: str = "localhost",
                      script: Path = APP_FILE) -> Iterator[str]:
    """`streamlit run dashboard/app.py` (or one page `script`) headless, listening on `address` (0.0.0.0: every
    interface, as the Procfile starts it); yields its base URL on localhost and stops it afterwards."""
    port = port or free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script),
               "--server.headless", "true", "--server.port", str(port), "--server.address", address,
               "--browser.gatherUsageStats", "false"]
    with open(log_path or os.devnull, "w") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        url = f"http://localhost:{port}"
        try:
            _wait_until_healthy(process, url, timeout_s, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_healthy(process: subprocess.Popen, url: str, timeout_s: float, log_path: Path | None) -> None:
    """Poll Streamlit's health endpoint until it answers (or the process dies, or time runs out)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {process.returncode} (log: {log_path})")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the dashboard did not answer on {url} within {timeout_s:.0f} s")
        time.sleep(0.5)


def launch_chromium(playwright, extra_args: tuple[str, ...] = ()):
    """Headless Debian chromium (never a downloaded browser); `extra_args` e.g. a fake camera."""
    return playwright.chromium.launch(executable_path=CHROMIUM_PATH if Path(CHROMIUM_PATH).is_file()
                                      else shutil.which("chromium"), headless=True, args=[*CHROMIUM_ARGS, *extra_args])


def fake_camera_args(video: Path) -> tuple[str, ...]:
    """Chromium flags that grant camera access and play `video` (a .y4m or .mjpeg file) as the webcam."""
    return ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}")


_CAMERA_PLAYING_JS = """() => {
  const video = document.querySelector('[data-testid="stCameraInput"] video');
  return !!video && video.readyState >= 2 && video.videoWidth > 0 && video.currentTime > 0.3;
}"""


def wait_for_camera_frames(page, timeout_ms: float = 120_000) -> None:
    """Wait until the camera widget's video shows real frames, so a snapshot is not the blank first frame."""
    page.wait_for_function(_CAMERA_PLAYING_JS, timeout=timeout_ms, polling=100)


def write_y4m(path: Path, rgb, frames: int = 2) -> Path:
    """A still RGB image as a YUV4MPEG2 (4:2:0) clip, the format Chromium's fake webcam reads."""
    import cv2

    height, width = rgb.shape[:2]
    yuv = cv2.cvtColor(rgb[: height - height % 2, : width - width % 2], cv2.COLOR_RGB2YUV_I420).tobytes()
    header = f"YUV4MPEG2 W{width - width % 2} H{height - height % 2} F30:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"".join(b"FRAME\n" + yuv for _ in range(frames)))
    return path


def wait_until_idle(page, timeout_ms: float = 120_000) -> None:
    """Wait for the page's script run to finish: a title is shown and the running indicator is gone."""
    page.wait_for_function(_IDLE_JS, timeout=timeout_ms, polling=100)
    page.wait_for_selector("h1", timeout=timeout_ms)


def open_page(page, base_url: str, title: str, timeout_ms: float = 120_000, query: str = "") -> float:
    """Open one dashboard page (`query` e.g. 'projection=PCA') and wait until it has rendered; returns seconds."""
    started = time.perf_counter()
    suffix = f"?{query}" if query else ""
    page.goto(f"{base_url}/{PAGE_PATHS[title]}{suffix}", wait_until="domcontentloaded", timeout=timeout_ms)
    wait_until_idle(page, timeout_ms)
    return time.perf_counter() - started


def upload_photo(page, photo: Path, timeout_ms: float = 180_000) -> float:
    """On the Predict page: upload `photo` and wait for the annotated result; returns the seconds it took."""
    started = time.perf_counter()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(photo))
    page.get_by_text("face(s)").or_(page.get_by_text("No face found")).first.wait_for(timeout=timeout_ms)
    wait_until_idle(page, timeout_ms)
    return time.perf_counter() - started
