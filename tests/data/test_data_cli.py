"""`fer data summary|audit` in-process: tables, JSON, options, and bad input as exit 2 without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fer_engine.classes import FER_CLASS_NAMES
from fer_engine.cli.main import main
from fer_engine.data.synthetic import write_image_folder


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    return write_image_folder(tmp_path / "fer.zip", {"train": 10, "val": 2}, as_zip=True)


def test_summary_table(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", str(source)]) == 0
    out = capsys.readouterr().out
    assert "| class | train | val | total | share |" in out
    assert "| disgust | 10 | 2 | 12 | 14.3% |" in out
    assert "absent splits: test" in out


def test_summary_json(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", str(source), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["splits"]["train"] == {name: 10 for name in FER_CLASS_NAMES}
    assert data["splits"]["val"]["happy"] == 2
    assert data["absent_splits"] == ["test"]


def test_summary_drawn_val_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    plain = write_image_folder(tmp_path / "plain", {"train": 10}, with_usage_prefix=False)
    assert main(["data", "summary", str(plain), "--json", "--val-fraction", "0.2", "--seed", "7"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["drawn_splits"] == {"val": "stratified 20% of train, seed 7"}
    assert data["split_totals"] == {"train": 56, "val": 14}


def test_audit_table_and_json(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "audit", str(source)]) == 0
    out = capsys.readouterr().out
    assert "exact duplicates:" in out and "near duplicates:" in out and "blank images" in out
    assert main(["data", "audit", str(source), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_images"] == 84 and data["exact_duplicates"]["kind"] == "exact"


def test_bad_path_exit_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", str(tmp_path / "missing.zip")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fer: error:") and "missing.zip does not exist" in err and "Traceback" not in err


def test_bad_image_fails_then_skip_bad_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    root = write_image_folder(tmp_path / "fer", 3)
    (root / "train" / "sad" / "Training_1.jpg").write_bytes(b"junk")
    assert main(["data", "audit", str(root)]) == 2
    err = capsys.readouterr().err
    assert "Training_1.jpg: cannot decode image" in err and "Traceback" not in err
    assert main(["data", "summary", str(root), "--skip-bad", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skipped_count"] == 1 and "Training_1.jpg" in data["skipped_examples"][0]["where"]


def test_bad_val_fraction_is_a_user_error(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "summary", str(source), "--val-fraction", "2"]) == 2
    assert "val_fraction" in capsys.readouterr().err
