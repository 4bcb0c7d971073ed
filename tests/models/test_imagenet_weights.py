"""ImageNet initialisation from a torchvision weights file (`create_model(..., pretrained=PATH)`): the conv stack
takes the file's tensors, the classifier stays freshly initialised, and the file is read without running pickled
code (torch.load with weights_only=True, or safetensors).

The file is written here in torchvision's key layout (`features.<i>.weight`, ..., `classifier.6.weight`) from
torchvision's own VGG layer builder with random values, so no download is needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models.vgg import cfgs, make_layers

from fer_engine.errors import ModelError
from fer_engine.models import create_model
from fer_engine.models.imagenet_weights import TORCHVISION_FILES


def torchvision_features(arch: str) -> torch.nn.Sequential:
    """torchvision's VGG-19 ('E') conv stack, with or without batch norm, every tensor random (incl. BN statistics)."""
    generator = torch.Generator().manual_seed(123)
    features = make_layers(cfgs["E"], batch_norm=arch.endswith("_bn"))
    with torch.no_grad():
        for name, tensor in features.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator) + 0.5 if name.endswith("running_var") \
                    else torch.randn(tensor.shape, generator=generator) * 0.05
                tensor.copy_(values)
            else:
                tensor.fill_(7)  # num_batches_tracked
    return features.eval()


def write_weights(path: Path, features: torch.nn.Sequential) -> Path:
    """A torchvision-layout state dict: the features plus ImageNet's 1000-class last layer (which must be ignored)."""
    state = {f"features.{key}": value.clone() for key, value in features.state_dict().items()}
    state["classifier.6.weight"] = torch.randn(1000, 4096)
    state["classifier.6.bias"] = torch.randn(1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize(("arch", "source"), [
    ("vgg19_bn", "file.pth"),  # --pretrained PATH with torchvision's own file format: the fast lane's case
    pytest.param("vgg19_bn", "file.safetensors", marks=pytest.mark.slow),
    pytest.param("vgg19", "cache", marks=pytest.mark.slow),
])
def test_imagenet_features_load_into_the_model_and_the_classifier_stays_new(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arch: str, source: str) -> None:
    features = torchvision_features(arch)
    if source == "cache":  # pretrained='imagenet': torchvision's file name in the torch hub cache
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
        write_weights(tmp_path / "torch" / "hub" / "checkpoints" / TORCHVISION_FILES[arch], features)
        pretrained = "imagenet"
    else:
        pretrained = str(write_weights(tmp_path / source, features))

    torch.manual_seed(0)
    untouched = create_model(arch)
    torch.manual_seed(0)
    model = create_model(arch, pretrained=pretrained).eval()

    ours = model.state_dict()
    for key, value in features.state_dict().items():
        assert torch.equal(ours[f"features.{key}"], value), key
    assert not torch.equal(ours["features.0.weight"], untouched.state_dict()["features.0.weight"])
    # The head is what the same seed gives without weights: 7 classes on the 512-d embedding, not ImageNet's layer.
    assert model.classifier.weight.shape == (7, 512)
    assert torch.equal(model.classifier.weight, untouched.classifier.weight)
    assert torch.equal(model.classifier.bias, untouched.classifier.bias)

    images = torch.rand(2, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = features(model.prepare_input(images)).mean(dim=(2, 3))
        assert torch.allclose(model.forward_features(images), expected, atol=1e-5)


def _leave_a_mark(path: str) -> None:
    Path(path).write_text("unpickled code ran")


class RunsCodeWhenUnpickled:
    """Unpickling this calls `_leave_a_mark`: what a tampered weights file could do with plain pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return _leave_a_mark, (self.marker,)


def test_a_weights_file_that_would_run_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "marker.txt"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3), "payload": RunsCodeWhenUnpickled(marker)},
               tmp_path / "tampered.pth")

    with pytest.raises(ModelError, match="cannot read ImageNet weights"):
        create_model("vgg19_bn", pretrained=str(tmp_path / "tampered.pth"))
    assert not marker.exists()
