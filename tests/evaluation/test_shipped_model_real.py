"""The shipped model, re-evaluated on real PublicTest, gives the numbers its card states and beats the paper.

Needs FER2013_PATH (skipped otherwise): this is `fer evaluate --checkpoint checkpoints/default --split val`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fer_engine.data.loader import load_dataset
from fer_engine.evaluation.evaluate import evaluate_checkpoint
from fer_engine.paths import DEFAULT_CHECKPOINT_DIR
from fer_engine.runs.layout import RunPaths
from fer_engine.scoring.paper_results import paper_result

pytestmark = pytest.mark.real_data



@pytest.mark.timeout(600)
def test_shipped_model_reproduces_its_card_on_publictest(fer2013_path: Path) -> None:
    shipped = RunPaths(DEFAULT_CHECKPOINT_DIR)
    stated = json.loads(shipped.evaluation_file("val", "softmax").read_text())
    assert f"| softmax (TTA none) | {stated['accuracy'] * 100:.2f}% |" in (shipped.root / "CARD.md").read_text()

    measured = evaluate_checkpoint(shipped.root, load_dataset(fer2013_path), "val")
    assert measured.n == stated["n"] == 3589
    # Same weights and code; a different CPU's bf16 kernels may flip a handful of the 3,589 labels.
    assert measured.accuracy == pytest.approx(stated["accuracy"], abs=0.002)
    assert measured.macro_f1 == pytest.approx(stated["macro_f1"], abs=0.003)
    assert measured.accuracy > paper_result("cross_entropy", "softmax", "val").accuracy  # Table 3: 65.28%
    assert measured.protocol["selected_on"] == "val" and measured.protocol["ensemble"] is False
