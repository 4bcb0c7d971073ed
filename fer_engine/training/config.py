"""Training configuration as data: `TrainConfig` (with `AugmentConfig`, `TripletConfig`), validated overrides.

Presets (`fer_engine.training.presets`) are instances of these dataclasses; the CLI and the job
worker only override fields by name (`with_overrides(lr=0.01)` or `with_overrides(**{"triplet.margin": 0.3})`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import typing
from dataclasses import dataclass, field
from typing import Any

from fer_engine.errors import ConfigError
from fer_engine.inference import TTA_MODES
from fer_engine.metric_learning.distances import DISTANCES as DISTANCE_REGISTRY
from fer_engine.metric_learning.miners import MINERS as MINER_REGISTRY

log = logging.getLogger(__name__)

OPTIMIZERS = ("sgd", "adamw")
SCHEDULERS = ("plateau", "cosine", "onecycle", "none")
SELECT_METRICS = ("val_loss", "val_accuracy", "val_knn_accuracy")
LOSSES = ("ce", "triplet", "ce+triplet")
CLASS_WEIGHTINGS = ("none", "balanced")
PRECISIONS = ("auto", "bf16", "fp32")
CROP_MODES = ("none", "pad", "resized")
# Read from their registries (the one place each name is defined); `validate` reads the registries themselves.
MINERS: tuple[str, ...] = tuple(MINER_REGISTRY)
DISTANCES: tuple[str, ...] = tuple(DISTANCE_REGISTRY)


@dataclass
class AugmentConfig:
    """Batched training augmentation: one random affine per image (crop, flip, rotation, translation, scale) + erasing."""

    crop: str = "none"  # 'none' | 'pad' (pad + random crop, as torchvision RandomCrop) | 'resized' (RandomResizedCrop)
    crop_padding: int = 4  # pixels, for crop='pad'
    resized_scale: tuple[float, float] = (0.8, 1.0)  # area fraction range, for crop='resized'
    resized_ratio: tuple[float, float] = (0.75, 4 / 3)  # aspect-ratio range, for crop='resized'
    hflip: bool = True
    rotation_degrees: float = 0.0  # uniform in [-d, d]
    translate: float = 0.0  # fraction of the image size, uniform in [-t, t] on each axis
    scale: tuple[float, float] = (1.0, 1.0)  # zoom factor range
    random_erasing: float = 0.0  # probability per image
    erasing_area: tuple[float, float] = (0.02, 0.2)  # erased area fraction range

    @property
    def is_geometric(self) -> bool:
        """True when an affine resampling is needed (anything beyond a flip)."""
        return self.crop != "none" or self.rotation_degrees > 0 or self.translate > 0 or tuple(self.scale) != (1.0, 1.0)


@dataclass
class TripletConfig:
    """Triplet objective and its P x K batches (the paper: euclidean distance; margin and mining not given)."""

    margin: float = 0.2
    miner: str = "semihard"
    distance: str = "euclidean"
    normalize_embeddings: bool = True
    weight: float = 1.0  # weight of the triplet term in 'ce+triplet'
    classes_per_batch: int = 7  # P
    samples_per_class: int = 16  # K
    oversample_rare: bool = True
    knn_reference_size: int = 5000  # train images (fixed, seeded) that val embeddings are matched against
    knn_k: int = 1


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved resolved in the run's config.json."""

    arch: str = "vgg19_bn"
    pretrained: str | None = None  # None, a torchvision ImageNet weights file, or 'cache' (torch hub cache)
    input_size: int = 48
    epochs: int = 60
    batch_size: int = 128  # global batch (split over ranks under torchrun)
    optimizer: str = "sgd"
    lr: float = 0.02
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    scheduler: str = "cosine"
    warmup_epochs: float = 0.0
    plateau_patience: int = 3
    plateau_factor: float = 0.1
    early_stopping_patience: int | None = None
    select_metric: str = "val_accuracy"
    label_smoothing: float = 0.0
    class_weighting: str = "none"
    loss: str = "ce"
    triplet: TripletConfig = field(default_factory=TripletConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    dropout: float = 0.0
    device: str = "auto"
    precision: str = "auto"
    channels_last: bool = True
    compile: bool = False
    seed: int = 0
    limit: int | None = None  # max images per split (stratified, seeded subsample) for short runs
    eval_batch_size: int = 512
    eval_tta: str = "none"
    preset: str = ""
    data_path: str = ""
    notes: str = ""

    # ---- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (nested configs as dicts, tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from `to_dict()` output; unknown keys are a ConfigError (a typo must not pass silently)."""
        return TrainConfig().with_overrides(**_flatten(data))

    @classmethod
    def from_run_config(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from a run's config.json, which also holds non-config keys (command, data summary, ...)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls.from_dict({key: value for key, value in data.items() if key in names})

    # ---- overrides -----------------------------------------------------------------------------

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A validated copy with fields replaced; nested fields as 'triplet.margin' / 'augment.hflip' or dicts.

        String values (from `--set key=value`) are converted to the field's type. A warm-up left as it was
        (not changed by these overrides) is shortened to fit fewer epochs; see `_fit_warmup`.
        """
        config = dataclasses.replace(
            self, triplet=dataclasses.replace(self.triplet), augment=dataclasses.replace(self.augment)
        )
        for key, value in _flatten(overrides).items():
            target, name = _resolve_field(config, key)
            setattr(target, name, _coerce(key, _field_types(type(target))[name], value))
        if config.warmup_epochs == self.warmup_epochs:
            _fit_warmup(config)
        config.validate()
        return config

    def validate(self) -> None:
        """Raise ConfigError naming the first field whose value cannot work."""
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("scheduler", self.scheduler, SCHEDULERS)
        _choice("select_metric", self.select_metric, SELECT_METRICS)
        _choice("loss", self.loss, LOSSES)
        _choice("class_weighting", self.class_weighting, CLASS_WEIGHTINGS)
        _choice("eval_tta", self.eval_tta, TTA_MODES)
        _choice("precision", self.precision, PRECISIONS)
        _choice("augment.crop", self.augment.crop, CROP_MODES)
        _choice("triplet.miner", self.triplet.miner, tuple(MINER_REGISTRY))
        _choice("triplet.distance", self.triplet.distance, tuple(DISTANCE_REGISTRY))
        from fer_engine.models import available_models

        _choice("arch", self.arch, tuple(available_models()))
        _positive("epochs", self.epochs)
        _positive("batch_size", self.batch_size)
        _positive("eval_batch_size", self.eval_batch_size)
        _positive("lr", self.lr)
        _at_least("input_size", self.input_size, 32)
        _at_least("weight_decay", self.weight_decay, 0)
        _at_least("momentum", self.momentum, 0)
        _at_least("warmup_epochs", self.warmup_epochs, 0)
        _at_least("plateau_patience", self.plateau_patience, 0)
        _fraction("plateau_factor", self.plateau_factor, open_low=True, open_high=True)
        _fraction("label_smoothing", self.label_smoothing, open_high=True)
        _fraction("dropout", self.dropout, open_high=True)
        if self.early_stopping_patience is not None:
            _positive("early_stopping_patience", self.early_stopping_patience)
        if self.limit is not None:
            _at_least("limit", self.limit, 7)
        if self.nesterov and self.optimizer == "sgd" and self.momentum <= 0:
            raise ConfigError("nesterov=True needs momentum > 0 (set momentum or nesterov=false)")
        if self.scheduler == "plateau" and self.warmup_epochs > 0:
            raise ConfigError("warmup_epochs is not supported with scheduler 'plateau' (use cosine or onecycle)")
        if self.warmup_epochs >= self.epochs and self.scheduler in ("cosine", "onecycle"):
            raise ConfigError(f"warmup_epochs={self.warmup_epochs} must be below epochs={self.epochs}")
        if self.loss == "triplet" and self.select_metric != "val_knn_accuracy":
            raise ConfigError(
                "loss 'triplet' trains no classifier: set select_metric=val_knn_accuracy "
                "(k-NN accuracy of val embeddings against train embeddings)"
            )
        augment = self.augment
        _at_least("augment.crop_padding", augment.crop_padding, 0)
        _at_least("augment.rotation_degrees", augment.rotation_degrees, 0)
        _fraction("augment.translate", augment.translate, open_high=True)
        _fraction("augment.random_erasing", augment.random_erasing)
        _range("augment.resized_scale", augment.resized_scale, 0, 1)
        _range("augment.resized_ratio", augment.resized_ratio, 0, 100)
        _range("augment.scale", augment.scale, 0, 10)
        _range("augment.erasing_area", augment.erasing_area, 0, 1)
        triplet = self.triplet
        _positive("triplet.margin", triplet.margin)
        _at_least("triplet.weight", triplet.weight, 0)
        _at_least("triplet.classes_per_batch", triplet.classes_per_batch, 2)
        _at_least("triplet.samples_per_class", triplet.samples_per_class, 2)
        _positive("triplet.knn_reference_size", triplet.knn_reference_size)
        _positive("triplet.knn_k", triplet.knn_k)


def typed_override(key: str, value: Any) -> Any:
    """`value` (e.g. the text of `--set key=value`) converted to the type of config field `key` (dotted for
    nested fields); ConfigError for an unknown field or a value of the wrong type. The one typing rule of the CLI."""
    target, name = _resolve_field(TrainConfig(), key)
    return _coerce(key, _field_types(type(target))[name], value)


# ---- helpers ---------------------------------------------------------------------------------------


def _fit_warmup(config: TrainConfig) -> None:
    """Shorten a warm-up that leaves less than half of the run to the schedule to `epochs / 2` (logged).

    Presets carry a warm-up sized for their own length (strong: 2 of 60 epochs); a short run of the same
    recipe (`--epochs 1`) keeps the recipe and warms up for half of its epochs instead of failing.
    """
    limit = config.epochs / 2
    if config.scheduler in ("cosine", "onecycle") and config.epochs >= 1 and config.warmup_epochs > limit:
        log.warning(
            "warm-up shortened from %g to %g epochs to fit a %d-epoch run", config.warmup_epochs, limit, config.epochs
        )
        config.warmup_epochs = limit


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'triplet': {'margin': 1}} -> {'triplet.margin': 1}; already dotted keys pass through."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name in ("triplet", "augment"):
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _resolve_field(config: TrainConfig, key: str) -> tuple[Any, str]:
    """The (object, attribute) a dotted key names, or a ConfigError listing the valid names."""
    parts = key.split(".")
    target: Any = config
    for part in parts[:-1]:
        if part not in ("triplet", "augment") or target is not config:
            raise ConfigError(f"unknown config field '{key}' (nested sections: triplet.*, augment.*)")
        target = getattr(target, part)
    name = parts[-1]
    names = [f.name for f in dataclasses.fields(target)]
    if name not in names or name in ("triplet", "augment") and target is config:
        prefix = "" if target is config else f"{parts[0]}."
        raise ConfigError(f"unknown config field '{key}'; valid fields: {', '.join(prefix + n for n in names)}")
    return target, name


def _coerce(key: str, annotation: Any, value: Any) -> Any:
    """Convert `value` (possibly a CLI string) to the field's annotated type, or raise ConfigError."""
    args = typing.get_args(annotation)
    optional = type(None) in args
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", ""))):
        return None
    base = next((a for a in args if a is not type(None)), annotation) if optional else annotation
    origin = typing.get_origin(base)
    try:
        if base is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "1", "yes", "on"):
                    return True
                if lowered in ("false", "0", "no", "off"):
                    return False
                raise ValueError(value)
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise ValueError(value)
        if base is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if base is str:
            if not isinstance(value, str):
                raise ValueError(value)
            return value
        if origin is tuple:
            if isinstance(value, str):
                value = [
                    part
                    for part in value.replace("(", "").replace(")", "").replace("[", "").replace("]", "").split(",")
                ]
            items = tuple(float(v) for v in value)
            if len(items) != 2:
                raise ValueError(value)
            return items
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ConfigError(f"config field '{key}' = {value!r} is not a valid {getattr(base, '__name__', base)}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"config field '{name}' = {value!r} is not one of: {', '.join(choices)}")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"config field '{name}' = {value!r} must be > 0")


def _at_least(name: str, value: float, low: float) -> None:
    if not value >= low:
        raise ConfigError(f"config field '{name}' = {value!r} must be >= {low}")


def _fraction(name: str, value: float, *, open_low: bool = False, open_high: bool = False) -> None:
    low_ok = value > 0 if open_low else value >= 0
    high_ok = value < 1 if open_high else value <= 1
    if not (low_ok and high_ok):
        raise ConfigError(
            f"config field '{name}' = {value!r} must be in {'(' if open_low else '['}0, 1{')' if open_high else ']'}"
        )


def _range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    if len(value) != 2 or not (low < value[0] <= value[1] <= high):
        raise ConfigError(f"config field '{name}' = {value!r} must be (min, max) with {low} < min <= max <= {high}")
