"""The one resolver: a run id, a run folder, a checkpoint folder or its weights file name the same run everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fer_engine import pipeline
from fer_engine.errors import ModelError, RunNotFoundError
from fer_engine.io_utils import atomic_write_json
from fer_engine.models import checkpoint
from fer_engine.runs.layout import WEIGHTS_FILE, RunPaths
from fer_engine.runs.resolve import resolve_checkpoint_dir, resolve_run, run_of_checkpoint
from fer_engine.runs.store import RunStore
from support.paths import REPO_ROOT

SHIPPED = REPO_ROOT / "checkpoints" / "default"


def _run_with_weights(store: RunStore) -> RunPaths:
    run = store.create_run(name="demo", config={"arch": "vgg19_bn_quarter"})
    run.checkpoint_dir.mkdir()
    run.weights_file.write_bytes(b"weights")
    atomic_write_json(run.checkpoint_dir / "model.json", {"arch": "vgg19_bn_quarter"})
    return run


def test_every_way_of_naming_a_run_gives_the_same_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run = _run_with_weights(store)
    for ref in (run, run.run_id, str(run.root), run.root, run.checkpoint_dir, run.weights_file):
        assert resolve_run(ref, store.root) == run, ref
        assert resolve_checkpoint_dir(ref, store.root) == run.checkpoint_dir, ref
    assert store.find(run.run_id) == run and run_of_checkpoint(run.checkpoint_dir) == run


def test_the_old_resolvers_are_this_one() -> None:
    assert pipeline.resolve_run is resolve_run
    assert checkpoint.resolve_checkpoint_dir is resolve_checkpoint_dir


def test_a_run_folder_outside_the_runs_root_is_a_run(tmp_path: Path) -> None:
    """The shipped model and the examples live outside any runs root."""
    shipped = resolve_run(SHIPPED, tmp_path / "runs")
    assert shipped.root == SHIPPED and resolve_checkpoint_dir(SHIPPED) == SHIPPED / "checkpoint"
    assert (resolve_checkpoint_dir(SHIPPED) / WEIGHTS_FILE).is_file()


def test_a_bare_checkpoint_folder_is_a_checkpoint_but_not_a_run(tmp_path: Path) -> None:
    bare = tmp_path / "checkpoint"  # named like a run's, but nothing of a run beside it
    bare.mkdir()
    (bare / WEIGHTS_FILE).write_bytes(b"weights")
    assert resolve_checkpoint_dir(bare) == bare and run_of_checkpoint(bare) is None
    with pytest.raises(RunNotFoundError, match="no run"):
        resolve_run(bare, tmp_path / "runs")


@pytest.mark.parametrize("ref", ["missing-run", "../etc", "a/../../b", "/no/such/folder"])
def test_unknown_or_escaping_names_are_clear_errors(tmp_path: Path, ref: str) -> None:
    with pytest.raises(RunNotFoundError, match=f"no run '{ref}'"):
        resolve_run(ref, tmp_path / "runs")
    with pytest.raises(ModelError, match="no checkpoint"):
        resolve_checkpoint_dir(ref, tmp_path / "runs")


def test_a_run_without_weights_has_no_checkpoint(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run = store.create_run(name="untrained", config={"arch": "vgg19"})
    assert resolve_run(run.run_id, store.root) == run and not run.has_checkpoint()
    with pytest.raises(ModelError, match=f"no checkpoint at '{run.run_id}'"):
        resolve_checkpoint_dir(run.run_id, store.root)


def test_the_store_no_longer_imports_the_comparison() -> None:
    """runs/store.py <-> runs/compare.py was an import cycle: compare uses the store, never the reverse."""
    code = "import sys, fer_engine.runs.store; print('fer_engine.runs.compare' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert result.stdout.strip() == "False"
