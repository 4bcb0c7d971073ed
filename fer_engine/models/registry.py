"""Name -> model builder registry, so presets and the CLI name architectures as data."""

from __future__ import annotations

from collections.abc import Callable

from fer_engine.errors import ModelError
from fer_engine.models.vgg import VGG_BUILDERS, FerVGG

# Every model is a FerVGG: the embedding hook, heads and checkpoints rely on its `global_pool`,
# `forward_features`/`forward_head` and `embedding_dim`.
_BUILDERS: dict[str, Callable[..., FerVGG]] = dict(VGG_BUILDERS)


def register_model(name: str) -> Callable[[Callable[..., FerVGG]], Callable[..., FerVGG]]:
    """Decorator registering a further builder `fn(num_classes, input_size, **kw) -> FerVGG` under `name`."""

    def decorate(builder: Callable[..., FerVGG]) -> Callable[..., FerVGG]:
        _BUILDERS[name] = builder
        return builder

    return decorate


def available_models() -> list[str]:
    """Registered architecture names."""
    return sorted(_BUILDERS)


def create_model(
    arch: str,
    num_classes: int = 7,
    *,
    input_size: int = 48,
    pretrained: str | None = None,
    **kwargs,
) -> FerVGG:
    """Build `arch`; `pretrained` is a local torchvision ImageNet weights file, 'cache' for the torch hub cache, or None."""
    if arch not in _BUILDERS:
        raise ModelError(f"unknown architecture '{arch}'; available: {', '.join(available_models())}")
    model = _BUILDERS[arch](num_classes=num_classes, input_size=input_size, **kwargs)
    if pretrained:
        from fer_engine.models.imagenet_weights import load_imagenet_features

        load_imagenet_features(model, arch, pretrained)
    return model
