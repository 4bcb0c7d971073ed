"""A job's progress names the step it is in (issue 14: during the heads step it still read
"train · epoch 2/2 · ~0.0 min left"), and epochs measure only the train step."""

from __future__ import annotations

from fer_engine.jobs.progress import ProgressTracker, describe_progress


def _events_of_a_two_epoch_pipeline() -> list[dict]:
    return [
        {"event": "step_started", "stage": "train", "step": "train"},
        {"event": "train_batch", "stage": "train", "epoch": 1, "batch": 1, "steps_per_epoch": 2, "total_epochs": 2},
        {"event": "epoch", "stage": "train", "epoch": 1, "total_epochs": 2, "val_accuracy": 0.3},
        {"event": "epoch", "stage": "train", "epoch": 2, "total_epochs": 2, "val_accuracy": 0.4},
        {"event": "step_done", "stage": "train", "step": "train"},
        {"event": "step_started", "stage": "embed", "step": "embed"},
        {"event": "step_done", "stage": "embed", "step": "embed"},
        {"event": "step_started", "stage": "heads", "step": "heads"},
        {"event": "head_started", "stage": "heads", "head": "svm", "fraction": 0.0, "message": "fitting svm (1 of 2)"},
    ]


def test_after_training_the_progress_names_the_step_and_its_own_fraction() -> None:
    tracker = ProgressTracker()
    seen = [describe_progress(tracker.update(event).to_dict()) for event in _events_of_a_two_epoch_pipeline()]
    assert seen[3].startswith("train · epoch 2/2")
    assert seen[5] == "embed" and tracker.progress.steps_done == ["train", "embed"]
    assert seen[-1] == "heads · fitting svm (1 of 2)"
    assert tracker.progress.fraction == 0.0 and tracker.progress.eta_seconds is None
    tracker.update({"event": "evaluated", "stage": "evaluate", "split": "val", "head": "svm"})
    assert tracker.progress.fraction is None  # not epoch 2 of 2 read as half of the evaluate step
    assert tracker.progress.message is None and describe_progress(tracker.progress.to_dict()) == "evaluate"


def test_progress_names_the_current_step_not_the_last_epoch() -> None:
    heads = {"step": "heads", "epoch": 2, "total_epochs": 2, "eta_seconds": 0.0, "message": "fitting svm (1 of 4)",
             "steps_done": ["train", "embed"], "metrics": {"val_accuracy": 0.5}}
    text = describe_progress(heads)
    assert text.startswith("heads · fitting svm (1 of 4)") and "epoch" not in text and "train" not in text
    training = {"step": "train", "epoch": 1, "total_epochs": 2, "eta_seconds": 90.0, "metrics": {"val_loss": 1.5}}
    assert describe_progress(training) == "train · epoch 1/2 · ~1.5 min left in this step · val_loss 1.5"
    assert describe_progress({**heads, "step": "report"}, "succeeded") == "done: train, embed"
    assert describe_progress(heads, "cancelled").startswith("stopped in heads")
