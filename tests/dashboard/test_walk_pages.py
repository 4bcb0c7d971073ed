"""Every control, clicked (issue 14): the real dashboard in Debian chromium, every page of the full mode and of the
public demo, every widget operated as a user would; any exception box or error message fails the walk.

Data: FER2013 when FER2013_PATH is set (small made data otherwise), two runs in the runs root and one finished job;
the public demo serves the real shipped model, the full mode's walk uses a tiny run in its place. Buttons that start long work (queue, launch a sweep, cancel, retry, start a worker, log out) and the Train
form's submit are left alone: submitting a job is the Train page's own browser test. Each page's screenshot after
the walk goes to test-artifacts/screenshots/walk-<mode>-<page>.png.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from support.browser import (
    PAGE_PATHS,
    chromium_available,
    launch_chromium,
    open_page,
    running_dashboard,
    wait_until_idle,
)
from support.builders import dataset_val_keys, finished_run, image_folder_dataset
from support.paths import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PlaywrightError = pytest.importorskip("playwright.sync_api").Error
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
PUBLIC_TITLES = ["Overview", "Experiments", "Embeddings", "Predict", "Video"]
STEP_TIMEOUT_MS = int(os.environ.get("FER_WALK_STEP_TIMEOUT_MS", "300000"))  # one operation may project 3,589 embeddings with t-SNE on a busy 2-core machine
LONG_WORK = re.compile(r"queue|launch|cancel|retry|start|log ?out|log ?in|delete|remove|stop|submit|ship", re.IGNORECASE)
"""Buttons the walk leaves alone: they start or end long work, or leave the session."""
LOCATE_TIMEOUT_MS = 20_000  # finding and clicking a control; waiting for the rerun it causes has STEP_TIMEOUT_MS
RERUN_START_MS = 1_500  # an action's rerun starts within this (or the action started none)
RUN_COUNTER = "__walkScriptRuns"
COUNT_RUNS_JS = f"""window.{RUN_COUNTER} = 0;
new MutationObserver(changes => {{
  for (const change of changes)
    if (change.target.getAttribute('data-test-script-state') === 'running') window.{RUN_COUNTER} += 1;
}}).observe(document, {{attributes: true, subtree: true, attributeFilter: ['data-test-script-state']}});"""
"""Counts the script runs a page starts (stApp's script state turning 'running'), so a walk step can wait for
the rerun its click causes even when the server is slow to start it."""
MAX_OPTIONS = 4  # options tried per select box / radio (the first ones, then the last one)


@dataclass
class Walk:
    """What the walk did on one page and which problems it saw (page, widget, message)."""

    page: object
    title: str
    files: dict[str, Path]
    operated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    runs_seen: int = 0  # script runs the page had started when it was last idle


@pytest.fixture
def walk_env(tmp_path: Path) -> dict[str, str]:
    """The dashboard as a user starts it (defaults kept: shipped model, worker auto-start) plus data and runs."""
    if not chromium_available():
        pytest.skip("Debian chromium (/usr/bin/chromium) is not installed")
    pytest.importorskip("playwright.sync_api")
    real = os.environ.get("FER2013_PATH")
    dataset = Path(real) if real and Path(real).exists() else image_folder_dataset(tmp_path)
    keys = dataset_val_keys(dataset)
    runs = tmp_path / "runs"
    finished_run(runs, "run-a", loss="ce", seed=0, keys=keys)
    finished_run(runs, "run-b", loss="triplet", seed=1, keys=keys)
    _finished_job(runs, "run-a")
    return {"FER_RUNS_DIR": str(runs), "FER2013_PATH": str(dataset), "FER_CACHE_DIR": os.environ["FER_CACHE_DIR"]}


def _finished_job(runs: Path, run_id: str) -> None:
    """A job that ran to the end, attached to `run_id`: the jobs table, its detail and its log have something.
    (A failed job would show its reason as an error message, which the walk counts as a problem.)"""
    from fer_engine.jobs.queue import JobQueue
    from fer_engine.pipeline import PipelineSpec

    queue = JobQueue(runs)
    queue.submit(PipelineSpec(data_path=str(runs), preset="fast_cpu", name="walked"), name="walked", owner="local")
    job = queue.claim("walk-worker", ["cpu"])
    queue.attach_run(job.id, run_id, lease=job.lease)
    queue.finish(job.id, "succeeded", lease=job.lease)


@pytest.fixture
def upload_files(tmp_path: Path) -> dict[str, Path]:
    """What a user uploads: a photo with a face (skimage's astronaut) and a small dataset zip."""
    from skimage.data import astronaut

    from fer_engine.data.synthetic import write_image_folder

    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(photo)
    archive = write_image_folder(tmp_path / "upload", {"train": 2, "val": 1}, as_zip=True)
    assert zipfile.is_zipfile(archive)
    return {"image": photo, "zip": archive, "csv": archive}


def test_full_mode_every_page_every_control(walk_env: dict[str, str], upload_files: dict[str, Path],
                                            tmp_path: Path) -> None:
    # The shipped model is run-a here: every projection method on 21 points, not 3,589 (t-SNE alone takes
    # minutes on a busy 2-core machine). The real shipped model is walked in the public mode's test.
    env = {**walk_env, "FER_DEFAULT_CHECKPOINT": str(Path(walk_env["FER_RUNS_DIR"]) / "run-a")}
    problems = _walk_app(env, upload_files, tmp_path, "full", list(PAGE_PATHS))
    assert not problems, "\n".join(problems)


def test_public_mode_every_page_every_control(walk_env: dict[str, str], upload_files: dict[str, Path],
                                              tmp_path: Path) -> None:
    problems = _walk_app({**walk_env, "FER_DASHBOARD_MODE": "public"}, upload_files, tmp_path, "public", PUBLIC_TITLES)
    assert not problems, "\n".join(problems)


def _walk_app(env: dict[str, str], files: dict[str, Path], tmp_path: Path, mode: str, titles: list[str]) -> list[str]:
    """Start the app in `mode`, check its navigation lists `titles`, walk each page; returns every problem seen."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    log_path = tmp_path / f"streamlit-{mode}.log"
    with running_dashboard(env, log_path=log_path) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for title in titles:
                context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
                context.add_init_script(COUNT_RUNS_JS)
                page = context.new_page()
                page.set_default_timeout(LOCATE_TIMEOUT_MS)
                open_page(page, url, title, timeout_ms=STEP_TIMEOUT_MS)
                listed = [_visible_text(a) for a in page.locator('[data-testid="stSidebarNav"] a').all()]
                if listed != titles:
                    problems.append(f"{mode}: the navigation lists {listed}, expected {titles}")
                walk = Walk(page, f"{mode} {title}", files, runs_seen=page.evaluate(f"window.{RUN_COUNTER}"))
                _check(walk, "opening the page")
                _walk_page(walk, url)
                page.screenshot(path=str(SCREENSHOTS / f"walk-{mode}-{title.lower()}.png"), full_page=True)
                print(f"{walk.title}: {len(walk.operated)} actions: {walk.operated}")
                problems += walk.problems
                if mode == "public":
                    problems += _leaks_of_the_runs_root(walk)
                if not walk.operated:
                    problems.append(f"{mode} {title}: the walk found no control to operate")
                context.close()
        finally:
            browser.close()
    log = log_path.read_text()
    if "Traceback" in log:
        problems.append(f"{mode}: the server log has a traceback:\n{log[-3000:]}")
    return problems


def _leaks_of_the_runs_root(walk: Walk) -> list[str]:
    """The public demo shows the shipped model and the examples only: no run of the runs root (run-a, run-b), in
    the page or among the options the walk picked, and no path box."""
    seen = [action for action in walk.operated if re.search(r"run-[ab]\b", action)]
    if re.search(r"run-[ab]\b", walk.page.locator("body").inner_text()):
        seen.append("the page text")
    boxes = [_label(box) for box in walk.page.locator('[data-testid="stTextInput"]').all()]
    return ([f"{walk.title}: runs of the runs root shown in the public demo: {seen}"] if seen else []) + [
        f"{walk.title}: a path box in the public demo: {box!r}" for box in boxes if re.search(r"path|folder", box, re.I)]


def _walk_page(walk: Walk, url: str) -> None:
    """Operate every control of the page, opening expanders and each tab so that nothing stays hidden."""
    for _ in range(3):  # a control may reveal others (a chosen run shows its details): walk until nothing new
        before = len(walk.operated)
        _open_expanders(walk)
        _operate_visible(walk)
        tabs = walk.page.locator('[data-testid="stTabs"] [role="tab"]')
        for index in range(tabs.count()):
            tab = tabs.nth(index)
            name = f"tab {_visible_text(tab)!r}"
            if tab.is_visible() and name not in walk.operated:
                tab.click()
                _settle(walk, name)
                _open_expanders(walk)
                _operate_visible(walk)
        if len(walk.operated) == before:
            break
    _follow_page_links(walk, url)


def _open_expanders(walk: Walk) -> None:
    expanders = walk.page.locator('[data-testid="stExpander"] details:not([open]) > summary')
    for index in reversed(range(expanders.count())):
        summary = expanders.nth(index)
        if summary.is_visible():
            name = f"expander {_visible_text(summary)!r}"
            summary.click()
            _settle(walk, name)


def _operate_visible(walk: Walk) -> None:
    """One pass over each kind of control; each control once (by kind and label), the page re-read after each."""
    for kind, operate in OPERATIONS.items():
        index = 0
        while index < (controls := walk.page.locator(f'[data-testid="{kind}"]')).count():
            control = controls.nth(index)
            index += 1
            if not control.is_visible():
                continue
            name = f"{kind} {_label(control)!r}"
            if name in walk.operated:
                continue
            try:
                operate(walk, control, name)
            except PlaywrightError as exc:  # a control the walk cannot operate is a finding too; walk on
                walk.problems.append(f"{walk.title}: could not operate {name}: {str(exc).splitlines()[0]}")
                walk.page.keyboard.press("Escape")
            walk.operated.append(name)


def _label(control) -> str:
    """The control's label (or its text), without the icon names Material icons render as text."""
    label = control.locator('[data-testid="stWidgetLabel"]')
    return _visible_text(label.first if label.count() else control)


def _visible_text(element) -> str:
    lines = [line.strip() for line in element.inner_text().splitlines() if line.strip()]
    return lines[-1][:60] if lines else ""


def _settle(walk: Walk, name: str, rerun_start_ms: int = RERUN_START_MS) -> None:
    """Wait for the rerun the action caused to start and to end, then look for errors; records the action as done.

    A run counted since the last settle means the action started one; none within `rerun_start_ms` means it
    started none (a field of a form, an expander, a tab)."""
    print(f"  {walk.title}: {name}", flush=True)  # shown with a failure: how far the walk got
    try:
        walk.page.wait_for_function(f"() => window.{RUN_COUNTER} > {walk.runs_seen}", timeout=rerun_start_ms)
    except PlaywrightError:
        pass
    wait_until_idle(walk.page, STEP_TIMEOUT_MS)
    walk.runs_seen = walk.page.evaluate(f"window.{RUN_COUNTER}")
    walk.operated.append(name)
    _check(walk, name)


def _check(walk: Walk, action: str) -> None:
    """Exception boxes and error messages on the page, recorded with the page and the action that showed them."""
    for selector, what in (('[data-testid="stException"]', "exception"),
                           ('[data-testid="stAlertContentError"]', "error")):
        for element in walk.page.locator(selector).all():
            message = f"{what}: {' '.join(element.inner_text().split())[:300]}"
            if message not in walk.seen:  # reported once, with the first action that showed it
                walk.seen.add(message)
                walk.problems.append(f"{walk.title}: after {action}: {message}")


def _options(walk: Walk, control):
    """Open the control's drop-down list; its options (Streamlit's combobox lists them in a popover)."""
    toggle = control.locator('button[aria-label="Open"]').first
    for attempt in range(2):  # a list still closing from the last pick can swallow the first click
        if toggle.get_attribute("aria-expanded") != "true":
            toggle.click()
        try:
            walk.page.locator('[role="listbox"] [role="option"]').first.wait_for(timeout=5_000 * (attempt + 1))
            break
        except PlaywrightError:
            walk.page.keyboard.press("Escape")
    # "No results" is an option without a key; "Select all" is the multiselect's shortcut
    return walk.page.locator('[role="listbox"] [role="option"][data-key]:not([data-key="__select_all__"])')


def _close_list(walk: Walk) -> None:
    walk.page.keyboard.press("Escape")
    walk.page.locator('[role="listbox"]').first.wait_for(state="hidden")


def _select_box(walk: Walk, control, name: str) -> None:
    """Pick a few options one after another (the first ones and the last), as a user browsing the choices would."""
    count = _options(walk, control).count()
    _close_list(walk)
    if count == 0:
        return
    for pick in sorted({*range(min(count, MAX_OPTIONS - 1)), count - 1}):
        options = _options(walk, control)
        if pick >= options.count():  # the list changed since: virtualised or filtered
            _close_list(walk)
            continue
        text = _visible_text(options.nth(pick))
        options.nth(pick).click()
        _settle(walk, f"{name} -> {text!r}")


def _multiselect(walk: Walk, control, name: str) -> None:
    """Add the first option not yet chosen, then take the last chosen one out again."""
    options = _options(walk, control)
    if options.count() == 0:
        _close_list(walk)
        return
    text = _visible_text(options.first)
    options.first.click()
    _close_list(walk)
    _settle(walk, f"{name} + {text!r}")
    tags = control.locator('[data-testid="stMultiSelectTagsContainer"] button[aria-label^="Remove"]')
    if tags.count():
        tags.last.click()
        _settle(walk, f"{name} - last chosen")


def _radio(walk: Walk, control, name: str) -> None:
    """Choose each option (up to MAX_OPTIONS), then the first again."""
    labels = control.locator('[data-testid="stRadioOption"]')
    count = labels.count()
    for pick in [*range(1, min(count, MAX_OPTIONS)), 0]:
        text = labels.nth(pick).inner_text().strip()
        labels.nth(pick).click()
        _settle(walk, f"{name} -> {text!r}")


def _check_box(walk: Walk, control, name: str) -> None:
    """Check boxes and toggles: switch, then switch back."""
    for state in ("switched", "switched back"):
        control.locator("label").first.click()
        _settle(walk, f"{name} {state}")


def _slider(walk: Walk, control, name: str) -> None:
    """One step right, one step back, with the keyboard on the slider's thumb (a visually hidden range input)."""
    thumb = control.locator('input[type="range"]').first
    for key in ("ArrowRight", "ArrowLeft"):
        thumb.focus()
        walk.page.keyboard.press(key)
        _settle(walk, f"{name} {key}")


def _number(walk: Walk, control, name: str) -> None:
    for step in ("stNumberInputStepUp", "stNumberInputStepDown"):
        button = control.locator(f'[data-testid="{step}"]')
        if button.is_enabled():
            button.click()
            _settle(walk, f"{name} {step[17:].lower()}")


def _text(walk: Walk, control, name: str) -> None:
    """Re-enter the shown value (a path box keeps its path); a filter box gets a filter typed, then cleared."""
    box = control.locator("input").first
    value = box.input_value()
    if "filter" in name.lower() or "search" in name.lower():
        for typed in ("run", ""):
            box.fill(typed)
            box.press("Enter")
            _settle(walk, f"{name} = {typed!r}")
        return
    box.fill(value)
    box.press("Enter")
    _settle(walk, name)


def _button(walk: Walk, control, name: str) -> None:
    if LONG_WORK.search(name) or control.locator("button").first.is_disabled():
        return
    control.locator("button").first.click()
    _settle(walk, name, rerun_start_ms=10_000)  # a button always reruns the script: give a busy server time


def _button_group(walk: Walk, control, name: str) -> None:
    """Segmented controls and pills: each option."""
    buttons = control.locator("button")
    for pick in range(min(buttons.count(), MAX_OPTIONS)):
        text = buttons.nth(pick).inner_text().strip()
        buttons.nth(pick).click()
        _settle(walk, f"{name} -> {text!r}")


def _download(walk: Walk, control, name: str) -> None:
    with walk.page.expect_download() as download:
        control.locator("button").first.click()
    failure = download.value.failure()
    if failure:
        walk.problems.append(f"{walk.title}: {name}: download failed: {failure}")


def _file_upload(walk: Walk, control, name: str) -> None:
    """A photo to a photo uploader, the small dataset zip to a dataset uploader."""
    chooser = control.locator('input[type="file"]')
    accepted = chooser.get_attribute("accept") or ""
    kind = "image" if re.search(r"png|jpe?g|image", accepted) else "zip" if "zip" in accepted else None
    if kind is None:
        return
    chooser.set_input_files(str(walk.files[kind]))
    _settle(walk, f"{name} <- {walk.files[kind].name}")


def _plot_point(walk: Walk, control, name: str) -> None:
    """Click the first point of a scatter plot (the Embeddings map shows the face behind it)."""
    points = control.locator(".scatterlayer .point")
    if points.count() == 0:
        return
    points.first.click(force=True)
    _settle(walk, f"{name} point clicked")


def _follow_page_links(walk: Walk, url: str) -> None:
    """Each page link on the page opens a page that renders without errors; back to the page afterwards."""
    for index in range(walk.page.locator('[data-testid="stPageLink"] a').count()):
        link = walk.page.locator('[data-testid="stPageLink"] a').nth(index)
        text = _visible_text(link)
        link.click()
        _settle(walk, f"page link {text!r}")
        if walk.page.locator("h1").first.inner_text().strip() == "":
            walk.problems.append(f"{walk.title}: page link {text!r} opened a page without a title")
        open_page(walk.page, url, walk.title.split(" ", 1)[1], timeout_ms=STEP_TIMEOUT_MS)
        walk.runs_seen = walk.page.evaluate(f"window.{RUN_COUNTER}")


OPERATIONS = {
    "stSelectbox": _select_box,
    "stMultiSelect": _multiselect,
    "stRadio": _radio,
    "stCheckbox": _check_box,
    "stSlider": _slider,
    "stNumberInput": _number,
    "stTextInput": _text,
    "stButtonGroup": _button_group,
    "stFileUploader": _file_upload,
    "stButton": _button,
    "stDownloadButton": _download,
    "stPlotlyChart": _plot_point,
}
"""Each kind of control (its data-testid) and how a user operates it."""
