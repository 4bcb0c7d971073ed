"""`fer predict` and `fer export` in-process: JSON shape with good and bad files, exit codes, output files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from fer_engine.cli.main import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from fer_engine.models import create_model
    from fer_engine.models.checkpoint import ModelCard, save_checkpoint

    torch.manual_seed(0)
    model = create_model("vgg19_bn_quarter")
    directory = tmp_path_factory.mktemp("cli_ckpt") / "checkpoint"
    save_checkpoint(model, ModelCard(arch="vgg19_bn_quarter", embedding_dim=model.embedding_dim), directory)
    return directory


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "album"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(folder / "astro naut.png")
    Image.fromarray(skimage.data.coffee()).save(folder / "coffee.jpg")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    return {"folder": folder, "bad": bad, "text": text}


def test_json_lists_every_input_and_bad_files_get_errors(checkpoint, photos, tmp_path, capsys) -> None:
    annotated, saliency = tmp_path / "annotated", tmp_path / "saliency"
    status = main(["predict", str(photos["folder"]), str(photos["bad"]), str(photos["text"]), "--checkpoint", str(checkpoint),
                   "--json", "--annotate", str(annotated), "--saliency", str(saliency)])
    captured = capsys.readouterr()
    assert status == 0
    results = [json.loads(line) for line in captured.out.splitlines()]  # JSON Lines: one object per image
    assert [Path(r["image"]).name for r in results] == ["astro naut.png", "coffee.jpg", "broken.jpg", "notes.txt"]
    astronaut, coffee, broken, text = results
    assert astronaut["error"] is None and len(astronaut["faces"]) == 1
    face = astronaut["faces"][0]
    assert set(face) >= {"box", "label", "probabilities", "face_score", "detector_score"} and len(face["box"]) == 4
    assert face["face_score"] >= 0.5 and 0.5 <= face["detector_score"] <= 1.0
    assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
    assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert coffee == {"image": str(photos["folder"] / "coffee.jpg"), "faces": [], "skipped": 0, "error": None}
    assert broken["faces"] == [] and "broken.jpg" in broken["error"]
    assert text["faces"] == [] and "notes.txt" in text["error"]
    assert "2 of 4 input(s) could not be read" in captured.err
    assert sorted(p.name for p in annotated.iterdir()) == ["astro_naut_annotated.png", "coffee_annotated.png"]
    assert [p.name for p in saliency.iterdir()] == ["astro_naut_face0_gradcam.png"]
    assert Image.open(annotated / "astro_naut_annotated.png").size == (512, 512)


def test_exit_status_is_non_zero_only_when_nothing_was_readable(checkpoint, photos, capsys) -> None:
    assert main(["predict", str(photos["bad"]), str(photos["text"]), "--checkpoint", str(checkpoint)]) == 1
    out = capsys.readouterr().out
    assert "broken.jpg: error:" in out and "notes.txt: error:" in out
    empty = photos["folder"].parent / "empty"
    empty.mkdir()
    assert main(["predict", str(empty), "--checkpoint", str(checkpoint)]) == 2
    assert "no image files found" in capsys.readouterr().err


def test_text_output_and_missing_default_model(checkpoint, photos, monkeypatch, tmp_path, capsys) -> None:
    assert main(["predict", str(photos["folder"] / "astro naut.png"), "--checkpoint", str(checkpoint), "--tta"]) == 0
    assert "1 face(s):" in capsys.readouterr().out
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(tmp_path / "nowhere"))
    assert main(["predict", str(photos["folder"])]) == 2
    assert "default model is not installed" in capsys.readouterr().err


def test_export_onnx_writes_a_checked_graph(checkpoint, tmp_path, capsys) -> None:
    output = tmp_path / "out" / "fer.onnx"
    assert main(["export", "--format", "onnx", "--checkpoint", str(checkpoint), "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert output.is_file() and output.stat().st_size > 100_000
    difference = float(out.split("max |probability difference| = ")[1].split()[0])
    assert difference < 1e-4


def test_precision_and_detector_options_reach_the_predictor(checkpoint, photos, capsys) -> None:
    """--precision fp32 --detector blazeface_tiled give exactly what a Predictor built with them gives."""
    from fer_engine.predict.predictor import Predictor

    astronaut = photos["folder"] / "astro naut.png"
    results = {}
    for options in ([], ["--precision", "fp32", "--detector", "blazeface_tiled"]):
        assert main(["predict", str(astronaut), "--checkpoint", str(checkpoint), "--json", *options]) == 0
        results[len(options)] = json.loads(capsys.readouterr().out.splitlines()[0])["faces"]
    default, chosen = results[0], results[4]
    expected = Predictor.from_checkpoint(checkpoint, precision="fp32", detector="blazeface_tiled").predict_image(astronaut)
    assert len(chosen) == len(expected.faces) == 1
    assert chosen[0]["box"] == list(expected.faces[0].box)
    assert chosen[0]["probabilities"] == pytest.approx(expected.faces[0].probabilities, abs=1e-6)
    assert len(default) == 1  # the default detector finds the same face
    box_a, box_b = default[0]["box"], chosen[0]["box"]
    assert abs((box_a[0] + box_a[2] / 2) - (box_b[0] + box_b[2] / 2)) < 12
    with pytest.raises(SystemExit):
        main(["predict", str(astronaut), "--precision", "int8"])


def test_min_face_score_skips_boxes_below_it(checkpoint, tmp_path, capsys) -> None:
    """The default detector draws two boxes on skimage's motorcycle; the face check scores them near 0."""
    import skimage.data

    photo = tmp_path / "motorcycle.png"
    Image.fromarray(skimage.data.stereo_motorcycle()[0]).save(photo)
    assert main(["predict", str(photo), "--checkpoint", str(checkpoint), "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["faces"] == [] and default["skipped"] >= 1
    assert main(["predict", str(photo), "--checkpoint", str(checkpoint), "--json", "--min-face-score", "0"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert len(everything["faces"]) == default["skipped"] and everything["skipped"] == 0
    assert all(face["face_score"] < 0.5 for face in everything["faces"])
    assert main(["predict", str(photo), "--checkpoint", str(checkpoint)]) == 0
    assert f"no face found ({default['skipped']} box(es) below the face score threshold)" in capsys.readouterr().out
    assert main(["predict", str(photo), "--checkpoint", str(checkpoint), "--min-face-score", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_no_face_check_reports_the_detector_score_as_face_score(checkpoint, photos, capsys) -> None:
    astronaut = photos["folder"] / "astro naut.png"
    assert main(["predict", str(astronaut), "--checkpoint", str(checkpoint), "--json", "--no-face-check"]) == 0
    face = json.loads(capsys.readouterr().out)["faces"][0]
    assert face["face_score"] == face["detector_score"]
