"""Name -> model builder registry, so presets and the CLI name architectures as data."""

from __future__ import annotations

from typing import Callable

from torch import nn

from fer_engine.errors import ModelError

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder `fn(num_classes, input_size, **kw) -> nn.Module` under `name`."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _BUILDERS[name] = builder
        return builder

    return decorate


def available_models() -> list[str]:
    """Registered architecture names."""
    _ensure_builtin_models()
    return sorted(_BUILDERS)


def create_model(
    arch: str,
    num_classes: int = 7,
    *,
    input_size: int = 48,
    pretrained: str | None = None,
    **kwargs,
) -> nn.Module:
    """Build `arch`; `pretrained` is a local torchvision ImageNet weights file, 'cache' for the torch hub cache, or None."""
    _ensure_builtin_models()
    if arch not in _BUILDERS:
        raise ModelError(f"unknown architecture '{arch}'; available: {', '.join(available_models())}")
    model = _BUILDERS[arch](num_classes=num_classes, input_size=input_size, **kwargs)
    if pretrained:
        from fer_engine.models.imagenet_weights import load_imagenet_features

        load_imagenet_features(model, arch, pretrained)
    return model


def _ensure_builtin_models() -> None:
    """Import the modules that register the built-in architectures."""
    import fer_engine.models.vgg  # noqa: F401
