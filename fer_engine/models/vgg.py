"""VGG-19 for FER as in the paper: torchvision VGG-19 features, global average pooling, Linear(512, classes).

Grayscale input (N, 1, H, W) in [0, 1] is resized to `input_size`, replicated to 3 channels and
ImageNet-normalised inside the model, so every caller feeds the same thing and ImageNet weights fit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FerVGG(nn.Module):
    """VGG feature extractor + GAP + linear head; `forward_features` gives the GAP embedding."""

    pixel_mean: torch.Tensor  # ImageNet normalisation, registered as (non-persistent) buffers
    pixel_std: torch.Tensor

    def __init__(
        self, features: nn.Module, embedding_dim: int, num_classes: int, input_size: int, dropout: float = 0.0
    ):
        super().__init__()
        self.input_size = int(input_size)
        self.embedding_dim = int(embedding_dim)
        self.features = features
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(embedding_dim, num_classes)
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def prepare_input(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1|3, H, W) floats in [0, 1] -> normalised (N, 3, input_size, input_size)."""
        if images.shape[-1] != self.input_size or images.shape[-2] != self.input_size:
            images = F.interpolate(
                images, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
            )
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return (images - self.pixel_mean.to(images.dtype)) / self.pixel_std.to(images.dtype)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """The (N, embedding_dim) global-average-pool embedding."""
        return torch.flatten(self.global_pool(self.features(self.prepare_input(images))), 1)

    def forward_head(self, embedding: torch.Tensor) -> torch.Tensor:
        """Class logits from an embedding."""
        return self.classifier(self.dropout(embedding))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))


def _scaled_features(batch_norm: bool, width: float) -> tuple[nn.Module, int]:
    """VGG-19 ('E') conv stack with channel counts scaled by `width` (1.0 = torchvision's)."""
    if width == 1.0:
        # torchvision's own layer stack (same module keys as vgg19/vgg19_bn's `.features`, so ImageNet weights load),
        # built without the 120M-parameter classifier we never use (~1.4 s per model saved), initialised as
        # torchvision's VGG initialises its convolutions.
        features = make_layers(cfgs["E"], batch_norm=batch_norm)
        for module in features.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        return features, 512
    plan: list[int | str] = [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ]
    layers: list[nn.Module] = []
    channels = 3
    for item in plan:
        if isinstance(item, str):  # "M": max-pool
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out = max(8, int(round(item * width)))
        layers.append(nn.Conv2d(channels, out, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        channels = out
    return nn.Sequential(*layers), channels


def _build(batch_norm: bool, width: float, num_classes: int, input_size: int, dropout: float = 0.0) -> FerVGG:
    features, dim = _scaled_features(batch_norm, width)
    model = FerVGG(features, dim, num_classes, input_size, dropout)
    if batch_norm:
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    return model


def build_vgg19(num_classes: int = 7, input_size: int = 48, dropout: float = 0.0) -> FerVGG:
    """The paper's model exactly: 20,027,975 parameters for 7 classes."""
    return _build(False, 1.0, num_classes, input_size, dropout)


def build_vgg19_bn(num_classes: int = 7, input_size: int = 48, dropout: float = 0.0) -> FerVGG:
    """VGG-19 with batch norm after every conv, for training from scratch."""
    return _build(True, 1.0, num_classes, input_size, dropout)


def build_vgg19_bn_half(num_classes: int = 7, input_size: int = 48, dropout: float = 0.0) -> FerVGG:
    """VGG-19-BN at half width (256-d embedding, ~1/4 of the FLOPs), the fast CPU configuration."""
    return _build(True, 0.5, num_classes, input_size, dropout)


def build_vgg19_bn_quarter(num_classes: int = 7, input_size: int = 48, dropout: float = 0.0) -> FerVGG:
    """VGG-19-BN at quarter width (128-d embedding), for tests and tiny demos."""
    return _build(True, 0.25, num_classes, input_size, dropout)


# The built-in architectures by name; `models/registry.py` starts from this table (vgg.py imports no registry).
VGG_BUILDERS = {
    "vgg19": build_vgg19,
    "vgg19_bn": build_vgg19_bn,
    "vgg19_bn_half": build_vgg19_bn_half,
    "vgg19_bn_quarter": build_vgg19_bn_quarter,
}
