"""Disk full while a run writes its checkpoint or resume state: the previous files stay intact and loadable."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from fer_engine.io_utils import atomic_write
from fer_engine.models import create_model
from fer_engine.models.checkpoint import ModelCard, load_checkpoint, save_checkpoint
from fer_engine.runs.store import RunStore


def _disk_full_after_half(real_write):
    """A writer that writes half of what the real one would, then fails like a full disk."""

    def write(*args, **kwargs):
        target = Path(args[1] if len(args) > 1 else kwargs.get("filename", kwargs.get("f")))
        real_write(*args, **kwargs)
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    return write


def test_checkpoint_survives_disk_full_during_the_next_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.torch

    run = RunStore(tmp_path / "runs").create_run(name="disk-full")
    model = create_model("vgg19_bn_quarter")
    save_checkpoint(model, ModelCard(arch="vgg19_bn_quarter", metrics={"epoch": 1}), run.checkpoint_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    monkeypatch.setattr(safetensors.torch, "save_file", _disk_full_after_half(safetensors.torch.save_file))
    with pytest.raises(OSError) as raised:
        save_checkpoint(model, ModelCard(arch="vgg19_bn_quarter", metrics={"epoch": 2}), run.checkpoint_dir)
    assert raised.value.errno == errno.ENOSPC
    monkeypatch.undo()
    loaded, card = load_checkpoint(run.checkpoint_dir)
    assert card.metrics == {"epoch": 1}
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert sorted(p.name for p in run.checkpoint_dir.iterdir()) == ["model.json", "model.safetensors"]


def test_resume_state_survives_disk_full(tmp_path: Path) -> None:
    state_path = tmp_path / "run" / "state" / "last.pt"
    atomic_write(state_path, lambda tmp: torch.save({"epoch": 1, "weights": torch.ones(4)}, tmp))
    failing_save = _disk_full_after_half(torch.save)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(state_path, lambda tmp: failing_save({"epoch": 2, "weights": torch.zeros(4)}, tmp))
    state = torch.load(state_path, weights_only=True)
    assert state["epoch"] == 1 and torch.equal(state["weights"], torch.ones(4))
    assert [p.name for p in state_path.parent.iterdir()] == ["last.pt"]  # no temp file left behind
