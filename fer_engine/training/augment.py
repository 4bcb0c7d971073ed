"""Batched training augmentation on the images' own device: one affine resampling per batch, erasing by masks.

Random parameters (a few numbers per image) are drawn on the CPU from a `torch.Generator`, so a seed gives
the same augmentation on CPU and GPU; the pixel work (`F.grid_sample`, masks) runs where the batch lives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from fer_engine.training.config import AugmentConfig


def augment_batch(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """uint8 (B, H, W) -> augmented float (B, 1, H, W) in [0, 1], on the input's device."""
    batch = images.unsqueeze(1).float().div_(255.0)
    size = batch.shape[0]
    if size == 0:
        return batch
    if config.is_geometric:
        theta = random_affine_matrices(size, config, generator, side=batch.shape[-1]).to(batch.device)
        grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
        batch = F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    elif config.hflip:
        flip = (torch.rand(size, generator=generator) < 0.5).to(batch.device)
        batch = torch.where(flip.view(-1, 1, 1, 1), batch.flip(-1), batch)
    if config.random_erasing > 0:
        batch = random_erase(batch, config, generator)
    return batch


def random_affine_matrices(
    size: int, config: AugmentConfig, generator: torch.Generator, *, side: int = 48
) -> torch.Tensor:
    """(B, 2, 3) `affine_grid` matrices mapping output to input coordinates: flip, rotation, zoom, crop, shift."""

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(size, generator=generator, dtype=torch.float64)

    flip = (
        torch.where(torch.rand(size, generator=generator) < 0.5, -1.0, 1.0).double()
        if config.hflip
        else torch.ones(size, dtype=torch.float64)
    )
    angle = uniform(-config.rotation_degrees, config.rotation_degrees) * (math.pi / 180.0)
    zoom = uniform(*config.scale)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # Rotation / zoom applied to the flipped output coordinates: [[cos, -sin], [sin, cos]] @ diag(flip, 1).
    linear = torch.stack([torch.stack([cos * flip, -sin], -1), torch.stack([sin * flip, cos], -1)], -2)
    offset = torch.zeros(size, 2, dtype=torch.float64)

    if config.crop == "resized":
        area = uniform(*config.resized_scale)
        log_ratio = uniform(math.log(config.resized_ratio[0]), math.log(config.resized_ratio[1]))
        width = torch.sqrt(area * torch.exp(log_ratio)).clamp(max=1.0)
        height = torch.sqrt(area / torch.exp(log_ratio)).clamp(max=1.0)
        linear = torch.diag_embed(torch.stack([width, height], -1)) @ linear
        offset += torch.stack([uniform(-1, 1) * (1 - width), uniform(-1, 1) * (1 - height)], -1)
    elif config.crop == "pad":
        # Pad + random crop = an integer pixel shift in [-pad, pad] with zero fill; 2 / side per pixel.
        shift = torch.randint(-config.crop_padding, config.crop_padding + 1, (size, 2), generator=generator)
        offset += shift.double() * (2.0 / side)
    if config.translate > 0:
        offset += torch.stack([uniform(-1, 1), uniform(-1, 1)], -1) * (2.0 * config.translate)
    return torch.cat([linear, offset.unsqueeze(-1)], -1).float()


def random_erase(batch: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Replace one random rectangle per selected image with uniform noise (Zhong et al., 2020), vectorised."""
    size, _, height, width = batch.shape
    chosen = torch.rand(size, generator=generator) < config.random_erasing
    area = config.erasing_area[0] + (config.erasing_area[1] - config.erasing_area[0]) * torch.rand(
        size, generator=generator
    )
    log_ratio = math.log(0.3) + (math.log(1 / 0.3) - math.log(0.3)) * torch.rand(size, generator=generator)
    box_h = torch.sqrt(area * height * width * torch.exp(log_ratio)).round().clamp(1, height)
    box_w = torch.sqrt(area * height * width / torch.exp(log_ratio)).round().clamp(1, width)
    top = (torch.rand(size, generator=generator) * (height - box_h + 1)).floor()
    left = (torch.rand(size, generator=generator) * (width - box_w + 1)).floor()
    device = batch.device
    # The noise is drawn where the batch lives, from a generator seeded by the CPU one (no image-sized copies).
    noise_generator = torch.Generator(device=device).manual_seed(
        int(torch.randint(0, 2**62, (1,), generator=generator))
    )
    noise = torch.rand(size, 1, height, width, generator=noise_generator, device=device)
    rows = torch.arange(height, device=device).view(1, height, 1)
    cols = torch.arange(width, device=device).view(1, 1, width)
    top, left, box_h, box_w = (t.to(device).view(-1, 1, 1) for t in (top, left, box_h, box_w))
    mask = (
        (rows >= top) & (rows < top + box_h) & (cols >= left) & (cols < left + box_w) & chosen.to(device).view(-1, 1, 1)
    )
    return torch.where(mask.unsqueeze(1), noise, batch)
