"""fer ship: fp16 copy of a run, heads shipped only when they beat its softmax on val, a card with measured numbers."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from fer_engine import shipping  # noqa: E402
from fer_engine.embeddings import checkpoint_sha256, read_embeddings  # noqa: E402
from fer_engine.errors import RunNotFoundError  # noqa: E402
from fer_engine.evaluation.evaluate import evaluate_checkpoint  # noqa: E402
from fer_engine.heads.fitting import fit_heads, head_record_file  # noqa: E402
from fer_engine.io_utils import atomic_write_json  # noqa: E402
from fer_engine.models.checkpoint import read_card  # noqa: E402
from fer_engine.runs.layout import RunPaths  # noqa: E402
from fer_engine.shipping import ship_run  # noqa: E402
from support.builders import FAST_HEAD_PARAMS, embedded_run, tiny_dataset


def _run_with_heads(root: Path, dataset, device: str) -> RunPaths:
    """A tiny embedded run with rf and xgboost heads whose recorded val accuracies put rf above the softmax."""
    run = embedded_run(root, dataset)
    fit_heads(run, ["rf", "xgboost"], params=FAST_HEAD_PARAMS)
    for name, accuracy in (("softmax", 0.30), ("rf", 0.50), ("xgboost", 0.20)):
        atomic_write_json(run.evaluation_file("val", name), {"accuracy": accuracy})
    atomic_write_json(run.summary, {"run_id": "tiny-run", "device": device, "precision": "fp32",
                                    "total_seconds": 120.0})
    return run


@pytest.mark.slow  # re-embeds and re-evaluates the run it ships
def test_ship_writes_fp16_weights_the_winning_head_and_a_card_of_remeasured_numbers(tmp_path):
    dataset = tiny_dataset()
    run = _run_with_heads(tmp_path / "run", dataset, device="cpu")
    shipped = ship_run(run, tmp_path / "shipped", dataset, tta_modes=("none", "flip"),
                       command=f"fer ship tiny-run --data {tmp_path / 'fer.zip'}")

    assert read_card(shipped.checkpoint_dir).weights_dtype == "float16"
    assert read_card(run.checkpoint_dir).weights_dtype == "float32"  # the source run is left as it was
    assert {p.name for p in shipped.heads_dir.iterdir()} == {p.name for p in run.heads_dir.glob("rf.*")}
    assert shipped.embeddings_file("val").exists() and not shipped.embeddings_file("train").exists()

    card = (shipped.root / "CARD.md").read_text()
    remeasured = evaluate_checkpoint(shipped.root, dataset, "val")
    assert f"| softmax (TTA none) | {remeasured.accuracy * 100:.2f}% |" in card
    assert "| softmax (TTA flip) |" in card and "| rf head |" in card and "xgboost head" not in card
    assert "Trained on a CPU because no GPU was available" in card
    assert "fer train --resume tiny-run" in card and "`fer ship tiny-run --data fer.zip`" in card
    assert str(tmp_path) not in card  # the card names no machine path


@pytest.mark.slow  # re-embeds and re-evaluates the run it ships
def test_a_gpu_trained_run_carries_no_cpu_caveat(tmp_path):
    dataset = tiny_dataset()
    run = _run_with_heads(tmp_path / "run", dataset, device="cuda")
    shipped = ship_run(run, tmp_path / "shipped", dataset, tta_modes=("none",))
    assert "Trained on a CPU" not in (shipped.root / "CARD.md").read_text()


def test_a_run_without_checkpoint_is_refused_and_the_destination_untouched(tmp_path):
    destination = tmp_path / "shipped"
    destination.mkdir()
    (destination / "keep.txt").write_text("already shipped")
    with pytest.raises(RunNotFoundError, match="no checkpoint"):
        ship_run(RunPaths(tmp_path / "empty-run"), destination, tiny_dataset())
    assert (destination / "keep.txt").read_text() == "already shipped"


@pytest.mark.slow  # re-embeds and re-evaluates the run it ships
def test_shipped_heads_and_embeddings_belong_to_the_fp16_weights(tmp_path):
    dataset = tiny_dataset()
    run = _run_with_heads(tmp_path / "run", dataset, device="cpu")
    shipped = ship_run(run, tmp_path / "shipped", dataset, tta_modes=("none",))
    shipped_sha = checkpoint_sha256(shipped.checkpoint_dir)
    stored = read_embeddings(shipped.embeddings_file("val"), "val")
    assert stored.checkpoint_sha256 == shipped_sha and len(stored) == len(dataset.split("val").labels)
    with np.load(shipped.embeddings_file("val"), allow_pickle=False) as data:
        assert data["embeddings"].dtype == data["logits"].dtype == np.float16  # compact: it is kept in git
    record = json.loads(head_record_file(shipped, "rf").read_text())
    assert record["embeddings_checkpoint_sha256"] == shipped_sha
    assert record["fitted_on_checkpoint_sha256"] == checkpoint_sha256(run.checkpoint_dir) != shipped_sha
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "fitted on another checkpoint" warning for the shipped head
        metrics = evaluate_checkpoint(shipped.root, dataset, "val", head="rf")
    assert metrics.protocol["head_fitted_on"] == "train" and "head_checkpoint_mismatch" not in metrics.protocol


@pytest.mark.slow  # re-embeds and re-evaluates the run it ships
def test_a_ship_that_fails_midway_keeps_the_model_already_shipped(tmp_path, monkeypatch):
    dataset = tiny_dataset()
    run = _run_with_heads(tmp_path / "run", dataset, device="cpu")
    destination = tmp_path / "shipped"
    ship_run(run, destination, dataset, tta_modes=("none",))
    card_before = (destination / "CARD.md").read_text()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shipping, "evaluate_shipped", disk_full)
    with pytest.raises(OSError, match="No space left"):
        ship_run(run, destination, dataset, tta_modes=("none",))
    assert (destination / "CARD.md").read_text() == card_before
    assert read_card(destination / "checkpoint").weights_dtype == "float16"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "shipped"]  # no staging folder left behind


SHIPPED_MODEL = RunPaths(Path(__file__).resolve().parents[2] / "checkpoints" / "default")


@pytest.mark.parametrize(("command", "shown"), [
    ("fer train --data /srv/data/fer2013.zip --preset strong", "fer train --data fer2013.zip --preset strong"),
    ("fer reproduce --data=/home/a/b/faces --limit 3", "fer reproduce --data=faces --limit 3"),
    ("fer ship RUN --runs-root runs", "fer ship RUN --runs-root runs"),
])
def test_commands_on_a_card_keep_only_the_data_file_name(command, shown):
    assert shipping.without_machine_paths(command) == shown


def test_the_shipped_model_card_regenerates_as_committed():
    """CARD.md of checkpoints/default is what `fer ship` writes from the folder's own files (no machine path),
    given the ship command it was run with on this machine."""
    committed = SHIPPED_MODEL.card_markdown.read_text(encoding="utf-8")
    shipped_with = committed.split("- Shipped with: `", 1)[1].split("`", 1)[0]
    data_name = shipped_with.split("--data ", 1)[1].split()[0]
    command = shipped_with.replace(f"--data {data_name}", f"--data /a/machine/path/{data_name}")
    evaluations = {f"softmax (TTA {tta})": json.loads(SHIPPED_MODEL.evaluation_file("val", name).read_text())
                   for tta, name in (("none", "softmax"), ("flip", "softmax_tta-flip"),
                                     ("tencrop", "softmax_tta-tencrop"))}
    assert shipping.model_card_markdown(SHIPPED_MODEL, evaluations, command) == committed
    assert "/a/machine/path" not in committed and f"(file `{data_name}`)" in committed
