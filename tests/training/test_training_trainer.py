"""train() on tiny generated data: it learns, logs every epoch, checkpoints the best epoch, resumes exactly,
is seeded, stops early, and stops cleanly when asked."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fer_engine.data.dataset import FerDataset, Split
from fer_engine.data.synthetic import synthetic_images
from fer_engine.errors import ConfigError
from fer_engine.inference import run_inference
from fer_engine.models.checkpoint import load_checkpoint
from fer_engine.runs.layout import RunPaths
from fer_engine.training import AugmentConfig, TrainConfig, train
from fer_engine.training.objectives import class_weights
from fer_engine.training.validation import Validator

TIMING_KEYS = {"epoch_seconds", "train_seconds", "images_per_second", "elapsed_seconds"}


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these tiny models run faster that way on a shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_dataset(train_per_class: int = 8, val_per_class: int = 3) -> FerDataset:
    def split(n: int, seed: int) -> Split:
        images, labels = synthetic_images(n, seed=seed)
        return Split(images, labels, np.array([f"{seed}/{i}" for i in range(len(labels))]))

    return FerDataset({"train": split(train_per_class, 0), "val": split(val_per_class, 1)}, fingerprint="tiny",
                      source="synthetic")


def tiny_config(**overrides) -> TrainConfig:
    base = TrainConfig(
        arch="vgg19_bn_quarter", input_size=48, epochs=3, batch_size=14, lr=0.01, momentum=0.9, nesterov=True,
        weight_decay=0.0, scheduler="cosine", warmup_epochs=0.5, select_metric="val_accuracy",
        augment=AugmentConfig(crop="pad", crop_padding=2, hflip=False), device="cpu", precision="fp32",
        eval_batch_size=64, seed=0,
    )
    return base.with_overrides(**overrides)


def without_timing(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMING_KEYS}


def assert_records_close(first: dict, second: dict, tol: float = 1e-6) -> None:
    first, second = without_timing(first), without_timing(second)
    assert first.keys() == second.keys()
    for key, value in first.items():
        if isinstance(value, float):
            assert math.isclose(value, second[key], rel_tol=tol, abs_tol=tol), key
        else:
            assert value == second[key], key


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """An uninterrupted 3-epoch run that several tests inspect."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    run = RunPaths(tmp_path_factory.mktemp("reference") / "run")
    epochs_seen = []
    result = train(tiny_config(), tiny_dataset(), run, on_epoch=epochs_seen.append)
    torch.set_num_threads(previous)
    return run, result, epochs_seen


def test_run_learns_and_logs_every_epoch(reference_run):
    run, result, epochs_seen = reference_run
    records = run.read_metrics()
    assert result.status == "succeeded" and result.epochs_completed == 3
    assert [r["epoch"] for r in records] == [1, 2, 3] and records == epochs_seen
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_macro_f1", "lr", "epoch_seconds",
                "images_per_second", "elapsed_seconds", "is_best"):
        assert all(key in r for r in records), key
    assert records[-1]["train_loss"] < 0.7 * records[0]["train_loss"]
    assert records[-1]["train_accuracy"] > 0.5
    assert max(r["val_accuracy"] for r in records) > 0.4  # chance is 1/7
    best = max(records, key=lambda r: r["val_accuracy"])
    assert result.best_epoch == best["epoch"] and [r["epoch"] for r in records if r["is_best"]][-1] == best["epoch"]
    summary = run.read_summary()
    assert summary["status"] == "succeeded" and summary["best_epoch"] == best["epoch"]
    assert summary["best_val_accuracy"] == best["val_accuracy"] and summary["precision"] == "fp32"
    assert summary["torch_version"] == torch.__version__ and summary["images_per_second"] > 0
    assert run.read_config()["arch"] == "vgg19_bn_quarter"


def test_checkpoint_reproduces_the_recorded_val_accuracy(reference_run):
    run, result, _ = reference_run
    model, card = load_checkpoint(run.root)
    assert card.arch == "vgg19_bn_quarter" and card.embedding_dim == model.embedding_dim
    assert card.metrics["selected_on"] == "val" and card.metrics["epoch"] == result.best_epoch
    assert card.extra["pretrained"] is None and card.data_fingerprint == "tiny"
    val = tiny_dataset().split("val")
    output = run_inference(model, val.images, batch_size=64, precision="fp32")
    assert float((output.predictions == val.labels).mean()) == pytest.approx(card.metrics["val_accuracy"], abs=1e-9)


def test_interrupt_then_resume_equals_an_uninterrupted_run(reference_run, tmp_path):
    reference, _, _ = reference_run
    run = RunPaths(tmp_path / "run")
    finished: list[dict] = []
    first = train(tiny_config(), tiny_dataset(), run, on_epoch=finished.append, should_stop=lambda: len(finished) >= 2)
    assert first.status == "interrupted" and first.epochs_completed == 2
    assert len(run.read_metrics()) == 2 and run.read_summary()["status"] == "interrupted"
    second = train(tiny_config(), tiny_dataset(), run, resume=True)
    assert second.status == "succeeded" and second.epochs_completed == 3
    resumed, uninterrupted = run.read_metrics(), reference.read_metrics()
    assert len(resumed) == 3
    for a, b in zip(resumed, uninterrupted):
        assert_records_close(a, b)
    weights = torch.load(run.resume_state, weights_only=True)["model"]
    expected = torch.load(reference.resume_state, weights_only=True)["model"]
    for name, tensor in expected.items():
        assert torch.allclose(weights[name].float(), tensor.float(), atol=1e-6), name


def test_same_seed_same_first_epoch_and_other_seed_differs(reference_run, tmp_path):
    reference, _, _ = reference_run
    first_epoch = reference.read_metrics()[0]
    same = RunPaths(tmp_path / "same")
    again = train(tiny_config(epochs=3), tiny_dataset(), same, should_stop=_stop_after_epochs(same, 1))
    assert again.epochs_completed == 1
    assert abs(same.read_metrics()[0]["train_loss"] - first_epoch["train_loss"]) < 1e-6
    other = RunPaths(tmp_path / "other")
    train(tiny_config(epochs=1, seed=1), tiny_dataset(), other)
    assert abs(other.read_metrics()[0]["train_loss"] - first_epoch["train_loss"]) > 1e-4


def _stop_after_epochs(run: RunPaths, count: int):
    """A should_stop that turns True once `count` epochs are in the run's metrics log."""
    return lambda: len(run.read_metrics()) >= count


def test_early_stopping_and_plateau_follow_the_val_metric(tmp_path, monkeypatch):
    losses = iter([1.0, 0.9, 0.95, 0.97, 0.99, 0.5, 0.4])
    monkeypatch.setattr(Validator, "evaluate",
                        lambda self, model: {"val_loss": next(losses), "val_accuracy": 0.5, "val_macro_f1": 0.5})
    config = tiny_config(epochs=10, scheduler="plateau", warmup_epochs=0, plateau_patience=1, plateau_factor=0.1,
                         early_stopping_patience=3, select_metric="val_loss", lr=0.01)
    run = RunPaths(tmp_path / "run")
    result = train(config, tiny_dataset(train_per_class=2, val_per_class=1), run)
    records = run.read_metrics()
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5]
    assert result.stopped_early and result.best_epoch == 2 and result.status == "succeeded"
    assert [r["is_best"] for r in records] == [True, True, False, False, False]
    # ReduceLROnPlateau(patience=1): the 2nd bad epoch (4) cuts the rate used from epoch 5 on.
    assert [r["lr"] for r in records] == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.001])
    assert run.read_summary()["stopped_early"] is True


def test_stop_before_the_first_epoch_leaves_nothing_to_resume(tmp_path):
    run = RunPaths(tmp_path / "run")
    result = train(tiny_config(), tiny_dataset(train_per_class=2, val_per_class=1), run, should_stop=lambda: True)
    assert result.status == "interrupted" and result.epochs_completed == 0 and run.read_metrics() == []
    with pytest.raises(ConfigError, match="resume"):
        train(tiny_config(), tiny_dataset(train_per_class=2, val_per_class=1), run, resume=True)


def test_resume_refuses_a_changed_recipe(reference_run, tmp_path):
    reference, _, _ = reference_run
    with pytest.raises(ConfigError, match=r"only epochs, device, precision may change; changed: lr"):
        train(tiny_config(lr=0.5), tiny_dataset(), reference, resume=True)


def test_resume_state_loads_without_pickle_and_has_rng_states(reference_run):
    reference, _, _ = reference_run
    state = torch.load(reference.resume_state, weights_only=True)
    assert state["progress"]["epoch"] == 3
    assert {"torch_cpu", "numpy_keys"} <= set(state["rng"]) and state["optimizer"]["state"]


@pytest.mark.parametrize("loss", ["ce+triplet", "triplet"])
def test_triplet_objectives_train_and_score_knn(loss, tmp_path):
    config = tiny_config(
        epochs=1, loss=loss, select_metric="val_knn_accuracy",
        triplet={"classes_per_batch": 7, "samples_per_class": 2, "knn_reference_size": 21},
    )
    run = RunPaths(tmp_path / "run")
    result = train(config, tiny_dataset(train_per_class=4, val_per_class=2), run)
    record = run.read_metrics()[0]
    assert result.status == "succeeded"
    assert 0.0 <= record["val_knn_accuracy"] <= 1.0 and math.isfinite(record["train_loss"])
    if loss == "triplet":
        assert record["val_accuracy"] is None and record["train_accuracy"] is None
    else:
        assert math.isfinite(record["train_triplet_loss"]) and record["val_accuracy"] is not None


def test_balanced_class_weights_follow_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = class_weights(labels, num_classes=4)
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=labels)
    assert np.allclose(weights[:3].numpy(), expected * 3 / 4) and weights[3] == 0
