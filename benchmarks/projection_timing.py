"""Wall time of the 2-D projections the Embeddings page offers, on a run's stored embeddings.

Prints, per method, the first call in this process (UMAP includes numba's compilation) and a second call, with
seconds per point: the figures behind `fer_engine.embeddings.projection.estimate_seconds`.

    python benchmarks/projection_timing.py [--run checkpoints/default] [--points 4000] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=str(REPO_ROOT / "checkpoints" / "default"), help="run folder with embeddings")
    parser.add_argument("--split", default="val")
    parser.add_argument("--points", type=int, default=4000, help="seeded sample size (the page's default)")
    parser.add_argument("--methods", default="PCA,UMAP,t-SNE")
    parser.add_argument("--threads", type=int, default=1, help="numba/BLAS threads (the page's server is shared)")
    args = parser.parse_args()
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(args.threads)

    from fer_engine.embeddings import load_embeddings
    from fer_engine.embeddings.projection import estimate_seconds, project, sample_rows
    from fer_engine.runs.layout import RunPaths

    embedding_set = load_embeddings(RunPaths(Path(args.run)), args.split)
    rows = sample_rows(len(embedding_set), args.points)
    data = embedding_set.embeddings[rows]
    print(f"{len(rows)} x {data.shape[1]} {args.split} embeddings of {args.run}; {platform.processor() or platform.machine()}, "
          f"{args.threads} thread(s)")
    for method in args.methods.split(","):
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            project(data, method)
            timings.append(time.perf_counter() - start)
        print(f"{method:6s} first {timings[0]:7.2f} s  again {timings[1]:7.2f} s  "
              f"({timings[1] / len(rows) * 1000:.3f} ms/point; estimate_seconds says {estimate_seconds(method, len(rows)):.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
