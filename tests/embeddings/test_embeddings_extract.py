"""Embeddings: the hook embedding is forward_features, the npz round trip is exact and pickle-free."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer_engine.embeddings import (
    EmbeddingSet,
    available_embedding_splits,
    checkpoint_sha256,
    embed_run,
    embed_splits,
    load_embeddings,
    read_embeddings,
    save_embeddings,
)
from fer_engine.errors import DataError
from fer_engine.inference import to_model_tensor
from fer_engine.models import create_model
from support.builders import TINY_ARCH, run_with_checkpoint, tiny_dataset


def test_hook_embedding_equals_forward_features_and_logits_equal_forward():
    torch.manual_seed(0)
    model = create_model(TINY_ARCH).eval()
    dataset = tiny_dataset({"train": 2, "val": 1})
    sets = embed_splits(model, dataset, ["val"], device="cpu", precision="fp32", batch_size=4)
    images = dataset.split("val").images
    with torch.no_grad():
        expected_embeddings = model.forward_features(to_model_tensor(images)).numpy()
        expected_logits = model(to_model_tensor(images)).numpy()
    assert list(sets) == ["val"]
    assert sets["val"].embeddings.shape == (7, model.embedding_dim)
    np.testing.assert_allclose(sets["val"].embeddings, expected_embeddings, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sets["val"].logits, expected_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(sets["val"].labels, dataset.split("val").labels)


def test_embed_splits_defaults_to_every_split_and_names_an_absent_one():
    model = create_model(TINY_ARCH)
    dataset = tiny_dataset({"train": 1, "val": 1})
    assert list(embed_splits(model, dataset, device="cpu", precision="fp32")) == ["train", "val"]
    with pytest.raises(DataError, match="split 'test' is absent"):
        embed_splits(model, dataset, ["test"], device="cpu", precision="fp32")


def test_npz_round_trip_is_exact_and_loads_without_pickle(tmp_path):
    rng = np.random.default_rng(0)
    original = EmbeddingSet(
        split="val",
        embeddings=rng.normal(size=(5, 8)),
        logits=rng.normal(size=(5, 7)),
        labels=np.array([0, 1, 2, 3, 6]),
        keys=np.array(["a/1.jpg", "b/ü.jpg", "c", "d", "e"]),
        tta="flip",
        checkpoint_sha256="abc",
    )
    path = save_embeddings(original, tmp_path / "val.npz")
    assert path == tmp_path / "val.npz" and not list(tmp_path.glob("*.tmp*"))
    with np.load(path, allow_pickle=False) as data:  # would raise for object arrays
        assert {"embeddings", "logits", "labels", "keys"} <= set(data.files)
        assert data["keys"].dtype.kind == "U"
    loaded = read_embeddings(path)
    assert loaded.split == "val" and loaded.tta == "flip" and loaded.checkpoint_sha256 == "abc"
    assert loaded.embeddings.dtype == np.float32
    np.testing.assert_array_equal(loaded.embeddings, original.embeddings)
    np.testing.assert_array_equal(loaded.logits, original.logits)
    np.testing.assert_array_equal(loaded.labels, original.labels)
    assert loaded.keys.tolist() == original.keys.tolist()


def test_float16_files_come_back_as_float32(tmp_path):
    path = tmp_path / "val.npz"
    np.savez(
        path,
        embeddings=np.ones((2, 3), np.float16),
        logits=np.zeros((2, 7), np.float16),
        labels=np.array([1, 2]),
        keys=np.array(["x", "y"]),
    )
    loaded = read_embeddings(path)
    assert loaded.embeddings.dtype == np.float32 and loaded.split == "val" and loaded.tta == "none"


def test_embed_run_writes_every_split_with_the_checkpoint_fingerprint(tmp_path):
    run = run_with_checkpoint(tmp_path / "run")
    dataset = tiny_dataset({"train": 2, "val": 1, "test": 1})
    written = embed_run(run, dataset, device="cpu", precision="fp32")
    assert set(written) == {"train", "val", "test"}
    assert available_embedding_splits(run) == ["train", "val", "test"]
    train = load_embeddings(run, "train")
    assert len(train) == 14 and train.checkpoint_sha256 == checkpoint_sha256(run.checkpoint_dir)
    assert train.keys.tolist() == dataset.split("train").keys.tolist()


def test_missing_or_foreign_embeddings_are_clear_errors(tmp_path):
    run = run_with_checkpoint(tmp_path / "run")
    with pytest.raises(DataError, match="no embeddings for split 'val'.*fer embed"):
        load_embeddings(run, "val")
    bad = tmp_path / "bad.npz"
    np.savez(bad, something=np.zeros(3))
    with pytest.raises(DataError, match="lacks embeddings"):
        read_embeddings(bad)
    pickled = tmp_path / "pickled.npz"
    np.savez(
        pickled,
        embeddings=np.zeros((1, 2)),
        logits=np.zeros((1, 7)),
        labels=np.zeros(1),
        keys=np.array([{"a": 1}], dtype=object),
    )
    with pytest.raises(DataError, match="not a readable embeddings"):
        read_embeddings(pickled)
