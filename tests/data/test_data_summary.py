"""summarize: per split per class counts under FER names, totals, absent/drawn splits, imbalance, skips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.data import FerDataset, SkippedItem, Split, load_dataset, summarize
from fer_engine.data.synthetic import write_image_folder


def _split(counts: list[int], prefix: str) -> Split:
    labels = np.repeat(np.arange(len(counts)), counts)
    return Split(np.zeros((len(labels), 48, 48), np.uint8), labels, np.array([f"{prefix}{i}" for i in range(len(labels))]))


def test_counts_totals_imbalance_and_json_shape() -> None:
    dataset = FerDataset(
        splits={"train": _split([10, 2, 5, 20, 4, 3, 6], "t"), "val": _split([1, 1, 1, 1, 1, 1, 1], "v")},
        source="x.zip",
        drawn_splits={"val": "stratified 10% of train, seed 0"},
        skipped=[SkippedItem("x.zip:a.jpg", "cannot decode image")],
    )
    data = json.loads(json.dumps(summarize(dataset).to_dict()))
    assert data["splits"]["train"] == dict(zip(FER_CLASS_NAMES, [10, 2, 5, 20, 4, 3, 6]))
    assert data["splits"]["val"]["neutral"] == 1
    assert data["split_totals"] == {"train": 50, "val": 7}
    assert data["class_totals"]["happy"] == 21 and data["total"] == 57
    assert data["absent_splits"] == ["test"]
    assert data["drawn_splits"] == {"val": "stratified 10% of train, seed 0"}
    assert data["imbalance_ratio"] == pytest.approx(10.0)
    assert data["skipped_count"] == 1 and data["skipped_examples"][0]["where"] == "x.zip:a.jpg"


def test_markdown_table_like_table_1() -> None:
    dataset = FerDataset(splits={"train": _split([3, 1, 1, 1, 1, 1, 2], "t")})
    table = summarize(dataset).to_markdown().splitlines()
    assert table[0] == "| class | train | total | share |"
    assert table[2] == "| angry | 3 | 3 | 30.0% |"
    assert table[-1] == "| **total** | 10 | 10 | 100.0% |"
    text = summarize(dataset).to_text()
    assert "absent splits: val, test" in text and "imbalance (largest / smallest class): 3.00" in text


def test_summary_of_a_loaded_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    summary = summarize(load_dataset(write_image_folder(tmp_path / "f", {"train": 4, "val": 2})))
    assert summary.splits["val"] == {name: 2 for name in FER_CLASS_NAMES}
    assert summary.imbalance_ratio == 1.0 and summary.absent_splits == ["test"]
