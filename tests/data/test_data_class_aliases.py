"""Class names of other datasets: one alias table, used by the loader and by `fer evaluate`."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from fer_engine.classes import CLASS_NAME_ALIASES, FER_CLASS_NAMES, canonical_class_name
from fer_engine.data.loader import load_dataset
from fer_engine.data.synthetic import write_class_folder


@pytest.mark.parametrize(
    ("spelled", "meant"),
    [("anger", "angry"), ("Angry", "angry"), ("HAPPINESS", "happy"), ("sadness", "sad"), ("fearful", "fear"),
     ("Disgusted", "disgust"), ("surprised", "surprise"), (" neutrality ", "neutral"), ("neutral", "neutral")],
)
def test_aliases_name_the_fer_class_whatever_the_case(spelled: str, meant: str) -> None:
    assert canonical_class_name(spelled) == meant


def test_classes_fer2013_lacks_have_no_alias() -> None:
    assert canonical_class_name("contempt") is None and canonical_class_name("calm") is None
    assert set(CLASS_NAME_ALIASES.values()) == set(FER_CLASS_NAMES)


def test_a_tree_spelled_with_aliases_loads_with_fer_ids(tmp_path: Path) -> None:
    spelled = {"Anger": 0, "disgusted": 1, "Fearful": 2, "happiness": 3, "SADNESS": 4, "surprised": 5, "neutrality": 6}
    source = write_class_folder(tmp_path / "other", spelled, 3, as_zip=True)
    dataset = load_dataset(source, val_fraction=0.0)
    assert dataset.class_names == FER_CLASS_NAMES and list(dataset.splits) == ["train"]
    split = dataset.split("train")
    assert len(split) == 21
    for key, label in zip(split.keys.tolist(), split.labels.tolist()):
        assert label == spelled[PurePosixPath(key).parts[-2]], key


def test_a_tree_with_a_class_fer2013_lacks_keeps_its_own_names(tmp_path: Path) -> None:
    source = write_class_folder(tmp_path / "ck", {"anger": 0, "contempt": 1, "happy": 3}, 2)
    dataset = load_dataset(source, val_fraction=0.0)
    assert dataset.class_names == ("anger", "contempt", "happy")
