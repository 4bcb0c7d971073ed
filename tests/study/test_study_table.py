"""The study table in Markdown, CSV and JSON."""

from __future__ import annotations

import csv

from fer_engine.study.table import HeadScore, PaperScore, StudyRow, markdown_table, read_study_json, write_study_table


def _rows() -> list[StudyRow]:
    ce = StudyRow("ce", "ce", None, None, run_id="r1", status="succeeded", epochs=2,
                  embedding_val={"knn_accuracy_k1": 0.5, "mean_average_precision_at_r": 0.2},
                  scores={"softmax": {"val": HeadScore(0.61, 0.55)}, "svm": {"val": HeadScore(0.58, 0.5)}},
                  paper={"svm": PaperScore(0.5642, 0.56, "Table 9")})
    triplet = StudyRow("triplet-random-euclidean", "triplet", "random", "euclidean", run_id="r2", status="failed",
                       error="ModelError: boom")
    return [ce, triplet]


def test_markdown_shows_scores_and_the_paper_beside_them():
    text = markdown_table(_rows(), ["softmax", "svm"])
    lines = text.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("| cell | loss | miner | distance")
    assert "61.0 / 0.550" in lines[2] and "(paper 56.42, Table 9)" in lines[2]
    assert "failed: ModelError: boom" in lines[3]


def test_csv_and_json_hold_one_row_per_run(tmp_path):
    paths = write_study_table(tmp_path, _rows(), ["softmax", "svm"], {"study_id": "s1"})
    with open(paths["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["cell"] for row in rows] == ["ce", "triplet-random-euclidean"]
    assert rows[0]["svm_val_accuracy"] == "0.58" and rows[0]["paper_svm_test_accuracy"] == "0.5642"
    assert rows[0]["val_knn_accuracy_k1"] == "0.5" and rows[1]["svm_val_accuracy"] == ""
    data = read_study_json(paths["json"])
    assert data["study_id"] == "s1" and data["rows"][1]["error"] == "ModelError: boom"
    assert paths["markdown"].read_text().startswith("# Triplet study s1")
