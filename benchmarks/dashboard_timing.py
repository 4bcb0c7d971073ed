"""Dashboard responsiveness in a real browser: time to first render of each page and upload -> result on Predict.

Starts `streamlit run dashboard/app.py` on localhost, drives Debian chromium with Playwright and prints, per page,
the first (cold: imports, dataset and model loading) and the median warm render time over `--repeats` further
visits (each visit is a fresh browser session, so only Streamlit's caches are warm), then the same for one photo
(skimage's astronaut) uploaded on the Predict page.

    python benchmarks/dashboard_timing.py --repeats 3 [--data $FER2013_PATH] [--checkpoint checkpoints/default]

Without a shipped model (and no --checkpoint) an untrained `--arch` model is written to a temp run folder: the
timings depend on the architecture, not on the weights.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests"))  # the browser helpers are test support (tests/support/)

from support.browser import (
    PAGE_PATHS,
    chromium_available,
    launch_chromium,
    open_page,
    running_dashboard,
    upload_photo,
)


def _prepare(args: argparse.Namespace, scratch: Path) -> dict[str, str]:
    """Environment of the dashboard process: runs root, shipped model, dataset, cache."""
    from fer_engine.paths import DEFAULT_CHECKPOINT_DIR

    env = {"FER_RUNS_DIR": args.runs_dir or str(scratch / "runs")}
    data = args.data or os.environ.get("FER2013_PATH")
    if not data:
        from fer_engine.data.synthetic import write_image_folder

        data = str(write_image_folder(scratch / "synthetic-fer", {"train": 20, "val": 10}))
        print(f"no dataset given: using a synthetic one at {data}")
    env["FER2013_PATH"] = data
    checkpoint = args.checkpoint or os.environ.get("FER_DEFAULT_CHECKPOINT")
    if not checkpoint and not (DEFAULT_CHECKPOINT_DIR / "checkpoint" / "model.safetensors").is_file():
        checkpoint = str(_stand_in_run(args.arch, data, scratch / "untrained-run"))
    if checkpoint:
        env["FER_DEFAULT_CHECKPOINT"] = str(checkpoint)
    return env


def _stand_in_run(arch: str, data: str, folder: Path) -> Path:
    """An untrained `arch` checkpoint with val embeddings of `data`, so every page has something to show."""
    from fer_engine.data import load_dataset
    from fer_engine.embeddings import embed_run
    from fer_engine.models import create_model
    from fer_engine.models.checkpoint import ModelCard, save_checkpoint
    from fer_engine.runs.layout import RunPaths

    run = RunPaths(folder)
    model = create_model(arch)
    save_checkpoint(model, ModelCard(arch=arch, embedding_dim=model.embedding_dim), run.checkpoint_dir)
    embed_run(run, load_dataset(data), ["val"])
    print(f"no shipped model: using an untrained {arch} with val embeddings in {folder}")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm visits per page (median reported)")
    parser.add_argument("--data", help="dataset path (default: FER2013_PATH, else a synthetic folder)")
    parser.add_argument("--checkpoint", help="run folder used as the shipped model (default: checkpoints/default)")
    parser.add_argument("--runs-dir", help="runs root shown by the dashboard (default: an empty temp folder)")
    parser.add_argument("--arch", default="vgg19_bn", help="architecture of the stand-in model when none is shipped")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for one page render")
    args = parser.parse_args()
    if not chromium_available():
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 1
    from PIL import Image
    from playwright.sync_api import sync_playwright
    from skimage.data import astronaut

    with tempfile.TemporaryDirectory(prefix="fer-dashboard-timing-") as scratch_name:
        scratch = Path(scratch_name)
        env = _prepare(args, scratch)
        photo = scratch / "astronaut.png"
        Image.fromarray(astronaut()).save(photo)
        rows = []
        with running_dashboard(env, log_path=scratch / "streamlit.log") as url, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for title in PAGE_PATHS:
                    times = []
                    for _ in range(args.repeats + 1):
                        page = browser.new_page(viewport={"width": 1400, "height": 1000})
                        times.append(open_page(page, url, title, timeout_ms=args.timeout * 1000))
                        page.close()
                    rows.append((f"page {title}", times[0], statistics.median(times[1:])))
                times = []
                for _ in range(args.repeats + 1):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    open_page(page, url, "Predict", timeout_ms=args.timeout * 1000)
                    times.append(upload_photo(page, photo, timeout_ms=args.timeout * 1000))
                    page.close()
                rows.append(("upload -> result (astronaut, 1 face)", times[0], statistics.median(times[1:])))
            finally:
                browser.close()
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s); "
          f"data: {env['FER2013_PATH']}; model: {env.get('FER_DEFAULT_CHECKPOINT', 'checkpoints/default')}")
    print(f"{'what':40s} {'first (s)':>10s} {'warm median (s)':>16s}")
    for name, first, warm in rows:
        print(f"{name:40s} {first:10.2f} {warm:16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
