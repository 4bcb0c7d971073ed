"""A split's embeddings as data (`EmbeddingSet`) and their `.npz` files, readable without torch or pickle."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_engine.classes import FER_CLASS_NAMES, SPLIT_NAMES
from fer_engine.errors import DataError
from fer_engine.io_utils import atomic_write
from fer_engine.runs.layout import WEIGHTS_FILE, RunPaths


@dataclass
class EmbeddingSet:
    """One split's embeddings (N, D) float32, logits (N, C) float32, labels (N,) int64 and keys (N,) str."""

    split: str
    embeddings: np.ndarray
    logits: np.ndarray
    labels: np.ndarray
    keys: np.ndarray
    tta: str = "none"
    checkpoint_sha256: str = ""
    class_names: tuple[str, ...] = FER_CLASS_NAMES

    def __post_init__(self) -> None:
        self.embeddings = np.asarray(self.embeddings, dtype=np.float32)
        self.logits = np.asarray(self.logits, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.keys = np.asarray(self.keys).astype(str)
        self.class_names = tuple(str(name) for name in self.class_names)
        if not (len(self.embeddings) == len(self.logits) == len(self.labels) == len(self.keys)):
            raise ValueError("embeddings, logits, labels and keys must have the same length")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def softmax_predictions(self) -> np.ndarray:
        """The network's own classifier decision (argmax of the logits)."""
        return self.logits.argmax(axis=1)


def checkpoint_sha256(checkpoint_dir: str | Path) -> str:
    """SHA-256 of a checkpoint's weights file, stored with embeddings so stale ones can be detected."""
    digest = hashlib.sha256()
    with open(Path(checkpoint_dir) / WEIGHTS_FILE, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_embeddings(embedding_set: EmbeddingSet, path: str | Path, *, compact: bool = False) -> Path:
    """Write an EmbeddingSet as an .npz readable with `allow_pickle=False` (strings as unicode arrays), atomically.

    `compact` stores float16 values, compressed: a third of the bytes, for files kept in git (the shipped run)."""
    float_dtype = np.float16 if compact else np.float32
    arrays = {
        "embeddings": embedding_set.embeddings.astype(float_dtype, copy=False),
        "logits": embedding_set.logits.astype(float_dtype, copy=False),
        "labels": embedding_set.labels,
        "keys": np.asarray(embedding_set.keys, dtype=str),
        "split": np.asarray(embedding_set.split, dtype=str),
        "tta": np.asarray(embedding_set.tta, dtype=str),
        "checkpoint_sha256": np.asarray(embedding_set.checkpoint_sha256, dtype=str),
        "class_names": np.asarray(embedding_set.class_names, dtype=str),
    }

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle, so numpy does not append '.npz' to the temp name
            # numpy's stub lets a **dict key land on `allow_pickle: bool`; no array here is named so (passing
            # allow_pickle=False instead needs numpy>=2.1, and requirements.txt allows 1.26).
            (np.savez_compressed if compact else np.savez)(handle, **arrays)  # type: ignore[arg-type]

    return atomic_write(path, write)


def read_embeddings(path: str | Path, split: str | None = None) -> EmbeddingSet:
    """Read an embeddings .npz (never unpickling); float16 files (the shipped run) come back as float32."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError as exc:
        raise DataError(f"no embeddings file {path}: run `fer embed` on the run first") from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable embeddings .npz: {exc}") from exc
    missing = [key for key in ("embeddings", "logits", "labels", "keys") if key not in arrays]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)}: not a fer_engine embeddings file (re-run `fer embed`)")
    scalar = lambda key, default: str(arrays[key]) if key in arrays else default  # noqa: E731
    return EmbeddingSet(
        split=scalar("split", split or path.stem),
        embeddings=arrays["embeddings"],
        logits=arrays["logits"],
        labels=arrays["labels"],
        keys=arrays["keys"],
        tta=scalar("tta", "none"),
        checkpoint_sha256=scalar("checkpoint_sha256", ""),
        class_names=tuple(arrays["class_names"].tolist()) if "class_names" in arrays else FER_CLASS_NAMES,
    )


def load_embeddings(run: RunPaths, split: str) -> EmbeddingSet:
    """The stored embeddings of `split` in `run` (DataError saying what to run when they are absent)."""
    path = run.embeddings_file(split)
    if not path.exists():
        raise DataError(
            f"run '{run.run_id}' has no embeddings for split '{split}' ({path}): run `fer embed {run.root}`"
        )
    return read_embeddings(path, split)


def available_embedding_splits(run: RunPaths) -> list[str]:
    """Splits with stored embeddings in `run`, in train/val/test order."""
    return [name for name in SPLIT_NAMES if run.embeddings_file(name).exists()]
