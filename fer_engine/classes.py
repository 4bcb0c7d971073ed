"""The seven FER2013 classes in the canonical Kaggle-CSV order (ids 0-6), used everywhere."""

FER_CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
"""Product split names: Training -> train, PublicTest -> val, PrivateTest -> test."""

USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
