"""The seven FER2013 classes in the canonical Kaggle-CSV order (ids 0-6), used everywhere."""

FER_CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
"""Product split names: Training -> train, PublicTest -> val, PrivateTest -> test."""

ALL_SPLITS = "all"
"""What `fer evaluate --split` calls every image of a dataset, whatever split it came from."""

USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}

CLASS_NAME_ALIASES: dict[str, str] = {
    **{name: name for name in FER_CLASS_NAMES},
    "anger": "angry", "angered": "angry",
    "disgusted": "disgust", "disgusting": "disgust",
    "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happiness": "happy", "joy": "happy", "joyful": "happy",
    "sadness": "sad",
    "surprised": "surprise", "surprising": "surprise",
    "neutrality": "neutral",
}  # fmt: skip
"""Lower-case class names other datasets use -> the FER2013 class they mean (the one alias table of the product)."""


def canonical_class_name(name: str) -> str | None:
    """The FER2013 class a dataset's class name means (case and surrounding spaces ignored), or None (e.g. contempt)."""
    return CLASS_NAME_ALIASES.get(name.strip().lower())
