"""ImageNet initialisation from a local torchvision weights file or an existing torch hub cache; never a download."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from fer_engine.errors import ModelError

# File names torchvision uses for its ImageNet-1K VGG weights in the hub cache.
TORCHVISION_FILES = {"vgg19": "vgg19-dcbb9e9d.pth", "vgg19_bn": "vgg19_bn-c79401a0.pth"}


def hub_cache_path(arch: str) -> Path:
    """Where torchvision would have cached `arch`'s ImageNet weights ($TORCH_HOME/hub/checkpoints)."""
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    return torch_home / "hub" / "checkpoints" / TORCHVISION_FILES.get(arch, f"{arch}.pth")


def resolve_weights_file(arch: str, pretrained: str) -> Path:
    """`pretrained` is a file path, or 'cache'/'imagenet' to use the hub cache; raises if nothing is there."""
    if arch not in TORCHVISION_FILES:
        raise ModelError(f"no ImageNet weights exist for '{arch}' (only {', '.join(TORCHVISION_FILES)})")
    path = hub_cache_path(arch) if pretrained in ("cache", "imagenet") else Path(pretrained)
    if not path.is_file():
        raise ModelError(
            f"ImageNet weights for {arch} not found at {path}. No download is attempted: put torchvision's "
            f"{TORCHVISION_FILES[arch]} there (or pass its path with --pretrained), or train from scratch "
            f"with --arch vgg19_bn."
        )
    return path


def load_imagenet_features(model: nn.Module, arch: str, pretrained: str) -> None:
    """Copy the `features.*` tensors of a torchvision ImageNet checkpoint into `model` (the head stays new)."""
    path = resolve_weights_file(arch, pretrained)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt or non-torch file
            raise ModelError(f"cannot read ImageNet weights {path}: {exc}") from exc
    features = {key: value for key, value in state.items() if key.startswith("features.")}
    own = model.state_dict()
    mismatched = [k for k, v in features.items() if k not in own or own[k].shape != v.shape]
    if not features or mismatched:
        raise ModelError(f"{path} does not hold torchvision {arch} features (mismatched: {mismatched[:3]})")
    model.load_state_dict(features, strict=False)
