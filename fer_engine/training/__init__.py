"""Training: configs and presets as data, batched augmentation, objectives, and the resumable `train()` loop."""

from fer_engine.training.config import AugmentConfig, TrainConfig, TripletConfig
from fer_engine.training.objectives import build_objective
from fer_engine.training.presets import PRESETS, get_preset
from fer_engine.training.trainer import TrainResult, check_training_inputs, train

__all__ = [
    "AugmentConfig",
    "PRESETS",
    "TrainConfig",
    "TrainResult",
    "TripletConfig",
    "build_objective",
    "check_training_inputs",
    "get_preset",
    "train",
]
