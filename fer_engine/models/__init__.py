"""Models built by name from one registry (`create_model('vgg19_bn')`) and their checkpoints."""

from fer_engine.models.registry import available_models, create_model, register_model

__all__ = ["available_models", "create_model", "register_model"]
