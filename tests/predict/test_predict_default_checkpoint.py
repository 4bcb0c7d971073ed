"""The default model location honours FER_DEFAULT_CHECKPOINT."""

from fer_engine.paths import DEFAULT_CHECKPOINT_DIR, default_checkpoint_dir


def test_default_checkpoint_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("FER_DEFAULT_CHECKPOINT", raising=False)
    assert default_checkpoint_dir() == DEFAULT_CHECKPOINT_DIR
    monkeypatch.setenv("FER_DEFAULT_CHECKPOINT", str(tmp_path / "elsewhere"))
    assert default_checkpoint_dir() == tmp_path / "elsewhere"

