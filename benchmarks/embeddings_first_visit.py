"""Time of the Embeddings page's first visit for the shipped model and each example run (Streamlit AppTest).

Each run is timed in fresh Python processes: "cold" runs the Embeddings page script alone in a new process (every
import included, as the first request to a just-started server); "first visit" runs app.py once (the Overview, as
a browser's first load), then opens the Embeddings page on that run with the default settings (UMAP, 4,000
points); "again" reruns it (warm caches). With a stored map the page draws it without computing UMAP.

    python benchmarks/embeddings_first_visit.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

_COLD = r"""
import json, sys, time
start = time.perf_counter()
sys.path.insert(0, {repo!r})
from streamlit.testing.v1 import AppTest
page = AppTest.from_file({page!r}, default_timeout=600)
if {key!r}:
    page.query_params["run"] = {key!r}
page.run()
print(json.dumps({{"cold": time.perf_counter() - start, "exception": [e.value for e in page.exception]}}))
"""

_CHILD = r"""
import json, sys, time
sys.path.insert(0, {repo!r})
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({app!r}, default_timeout=600)
if {key!r}:
    app.query_params["run"] = {key!r}
app.run()
start = time.perf_counter()
app.switch_page("views/embeddings.py").run()
first = time.perf_counter() - start
start = time.perf_counter()
app.run()
again = time.perf_counter() - start
captions = [c.value for c in app.caption if "embeddings of" in c.value]
print(json.dumps({{"first": first, "again": again, "exception": [e.value for e in app.exception],
                   "caption": captions[0] if captions else ""}}))
"""


def main() -> int:
    sys.path.insert(0, str(REPO_ROOT))
    from fer_engine.runs.examples import list_examples

    targets = [("shipped default model", "")] + [(f"{e.root.name} (example)", f"example-{e.root.name}")
                                                 for e in list_examples()]
    print(f"{'run':28s} {'cold':>8s} {'first visit':>12s} {'again':>8s}  map")
    for label, key in targets:
        cold = _child(_COLD.format(repo=str(REPO_ROOT), page=str(REPO_ROOT / "dashboard" / "views" / "embeddings.py"),
                                   key=key))
        row = _child(_CHILD.format(repo=str(REPO_ROOT), app=str(REPO_ROOT / "dashboard" / "app.py"), key=key))
        if cold is None or row is None:
            print(f"{label:28s} failed")
            continue
        source = "stored" if "precomputed" in row["caption"] else ("computed" if row["caption"] else "none shown")
        problems = cold["exception"] + row["exception"]
        print(f"{label:28s} {cold['cold']:6.2f} s {row['first']:10.2f} s {row['again']:6.2f} s  {source}"
              + (f"  EXCEPTION {problems}" if problems else ""))
    return 0


def _child(code: str) -> dict | None:
    """Run `code` in a fresh interpreter and return the JSON line it prints (None, with its stderr, on failure)."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        print(result.stderr[-800:])
        return None
    return json.loads(lines[-1])


if __name__ == "__main__":
    raise SystemExit(main())
