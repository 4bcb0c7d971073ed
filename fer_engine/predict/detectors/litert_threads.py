"""How many CPU threads the LiteRT models (BlazeFace pyramid, face-presence check) run on."""

from __future__ import annotations

import os

MAX_LITERT_THREADS = 4
"""XNNPACK gains little past four threads on these small models, and the classifier shares the CPUs."""


def litert_threads() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count), at most MAX_LITERT_THREADS."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return min(MAX_LITERT_THREADS, max(1, available))
