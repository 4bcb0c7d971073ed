"""The paper's numbers as data: complete, consistent with the protocol page and the paper's text, leak flagged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fer_engine.scoring.paper_results import (
    PAPER_HEADS,
    PAPER_RESULTS,
    PAPER_TABLES,
    PAPER_XGBOOST_SEARCH,
    paper_loss_family,
    paper_result,
    published_results,
)

SHARED = Path(__file__).resolve().parents[3] / "shared"
PROTOCOL_PAGE = SHARED / "docs" / "paper-protocol.md"
PAPER_TEXT = SHARED / "paper" / "vgg19-triplet-fer2013.txt"


def test_every_table_has_its_rows():
    tables = {}
    for result in PAPER_RESULTS:
        tables.setdefault(result.table, []).append(result)
    assert {t: len(rows) for t, rows in tables.items()} == {
        "Table 3": 2,
        "Table 4": 4,
        "Table 5": 4,
        "Table 6": 4,
        "Table 7": 4,
        "Table 8": 1,
        "Table 9": 4,
        "Table 10": 4,
    }
    keys = [(r.loss, r.head, r.split) for r in PAPER_RESULTS]
    assert len(keys) == len(set(keys))
    assert all(r.head in PAPER_HEADS and 0 < r.accuracy < 1 for r in PAPER_RESULTS)


def test_headline_numbers():
    assert paper_result("ce", "xgboost", "test").accuracy == pytest.approx(0.6570)
    assert paper_result("ce", "softmax", "test").accuracy == pytest.approx(0.6509)
    assert paper_result("ce", "softmax", "val").accuracy == pytest.approx(0.6528)
    assert paper_result("triplet", "xgboost", "test").accuracy == pytest.approx(0.6530)
    assert paper_result("triplet", "softmax", "test") is None  # the triplet backbone has no classifier
    assert PAPER_XGBOOST_SEARCH["n_fits"] == 25


def test_only_the_xgboost_validation_rows_are_flagged_as_the_leak():
    leaked = {(r.loss, r.head, r.split, r.table) for r in PAPER_RESULTS if r.leaked}
    assert leaked == {("cross_entropy", "xgboost", "val", "Table 5"), ("triplet", "xgboost", "val", "Table 7")}
    assert all(r.accuracy > 0.99 and "training accuracy" in r.note for r in PAPER_RESULTS if r.leaked)


def test_loss_family_mapping():
    assert paper_loss_family("ce") == "cross_entropy"
    assert paper_loss_family("ce+triplet") == "triplet"
    assert paper_loss_family("triplet") == "triplet"
    assert paper_loss_family(None) == "cross_entropy"


@pytest.mark.skipif(not PROTOCOL_PAGE.exists(), reason="the shared protocol page is not on this machine")
def test_test_split_values_match_the_protocol_page():
    rows = re.findall(r"^\| (.+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", PROTOCOL_PAGE.read_text(), re.M)
    assert len(rows) == 9
    order = [("cross_entropy", h) for h in ("softmax", "mlp", "svm", "rf", "xgboost")]
    order += [("triplet", h) for h in ("mlp", "svm", "rf", "xgboost")]
    for (loss, head), (_method, acc, p, r, f1) in zip(order, rows):
        result = paper_result(loss, head, "test")
        assert (result.accuracy * 100, result.precision, result.recall, result.f1) == pytest.approx(
            (float(acc), float(p), float(r), float(f1))
        ), (loss, head)
    assert "65.28%" in PROTOCOL_PAGE.read_text() and "86.39%" in PROTOCOL_PAGE.read_text()


@pytest.mark.skipif(not PAPER_TEXT.exists(), reason="the shared paper text is not on this machine")
def test_every_accuracy_appears_in_the_paper_text():
    text = PAPER_TEXT.read_text()
    for result in PAPER_RESULTS:
        assert f"{result.accuracy * 100:.2f}" in text, (result.table, result.head, result.split)


def test_published_results_by_table_and_split():
    """What the Experiments page's Paper tab lists: tables in the paper's order, rows filtered by table and split."""
    assert PAPER_TABLES == tuple(f"Table {n}" for n in range(3, 11))
    assert published_results() == list(PAPER_RESULTS)
    val_tables = {result.table for result in published_results(split="val")}
    assert val_tables == {"Table 3", "Table 5", "Table 7"}
    rows = published_results(["Table 9", "Table 10"], split="test")
    assert [(r.table, r.loss) for r in rows][:1] == [("Table 9", "cross_entropy")] and len(rows) == 8
    assert published_results(["Table 9"], split="val") == []
