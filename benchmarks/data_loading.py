"""Time the data layer on a real source: cold load (decode), cached load, CSV parse, audit; prints markdown.

    python3 benchmarks/data_loading.py /work/shared/datasets/fer2013-dev.zip
    python3 benchmarks/data_loading.py /path/to/fer2013.csv

The cold load uses a fresh temporary FER_CACHE_DIR, so it always decodes every image.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a FER source: CSV, image folder or .zip")
    parser.add_argument("--repeats", type=int, default=3, help="cached loads to time (best is reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FER_CACHE_DIR"] = cache
        from fer_engine.data import audit_dataset, load_dataset, summarize

        started = time.perf_counter()
        dataset = load_dataset(args.path)
        cold = time.perf_counter() - started
        cached = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            load_dataset(args.path)
            cached.append(time.perf_counter() - started)
        started = time.perf_counter()
        report = audit_dataset(dataset)
        audit = time.perf_counter() - started

    sizes = ", ".join(f"{name} {len(split):,}" for name, split in dataset.splits.items())
    print(f"source: {args.path} ({dataset.source_format}; {sizes}; CPUs {os.cpu_count()})\n")
    print("| step | seconds |\n|---|---:|")
    print(f"| cold load (decode + cache write) | {cold:.2f} |")
    print(f"| cached load (fingerprint + read), best of {args.repeats} | {min(cached):.3f} |")
    print(f"| audit | {audit:.2f} |\n")
    print(summarize(dataset).to_markdown() + "\n")
    print(report.to_text())


if __name__ == "__main__":
    main()
