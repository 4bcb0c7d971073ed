"""The whole experiment as one resumable call: load data -> train -> embed -> fit heads -> evaluate -> report.

`run_pipeline(spec)` is what `fer reproduce` and the job workers call. Each step is skipped when its outputs
already exist and are current (same checkpoint, same TTA, same heads), so a re-queued job resumes where it
stopped; `spec.rerun` forces steps again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_engine.classes import SPLIT_NAMES
from fer_engine.data.dataset import FerDataset
from fer_engine.errors import ConfigError, DataError, FerError, RunNotFoundError
from fer_engine.heads.registry import CLASS_WEIGHTS, HEAD_NAMES
from fer_engine.inference import check_tta_mode
from fer_engine.io_utils import atomic_write_json
from fer_engine.jobs.limits import check_job_size
from fer_engine.runs.layout import RunPaths
from fer_engine.runs.resolve import resolve_run  # the one resolver; `fer embed/heads/report/ship/project` use it
from fer_engine.runs.run_config import recorded_data_path, run_config_dict
from fer_engine.runs.store import DB_FILE, HEADLINE_SUMMARY_KEYS, RunStore

if TYPE_CHECKING:
    from fer_engine.training.config import TrainConfig

log = logging.getLogger(__name__)

PIPELINE_STEPS: tuple[str, ...] = ("train", "embed", "heads", "evaluate", "report")
EventCallback = Callable[[dict[str, Any]], None]


class PipelineStopped(FerError):
    """The pipeline was asked to stop (`should_stop()`); the run folder is resumable."""


@dataclass
class PipelineSpec:
    """What to run: data, training preset + overrides, which steps and heads, and where the run goes."""

    data_path: str = ""
    preset: str = "paper"
    overrides: dict[str, Any] = field(default_factory=dict)
    steps: list[str] = field(default_factory=lambda: list(PIPELINE_STEPS))
    heads: list[str] = field(default_factory=lambda: list(HEAD_NAMES))
    search: bool = False
    tta: str = "none"
    runs_root: str | None = None
    name: str = ""
    limit: int | None = None
    resume_run_id: str | None = None
    rerun: list[str] = field(default_factory=list)
    class_weight: str | None = None
    n_iter: int = 25
    cv: int = 3
    max_train: int | None = None
    head_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per head, overriding its defaults
    val_fraction: float = 0.1
    seed: int = 0
    skip_bad: bool = False  # skip unreadable images instead of failing (`fer train --skip-bad`)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (stored in the run's config.json under 'pipeline')."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineSpec:
        """Rebuild from `to_dict()`; an unknown key is a ConfigError (a typo must not pass silently)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown pipeline field(s) {', '.join(unknown)}; valid fields: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def validate(self, *, server_caps: bool = True) -> None:
        """ConfigError naming the first invalid field (steps, heads, preset, overrides, TTA, ...); with
        `server_caps`, also a size above this server's job caps (FER_JOB_MAX_*)."""
        _all_known("step", self.steps, PIPELINE_STEPS)
        _all_known("step", self.rerun, PIPELINE_STEPS)
        _all_known("head", self.heads, HEAD_NAMES)
        _all_known("head", list(self.head_params), HEAD_NAMES)
        if not self.steps:
            raise ConfigError(f"no pipeline steps chosen; choose from {', '.join(PIPELINE_STEPS)}")
        check_tta_mode(self.tta)
        if self.class_weight not in CLASS_WEIGHTS:
            raise ConfigError(f"class_weight must be none or 'balanced', not {self.class_weight!r}")
        if self.n_iter < 1 or self.cv < 2:
            raise ConfigError(f"random search needs n_iter >= 1 and cv >= 2 (got {self.n_iter}, {self.cv})")
        if self.max_train is not None and self.max_train < 1:
            raise ConfigError(f"max_train must be positive, not {self.max_train}")
        if "train" in self.steps and not self.resume_run_id and not self.data_path:
            raise ConfigError("the train step needs data_path (a FER2013 csv, zip or image folder)")
        if self.resume_run_id:  # the overrides apply to the run's own config, checked when it is opened
            epochs, limit = self.overrides.get("epochs"), self.limit
        else:
            config = self.train_config()  # unknown preset / override -> ConfigError
            epochs, limit = config.epochs, config.limit
        if server_caps:  # the server's caps (FER_JOB_MAX_*): one job must not hold a machine for ever
            check_job_size(epochs=epochs, n_iter=self.n_iter, cv=self.cv, limit=limit, max_train=self.max_train)

    def train_config(self) -> TrainConfig:
        """The resolved TrainConfig of a new run: the preset, the overrides, then data_path and limit."""
        from fer_engine.training import get_preset

        overrides = self.recipe_overrides()
        if self.data_path:
            overrides["data_path"] = str(self.data_path)
        return get_preset(self.preset).with_overrides(**overrides)

    def recipe_overrides(self) -> dict[str, Any]:
        """The training fields this spec sets explicitly (its overrides and limit; not the data path)."""
        overrides = dict(self.overrides)
        if self.limit is not None:
            overrides["limit"] = self.limit
        return overrides


def _all_known(kind: str, names: list[str], known: tuple[str, ...]) -> None:
    for name in names:
        if name not in known:
            raise ConfigError(f"unknown {kind} '{name}'; choose from {', '.join(known)}")


# ---- runs and their data ------------------------------------------------------------------------------


def limited_dataset(dataset: FerDataset, limit: int | None, seed: int) -> FerDataset:
    """At most `limit` images per split: the same subsets the trainer draws (train: seed, val: seed + 1)."""
    if limit is None:
        return dataset
    from fer_engine.training.batches import stratified_subset

    splits = {
        name: stratified_subset(split, limit, seed + SPLIT_NAMES.index(name)) for name, split in dataset.splits.items()
    }
    return dataclasses.replace(dataset, splits=splits)


def dataset_for_run(run: RunPaths, data_path: str | Path | None = None) -> FerDataset:
    """Load the data a run was trained on (its recorded path unless `data_path`), with the run's limit applied."""
    from fer_engine.data import load_dataset

    config = run.read_config()
    pipeline = config.get("pipeline") or {}
    path = data_path or recorded_data_path(config)
    if not path:
        raise ConfigError(f"run '{run.run_id}' records no data path: pass --data PATH")
    dataset = load_dataset(
        path, val_fraction=float(pipeline.get("val_fraction", 0.1)), seed=int(pipeline.get("seed", 0))
    )
    return limited_dataset(dataset, config.get("limit"), int(config.get("seed", 0)))


# ---- the pipeline --------------------------------------------------------------------------------------


class _Pipeline:
    """One `run_pipeline` call: the spec, the run, the lazily loaded dataset, and event reporting."""

    def __init__(
        self,
        spec: PipelineSpec,
        run: RunPaths | None,
        on_event: EventCallback | None,
        should_stop: Callable[[], bool] | None,
        *,
        command: str | None = None,
        progress_bar: bool | None = None,
    ):
        self.spec = spec
        self.config: TrainConfig  # set below: the spec's (a new run) or the run's own (`_training_config`)
        self.on_event = on_event
        self.should_stop = should_stop
        self.command = command
        self.progress_bar = progress_bar
        self._dataset: FerDataset | None = None
        self._context: Any = None  # the torchrun process group joined to create the run (closed by `close`)
        self._device: Any = None  # the training device, resolved once (`training_device`)
        self.stage: str | None = None  # the step running now, sent with every event
        self.run = run or self._open_run()
        self.config = self._training_config()

    def emit(self, event: str, **fields: Any) -> None:
        record = {
            "event": event,
            "stage": self.stage,
            "run_id": self.run.run_id if hasattr(self, "run") else None,
            **fields,
        }
        log.info("pipeline %s", record)
        if self.on_event:
            self.on_event(record)

    def check_stop(self, where: str) -> None:
        if self.should_stop is not None and self.should_stop():
            self.emit("stopped", where=where)
            raise PipelineStopped(f"pipeline stopped before {where}; resume it with the same run")

    @property
    def training_device(self) -> Any:
        """`config.device` resolved (once): a CUDA request on a machine without one fails here."""
        if self._device is None:
            from fer_engine.device import resolve_device

            self._device = resolve_device(self.config.device)
        return self._device

    def close(self) -> None:
        if self._context is not None:
            self._context.close()

    @property
    def dataset(self) -> FerDataset:
        """The full dataset (loaded once, on first use: steps after train may not need it); it must be the data
        the run recorded, if it recorded any."""
        if self._dataset is None:
            from fer_engine.data import load_dataset

            data_path = self.spec.data_path or (self.config.data_path if hasattr(self, "config") else "")
            if not data_path:
                raise ConfigError(f"no data path for run '{self.run.run_id}': give the pipeline a data_path")
            self.emit("loading_data", data_path=data_path)
            dataset = load_dataset(
                data_path, skip_bad=self.spec.skip_bad, val_fraction=self.spec.val_fraction, seed=self.spec.seed
            )
            recorded = self.run.read_config().get("data_fingerprint") if hasattr(self, "run") else None
            if recorded and dataset.fingerprint != recorded:
                raise DataError(
                    f"the data at {data_path} is not the data run {self.run.run_id} was trained on "
                    f"(fingerprint {dataset.fingerprint} != {recorded})"
                )
            self._dataset = dataset
        return self._dataset

    def _open_run(self) -> RunPaths:
        """The run to resume (`spec.resume_run_id`), or a new run: the one place a training run is created.

        A new run exists only once its data is read and every training input checked (a user error leaves no
        run behind); under torchrun rank 0 creates it and the other ranks receive its id."""
        from fer_engine.training.distributed import DistributedContext
        from fer_engine.training.trainer import check_training_inputs

        store = RunStore(self.spec.runs_root)
        if self.spec.resume_run_id:
            return resolve_run(self.spec.resume_run_id, store.root)
        self.config = self.spec.train_config()
        device = self.training_device  # before the data is read
        if "train" in self.spec.steps:
            check_training_inputs(self.config, self.dataset, device)
        self._context = DistributedContext.from_environment(device.type)
        run_id = None
        if self._context.is_main:
            run_id = store.create_run(
                name=self.spec.name or self.spec.preset, kind="train", config=self._config_dict()
            ).run_id
        return RunPaths(store.root / self._context.broadcast(run_id))

    def _training_config(self) -> TrainConfig:
        """The config the run trains (or was trained) with.

        A run that has trained (resume state or summary), or is resumed with no data path in the spec, keeps the
        config it recorded: the spec may change only the resumable fields (`check_resumable`, the one resume
        check). Otherwise (a new run, a job's run before its first epoch) the spec's config."""
        from fer_engine.training import TrainConfig
        from fer_engine.training.trainer import check_resumable

        saved = self.run.read_config()
        has_trained = self.run.resume_state.exists() or self.run.summary.exists()
        if not (saved.get("arch") and recorded_data_path(saved) and (has_trained or not self.spec.data_path)):
            return self.spec.train_config()
        trained = TrainConfig.from_run_config(saved)
        config = trained.with_overrides(**self.spec.recipe_overrides())
        check_resumable(trained, config, self.run)
        return config

    def _config_dict(self) -> dict[str, Any]:
        return run_config_dict(self.config, self.dataset, pipeline=self.spec.to_dict(), command=self.command)

    def record_spec(self) -> None:
        """Make sure config.json holds this pipeline spec and the data splits (e.g. for a run a job created).

        While training is still to come, the resolved training config overwrites a partial one; once the
        run is trained, its own config stays and only missing keys are added.
        """
        config = self.run.read_config()
        if config.get("pipeline") == self.spec.to_dict() and "data_splits" in config:
            return
        ours = self._config_dict() if self.spec.data_path else {}
        training_pending = "train" in self.spec.steps and not self.is_done("train")
        merged = {**config, **ours} if training_pending else {**ours, **config}
        merged["pipeline"] = self.spec.to_dict()
        atomic_write_json(self.run.config, merged)

    # ---- steps ---------------------------------------------------------------------------------------

    def run_steps(self) -> None:
        for step in PIPELINE_STEPS:
            if step not in self.spec.steps:
                continue
            self.check_stop(step)
            forced = step in self.spec.rerun
            if not forced and self.is_done(step):
                self.emit("step_skipped", step=step, reason="outputs exist and are current")
                continue
            self.stage = step
            self.emit("step_started", step=step)
            getattr(self, f"step_{step}")(forced)
            self.emit("step_done", step=step)
        self.stage = None

    def is_done(self, step: str) -> bool:
        if step == "train":  # trained to the planned epochs (a resume may plan more) or stopped early
            summary = self.run.read_summary()
            planned_reached = summary.get("epochs_completed", self.config.epochs) >= self.config.epochs
            return (
                summary.get("status") == "succeeded"
                and self._has_checkpoint()
                and (planned_reached or bool(summary.get("stopped_early")))
            )
        if step == "embed":
            return self._embeddings_current()
        if step == "heads":
            return not self._heads_to_fit()
        return False  # evaluate only redoes outdated pairs; the report is cheap

    def _has_checkpoint(self) -> bool:
        return self.run.has_checkpoint()

    def _require_checkpoint(self) -> None:
        if not self._has_checkpoint():
            raise ConfigError(f"run '{self.run.run_id}' has no checkpoint yet: include the 'train' step")

    def step_train(self, forced: bool) -> None:
        from fer_engine.training import train

        if forced and self.run.read_summary().get("status") == "succeeded":
            raise ConfigError(f"run '{self.run.run_id}' finished training; start a new run to train again")
        resume = self.run.resume_state.exists()
        config = self.config
        self.emit("training_started", resumed=resume, config=config.to_dict(), run_root=str(self.run.root))
        logging.getLogger("fer_engine.training").info(
            "%s: preset %s, %d epochs, %s schedule with %g warm-up epochs",
            "resumed" if resume else "started",
            config.preset or "-",
            config.epochs,
            config.scheduler,
            config.warmup_epochs,
        )
        result = train(
            self.config,
            self.dataset,
            self.run,
            resume=resume,
            on_epoch=lambda record: self.emit("epoch", total_epochs=self.config.epochs, **record),
            on_step=lambda epoch, batch, steps, loss: self.emit(
                "train_batch",
                epoch=epoch,
                batch=batch,
                steps_per_epoch=steps,
                total_epochs=self.config.epochs,
                loss=loss,
            ),
            should_stop=self.should_stop,
            progress_bar=self.progress_bar,
            device=self.training_device,
        )
        if result.status != "succeeded":
            self.emit("stopped", where="train", epochs_completed=result.epochs_completed)
            raise PipelineStopped(
                f"training of run '{self.run.run_id}' was interrupted after epoch "
                f"{result.epochs_completed}; resume it with the same run"
            )

    def _embedding_splits(self) -> list[str]:
        present = (self.run.read_config().get("data_splits") or {}).get("present")
        return [name for name in SPLIT_NAMES if name in (present or self.dataset.splits)]

    def _embeddings_current(self) -> bool:
        from fer_engine.embeddings import checkpoint_sha256, read_embeddings

        if not self._has_checkpoint():
            return False
        current = checkpoint_sha256(self.run.checkpoint_dir)
        for split in self._embedding_splits():
            path = self.run.embeddings_file(split)
            if not path.exists():
                return False
            stored = read_embeddings(path, split)
            if stored.checkpoint_sha256 != current or stored.tta != self.spec.tta:
                return False
        return True

    def step_embed(self, forced: bool) -> None:
        from fer_engine.embeddings import embed_run

        self._require_checkpoint()
        dataset = limited_dataset(self.dataset, self.config.limit, self.config.seed)
        embed_run(
            self.run,
            dataset,
            self._embedding_splits(),
            device=self.config.device,
            tta=self.spec.tta,
            batch_size=self.config.eval_batch_size,
        )

    def _heads_to_fit(self) -> list[str]:
        import json

        from fer_engine.embeddings import read_embeddings
        from fer_engine.heads.fitting import head_record_file

        train_file = self.run.embeddings_file("train")
        if not train_file.exists():
            return list(self.spec.heads)
        current = read_embeddings(train_file, "train").checkpoint_sha256
        todo = []
        for name in self.spec.heads:
            path = head_record_file(self.run, name)
            record = json.loads(path.read_text()) if path.exists() else {}
            if (
                record.get("embeddings_checkpoint_sha256") != current
                or bool(record.get("search")) != self.spec.search
                or record.get("class_weight") != self.spec.class_weight
            ):
                todo.append(name)
        return todo

    def step_heads(self, forced: bool) -> None:
        from fer_engine.heads import fit_heads

        heads = list(self.spec.heads) if forced else self._heads_to_fit()
        fit_heads(
            self.run,
            heads,
            search=self.spec.search,
            class_weight=self.spec.class_weight,
            n_iter=self.spec.n_iter,
            cv=self.spec.cv,
            max_train=self.spec.max_train,
            random_state=self.spec.seed,
            params=self.spec.head_params,
            on_event=lambda record: self._head_event(record, heads),
        )

    def _head_event(self, record: dict[str, Any], heads: list[str]) -> None:
        """Report which head is being fitted (fraction of the step done) and stop between heads when asked."""
        name = record.get("head")
        index = heads.index(name) if name in heads else 0
        done = index + 1 if record.get("event") == "head_fitted" else index
        verb = "fitted" if record.get("event") == "head_fitted" else "fitting"
        self.emit(**record, fraction=done / max(len(heads), 1), message=f"{verb} {name} ({index + 1} of {len(heads)})")
        self.check_stop(f"the head after {name}" if verb == "fitted" else f"fitting {name}")

    def step_evaluate(self, forced: bool) -> None:
        from fer_engine.evaluation.evaluate import evaluate_run

        evaluate_run(self.run, only_outdated=not forced, on_event=lambda record: self.emit(**record))

    def step_report(self, forced: bool) -> None:
        from fer_engine.evaluation.report import write_report

        path = write_report(self.run)
        self.emit("report_written", path=str(path))

    def headline_metrics(self) -> dict[str, Any]:
        """Numbers for the run index: training's headline (best epoch and its val metrics, epochs, time) and each
        head's val/test accuracy and macro F1."""
        from fer_engine.evaluation.evaluate import stored_evaluations

        summary = self.run.read_summary()
        metrics: dict[str, Any] = {key: summary[key] for key in HEADLINE_SUMMARY_KEYS if summary.get(key) is not None}
        if summary.get("total_seconds") is not None:
            metrics["train_seconds"] = summary["total_seconds"]
        evaluation: dict[str, dict[str, Any]] = {}
        for (split, head), result in stored_evaluations(self.run).items():
            if split != "train":
                evaluation.setdefault(split, {})[head] = {"accuracy": result.accuracy, "macro_f1": result.macro_f1}
        if evaluation:
            metrics["evaluation"] = evaluation
        return metrics


def _is_rank_zero() -> bool:
    """True outside torchrun and on its rank 0: the one process that updates the run index."""
    return int(os.environ.get("RANK", "0")) == 0


def _update_index(run: RunPaths, **fields: Any) -> None:
    """Update the run's row in its runs root index, when the run is indexed there (never creates an index)."""
    if not _is_rank_zero() or not (run.root.parent / DB_FILE).exists():
        return
    try:
        RunStore(run.root.parent).update(run.run_id, **fields)
    except RunNotFoundError:
        pass


def run_pipeline(
    spec: PipelineSpec,
    *,
    run: RunPaths | None = None,
    on_event: EventCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str | None = None,
    progress_bar: bool | None = None,
    server_caps: bool = True,
) -> RunPaths:
    """Run the spec's steps into `run` (or a new run / `spec.resume_run_id`), skipping steps already done.

    `on_event(dict)` receives progress events ('step_started', 'training_started', 'epoch', 'head_fitted', ...);
    `should_stop()` is polled between steps and during training and raises PipelineStopped, leaving the run
    resumable. `command` is recorded in a new run's config.json; `progress_bar` None shows the training bar only
    on a terminal; `server_caps` False skips the job size caps (a command a user runs on their own machine).
    """
    spec.validate(server_caps=server_caps)
    pipeline = _Pipeline(spec, run, on_event, should_stop, command=command, progress_bar=progress_bar)
    try:
        pipeline.record_spec()
        _update_index(pipeline.run, status="running")
        try:
            pipeline.run_steps()
        except (PipelineStopped, KeyboardInterrupt):
            _update_index(pipeline.run, status="cancelled", metrics=pipeline.headline_metrics())
            raise
        except BaseException:
            _update_index(pipeline.run, status="failed")
            raise
        _update_index(pipeline.run, status="succeeded", metrics=pipeline.headline_metrics())
        pipeline.emit("pipeline_done", run_root=str(pipeline.run.root))
        return pipeline.run
    finally:
        pipeline.close()
