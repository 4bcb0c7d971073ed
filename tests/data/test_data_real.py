"""The real FER2013 dev zip (FER2013_PATH): exact split and class counts, absent test, duplicates found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fer_engine.data import audit_dataset, load_dataset, summarize

TRAIN_COUNTS = {"angry": 3995, "disgust": 436, "fear": 4097, "happy": 7215, "neutral": 4965, "sad": 4830, "surprise": 3171}
VAL_COUNTS = {"angry": 467, "disgust": 56, "fear": 496, "happy": 895, "neutral": 607, "sad": 653, "surprise": 415}


@pytest.mark.real_data
def test_dev_zip_split_and_class_counts(fer2013_path: Path) -> None:
    dataset = load_dataset(fer2013_path)
    assert len(dataset.split("train")) == 28_709 and len(dataset.split("val")) == 3_589
    assert dataset.absent_splits == ["test"] and dataset.drawn_splits == {}
    summary = summarize(dataset).to_dict()
    assert summary["splits"]["train"] == {name: TRAIN_COUNTS[name] for name in summary["class_names"]}
    assert summary["splits"]["val"] == {name: VAL_COUNTS[name] for name in summary["class_names"]}
    assert summary["absent_splits"] == ["test"]
    assert dataset.split("train").images.shape[1:] == (48, 48)
    assert len(set(dataset.split("train").keys)) == 28_709  # keyed by path: repeated ids stay distinct

    again = load_dataset(fer2013_path)  # cached
    assert again.fingerprint == dataset.fingerprint
    assert np.array_equal(again.split("val").images, dataset.split("val").images)


@pytest.mark.real_data
def test_dev_zip_audit_finds_duplicates(fer2013_path: Path) -> None:
    report = audit_dataset(load_dataset(fer2013_path))
    assert report.total_images == 32_298
    assert report.exact_duplicates.groups > 0 and report.exact_duplicates.cross_split_groups > 0
    assert report.near_duplicates.groups > 0
    assert report.blank.count > 0  # FER2013 holds all-black images
