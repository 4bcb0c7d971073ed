"""The classifier laid out for fast repeated bf16 inference on photos: weights cast once, channels_last.

Under bf16 autocast PyTorch recasts the 20M float32 weights of VGG-19 to bf16 on every call, and
NCHW bf16 convolutions and max-pooling run slower on CPUs than channels_last ones. A copy with its
convolution and linear weights already in bf16 gives exactly autocast's numbers (autocast casts them the
same way); channels_last changes only the summation order (FER2013 PublicTest labels: see
benchmarks/predict_speed.py --data). fp32 stays the loaded model itself, so it still reproduces `fer evaluate`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

CAST_MODULES = (nn.Conv2d, nn.Linear)
"""Modules autocast runs in bf16; batch norm keeps float32 parameters, as under autocast."""


def bf16_inference_copy(model: nn.Module, *, channels_last: bool = True) -> nn.Module:
    """An eval-mode copy of `model` with conv/linear parameters in bf16 (and in channels_last memory format).

    Run it under bf16 autocast (`run_inference(..., precision="bf16", channels_last=channels_last)`);
    `model` itself is left untouched (saliency and fp32 still use it).
    """
    fast = copy.deepcopy(model).eval()
    for module in fast.modules():
        if isinstance(module, CAST_MODULES):
            module.to(torch.bfloat16)
    return fast.to(memory_format=torch.channels_last) if channels_last else fast
