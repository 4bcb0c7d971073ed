"""Dataset paths a browser sends, confined to allowed roots before anything at them is looked at.

Roots: the data folder (`FER_DATA_DIR`, default ./data) or, when set, the folders listed in `FER_DATA_ROOTS`
(separated by the OS path separator); the dashboard's uploads folder; and the datasets the operator named in
`FER2013_PATH` / `FER_DATA_PATH`. A path resolves (symbolic links included) before the check, so a link inside
a root cannot lead outside it. Errors never name a resolved location outside the roots, nor anything read
from a file. The CLI (a local, trusted user) reads any path; `source_checks` limits apply to both.
"""

from __future__ import annotations

import os
from pathlib import Path

from fer_engine.data.limits import data_limits
from fer_engine.data.source_checks import check_file_size, source_kind
from fer_engine.errors import DataError
from fer_engine.paths import data_dir, uploads_root

ROOTS_ENV = "FER_DATA_ROOTS"
OPERATOR_DATASET_ENVS = ("FER2013_PATH", "FER_DATA_PATH")
MAX_PATH_CHARS = 4096


def allowed_roots() -> list[Path]:
    """Resolved folders (and operator-named dataset files) a browser may name, in order of preference."""
    listed = [part for part in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if part.strip()]
    roots = [Path(part.strip()).expanduser() for part in listed] or [data_dir()]
    roots.append(uploads_root())
    roots += [Path(os.environ[name]).expanduser() for name in OPERATOR_DATASET_ENVS if os.environ.get(name)]
    return [root.resolve() for root in roots]


def resolve_dataset_path(text: str) -> Path:
    """The resolved dataset path `text` names, when it lies inside an allowed root and is a regular file
    (within the size limit) or a folder; DataError saying what is wrong otherwise. A relative path is taken
    from the first root."""
    text = (text or "").strip()
    if not text:
        raise DataError("no dataset path given")
    if len(text) > MAX_PATH_CHARS or "\x00" in text:
        raise DataError("the dataset path is not a valid path")
    roots = allowed_roots()
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop
        raise DataError("the dataset path cannot be resolved (a loop of symbolic links?)") from None
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise DataError("this path is outside the dataset folders this dashboard may read ("
                        + ", ".join(str(root) for root in roots)
                        + f"); put the dataset there, upload it, or ask the operator to add its folder to {ROOTS_ENV}")
    if not os.path.exists(resolved):
        raise DataError(f"{resolved} does not exist")
    if source_kind(resolved) == "file":
        check_file_size(resolved, data_limits())
    return resolved
