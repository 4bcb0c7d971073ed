"""Grad-CAM (Selvaraju et al., 2017) on the last convolution block: where the model looked for its answer."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fer_engine.errors import ModelError
from fer_engine.inference import to_model_tensor


@dataclass
class SaliencyMap:
    """Heatmap in [0, 1] at the face's size, an RGB overlay of it on the face, and the class it explains."""

    heatmap: np.ndarray
    overlay: np.ndarray
    class_index: int


def last_conv_activation(model: nn.Module) -> nn.Module:
    """The module whose output Grad-CAM weighs: the activation after the last Conv2d of `model.features`."""
    modules = list(getattr(model, "features", model).modules())
    conv_positions = [i for i, m in enumerate(modules) if isinstance(m, nn.Conv2d)]
    if not conv_positions:
        raise ModelError("Grad-CAM needs a model with a convolution layer")
    last = conv_positions[-1]
    following = [m for m in modules[last + 1 :] if isinstance(m, (nn.ReLU, nn.BatchNorm2d))]
    relus = [m for m in following if isinstance(m, nn.ReLU)]
    return relus[0] if relus else modules[last]


def grad_cam(
    model: nn.Module, face: np.ndarray, class_index: int | None = None, overlay_size: int = 192
) -> SaliencyMap:
    """Grad-CAM of one (48, 48) uint8 face for `class_index` (default: the predicted class)."""
    face = np.asarray(face, dtype=np.uint8)
    if face.ndim != 2:
        raise ModelError(f"Grad-CAM takes one (H, W) grey face, not shape {face.shape}")
    layer = last_conv_activation(model)
    captured: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        # ReLU(inplace=True) returns its input tensor; clone so later in-place ops cannot change what we keep.
        output = output.clone()
        output.register_hook(lambda grad: captured.__setitem__("grad", grad))
        captured["activation"] = output
        return output

    handle = layer.register_forward_hook(keep)
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with torch.enable_grad():
            logits = model(to_model_tensor(face[None], device))
            index = int(logits.argmax(dim=1).item()) if class_index is None else int(class_index)
            model.zero_grad(set_to_none=True)
            logits[0, index].backward()
    finally:
        handle.remove()
        model.train(was_training)
    activation, gradient = captured["activation"].detach(), captured["grad"].detach()
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # global-average-pooled gradients per channel
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))
    cam_map = F.interpolate(cam, size=face.shape, mode="bilinear", align_corners=False)[0, 0].cpu().numpy()
    peak = float(cam_map.max())
    heatmap = (cam_map / peak if peak > 0 else np.zeros_like(cam_map)).astype(np.float32)
    return SaliencyMap(heatmap, overlay_heatmap(face, heatmap, overlay_size), index)


def overlay_heatmap(face: np.ndarray, heatmap: np.ndarray, size: int = 192, alpha: float = 0.45) -> np.ndarray:
    """RGB uint8 (size, size, 3): the grey face with the heatmap in the JET colour map blended on top."""
    grey = cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR)
    heat = cv2.resize((heatmap * 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_LINEAR)
    colour = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    base = np.repeat(grey[:, :, None], 3, axis=2)
    return (base * (1 - alpha) + colour * alpha).round().clip(0, 255).astype(np.uint8)
