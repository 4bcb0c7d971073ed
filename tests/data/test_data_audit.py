"""audit_dataset finds planted exact and near duplicates (within/across splits, label conflicts), blank/dark/bright."""

from __future__ import annotations

import json

import cv2
import numpy as np

from fer_engine.data import AuditConfig, FerDataset, Split, audit_dataset


def _distinct_images(n: int, seed: int) -> np.ndarray:
    """Smooth random textures: unrelated to each other (low thumbnail correlation)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, size=(n, 48, 48)).astype(np.float32)
    smooth = np.stack([cv2.GaussianBlur(image, (0, 0), 3) for image in noise])
    smooth = (smooth - smooth.mean(axis=(1, 2), keepdims=True)) / smooth.std(axis=(1, 2), keepdims=True)
    return np.clip(128 + 40 * smooth, 0, 255).astype(np.uint8)


def _dataset() -> FerDataset:
    train_images = _distinct_images(40, seed=1)
    val_images = _distinct_images(10, seed=2)
    train_labels = np.arange(40) % 7
    val_labels = np.arange(10) % 7
    train_images[5] = train_images[4]  # exact, within train, same label
    train_labels[5] = train_labels[4]
    val_images[0] = train_images[10]  # exact, across train/val, conflicting label
    val_labels[0] = (train_labels[10] + 1) % 7
    brighter = train_images[20].astype(np.float32) * 0.8 + 30 + np.random.default_rng(3).normal(0, 2, (48, 48))
    val_images[1] = np.clip(brighter, 0, 255).astype(np.uint8)  # near, across splits
    val_labels[1] = train_labels[20]
    train_images[30] = np.roll(train_images[31], 1, axis=1)  # near: shifted by one pixel, within train
    train_images[35] = 77  # blank
    train_images[36] = np.clip(train_images[36] // 12, 0, 255)  # dark
    val_images[9] = 255 - train_images[37] // 8  # bright
    keys = lambda prefix, n: np.array([f"{prefix}/{i:03d}.png" for i in range(n)])  # noqa: E731
    return FerDataset(
        splits={"train": Split(train_images, train_labels, keys("train", 40)), "val": Split(val_images, val_labels, keys("val", 10))},
        source="planted",
    )


def test_exact_duplicates_within_and_across_with_conflict() -> None:
    report = audit_dataset(_dataset())
    exact = report.exact_duplicates
    assert exact.groups == 2 and exact.images == 4 and exact.pairs == 2
    assert exact.within_split_groups == 1 and exact.cross_split_groups == 1
    assert exact.conflicting_label_groups == 1
    assert exact.leaked_from_train == {"val": 1}
    assert exact.examples[0].keys == ["train/010.png", "val/000.png"]  # conflicting, cross-split group first


def test_near_duplicates_found_and_unrelated_images_not() -> None:
    report = audit_dataset(_dataset())
    near = report.near_duplicates
    groups = sorted(sorted(group.keys) for group in near.examples)
    assert groups == [["train/020.png", "val/001.png"], ["train/030.png", "train/031.png"]]
    assert near.pairs == 2 and near.cross_split_groups == 1 and near.within_split_groups == 1
    assert near.leaked_from_train == {"val": 1}
    assert near.conflicting_label_groups == 1  # 030 and 031 carry different labels


def test_blank_dark_bright() -> None:
    report = audit_dataset(_dataset())
    assert report.blank.count == 1 and report.blank.examples == ["train/035.png"]
    assert report.dark.examples == ["train/036.png"]
    assert report.bright.examples == ["val/009.png"] and report.bright.per_split == {"val": 1}


def test_threshold_is_configurable_and_report_serialises() -> None:
    strict = audit_dataset(_dataset(), AuditConfig(near_duplicate_min_correlation=0.9999))
    assert strict.near_duplicates.groups == 0
    data = json.loads(json.dumps(strict.to_dict()))
    assert data["exact_duplicates"]["groups"] == 2 and data["config"]["near_duplicate_min_correlation"] == 0.9999
    assert "exact duplicates: 2 groups" in strict.to_text()


def test_many_copies_of_one_image_stay_cheap() -> None:
    images = np.repeat(_distinct_images(1, seed=5), 3000, axis=0)
    dataset = FerDataset(splits={"train": Split(images, np.zeros(3000, np.int64), np.array([str(i) for i in range(3000)]))})
    report = audit_dataset(dataset)
    assert report.exact_duplicates.groups == 1 and report.exact_duplicates.images == 3000
    assert report.near_duplicates.groups == 0
