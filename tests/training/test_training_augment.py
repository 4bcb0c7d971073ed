"""Batched augmentation: shapes, range, seeded determinism, identity when off, flips, crops and erasing."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fer_engine.data.synthetic import synthetic_images
from fer_engine.training.augment import augment_batch, random_affine_matrices
from fer_engine.training.config import AugmentConfig

IMAGES = torch.from_numpy(synthetic_images(3, seed=5)[0])  # (21, 48, 48) uint8
STRONG = AugmentConfig(crop="pad", crop_padding=4, hflip=True, rotation_degrees=10, translate=0.05, scale=(0.9, 1.1),
                       random_erasing=0.5)


def reference(images: torch.Tensor) -> torch.Tensor:
    return images.unsqueeze(1).float() / 255.0


def test_shape_dtype_and_range():
    for config in (STRONG, AugmentConfig(crop="resized", resized_scale=(0.5, 1.0)), AugmentConfig()):
        out = augment_batch(IMAGES, config, torch.Generator().manual_seed(0))
        assert out.shape == (21, 1, 48, 48) and out.dtype == torch.float32
        assert out.min() >= 0 and out.max() <= 1


def test_same_seed_same_output_and_different_seed_differs():
    first = augment_batch(IMAGES, STRONG, torch.Generator().manual_seed(3))
    again = augment_batch(IMAGES, STRONG, torch.Generator().manual_seed(3))
    other = augment_batch(IMAGES, STRONG, torch.Generator().manual_seed(4))
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)


def test_identity_when_everything_is_off():
    off = AugmentConfig(crop="none", hflip=False, rotation_degrees=0, translate=0, scale=(1, 1), random_erasing=0)
    out = augment_batch(IMAGES, off, torch.Generator().manual_seed(0))
    assert torch.equal(out, reference(IMAGES))


def test_flip_only_flips_about_half_exactly():
    out = augment_batch(IMAGES, AugmentConfig(hflip=True), torch.Generator().manual_seed(1))
    original, mirrored = reference(IMAGES), reference(IMAGES).flip(-1)
    is_same = [torch.equal(out[i], original[i]) for i in range(len(out))]
    is_flipped = [torch.equal(out[i], mirrored[i]) for i in range(len(out))]
    assert all(a or b for a, b in zip(is_same, is_flipped))
    assert 3 <= sum(is_flipped) <= 18


def test_flip_inside_the_affine_path_mirrors_the_image():
    # A pad of 0 forces the grid_sample path; each image must come out as itself or its exact mirror.
    out = augment_batch(IMAGES, AugmentConfig(crop="pad", crop_padding=0, hflip=True), torch.Generator().manual_seed(2))
    original, mirrored = reference(IMAGES), reference(IMAGES).flip(-1)
    errors = [min((out[i] - original[i]).abs().max(), (out[i] - mirrored[i]).abs().max()) for i in range(len(out))]
    assert max(errors) < 1e-4
    assert any((out[i] - mirrored[i]).abs().max() < 1e-4 and not torch.equal(original[i], mirrored[i]) for i in range(len(out)))


def test_pad_crop_equals_zero_padding_then_a_48_pixel_crop():
    config = AugmentConfig(crop="pad", crop_padding=4, hflip=False)
    theta = random_affine_matrices(len(IMAGES), config, torch.Generator().manual_seed(7), side=48)
    out = augment_batch(IMAGES, config, torch.Generator().manual_seed(7))
    padded = F.pad(reference(IMAGES), (4, 4, 4, 4))
    shifts = (theta[:, :, 2] * 24).round().int()
    assert shifts.abs().max() <= 4 and shifts.abs().sum() > 0
    for i, (dx, dy) in enumerate(shifts.tolist()):
        crop = padded[i, :, 4 + dy : 4 + dy + 48, 4 + dx : 4 + dx + 48]
        assert torch.allclose(out[i], crop, atol=1e-4)


def test_random_erasing_writes_one_rectangle_in_the_chosen_images():
    config = AugmentConfig(hflip=False, random_erasing=1.0, erasing_area=(0.1, 0.1))
    out = augment_batch(IMAGES, config, torch.Generator().manual_seed(0))
    changed = (out != reference(IMAGES)).squeeze(1)
    for mask in changed:
        rows, cols = torch.nonzero(mask, as_tuple=True)
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert 0 < mask.sum() <= box <= 0.2 * 48 * 48
    untouched = augment_batch(IMAGES, AugmentConfig(hflip=False, random_erasing=0.0), torch.Generator().manual_seed(0))
    assert torch.equal(untouched, reference(IMAGES))
