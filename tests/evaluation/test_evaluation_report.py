"""evaluate_run writes one evaluation per (split, head); the report shows our numbers beside the paper's."""

from __future__ import annotations

import json

from fer_engine.evaluation.evaluate import evaluate_run, read_evaluation, stored_evaluations  # noqa: E402
from fer_engine.evaluation.report import build_report, write_report  # noqa: E402
from fer_engine.heads import HEAD_NAMES, fit_heads  # noqa: E402
from support.builders import FAST_HEAD_PARAMS, run_with_separable_embeddings


def _fitted_run(tmp_path, **kwargs):
    run = run_with_separable_embeddings(tmp_path / "run", **kwargs)
    fit_heads(run, HEAD_NAMES, params=FAST_HEAD_PARAMS)
    return run


def test_evaluate_run_scores_softmax_and_every_head_on_every_split(tmp_path):
    run = _fitted_run(tmp_path)
    results = evaluate_run(run)
    assert {(m.split, m.head) for m in results} == {(s, h) for s in ("train", "val") for h in ("softmax",) + HEAD_NAMES}
    for metrics in results:
        stored = json.loads(run.evaluation_file(metrics.split, metrics.head).read_text())
        assert stored["accuracy"] == metrics.accuracy
        assert stored["fitted_on_split"] is (metrics.split == "train")
        assert stored["protocol"]["selected_on"] == "val" and stored["protocol"]["ensemble"] is False
        assert stored["protocol"]["checkpoint"] == run.run_id
    assert read_evaluation(run, "train", "svm").score_kind == "training accuracy (fitted on this split)"
    assert read_evaluation(run, "test", "svm") is None


def test_only_outdated_evaluations_are_redone(tmp_path):
    run = _fitted_run(tmp_path)
    evaluate_run(run)
    assert evaluate_run(run, only_outdated=True) == []
    run.evaluation_file("val", "rf").unlink()
    redone = evaluate_run(run, only_outdated=True)
    assert [(m.split, m.head) for m in redone] == [("val", "rf")]


def test_report_has_our_rows_and_the_papers_numbers(tmp_path):
    run = _fitted_run(tmp_path)
    path = write_report(run)
    report = path.read_text()
    assert path == run.report_markdown
    assert report == build_report(run)
    evaluations = stored_evaluations(run)  # build_report evaluated everything
    assert len(evaluations) == 10
    for title in ("(softmax)", "+ ANN (MLP)", "+ SVM (RBF)", "+ Random Forest", "+ XGBoost"):
        assert title in report
    val_rf = evaluations[("val", "rf")]
    assert f"{val_rf.accuracy * 100:.2f}%" in report and f"{val_rf.macro_f1:.3f}" in report
    # The paper's cross-entropy numbers with their tables (val: Tables 3 and 5, test: Tables 8 and 9).
    for number, table in (("65.28%", "Table 3"), ("65.19%", "Table 5"), ("65.70%", "Table 9"), ("65.09%", "Table 8")):
        assert number in report and table in report
    assert "99.74% (leak!)" in report and "documented error" in report
    assert "## Test (PrivateTest)" in report and "absent" in report
    assert "training accuracy (fitted on this split)" in report
    assert "checkpoint selected on val" in report and "TTA: no" in report and "ImageNet-pretrained: no" in report
    assert "single model" in report
    assert "Per-class F1" in report and "Confusion matrix" in report and "| disgust |" in report


def test_report_of_a_triplet_run_uses_the_triplet_tables(tmp_path):
    run = _fitted_run(tmp_path, loss="triplet", pretrained="weights.pth")
    report = build_report(run)
    assert "Table 7" in report and "62.52%" in report and "Table 5" not in report.split("## Notes")[0]
    assert "(softmax)" not in report  # triplet loss alone trains no classifier: no softmax row, no evaluation
    assert not run.evaluation_file("val", "softmax").exists() and run.evaluation_file("val", "svm").exists()
    assert "ImageNet-pretrained: yes" in report
