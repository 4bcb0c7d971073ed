"""A sweep's Optuna side: create/load its study with the sampler and pruner its settings name, and turn a trial's
parameter values into the pipeline job that runs it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fer_engine.errors import ConfigError
from fer_engine.pipeline import PIPELINE_STEPS, PipelineSpec
from fer_engine.sweeps.space import SearchSpace, parse_space, split_params
from fer_engine.sweeps.storage import SweepConfig, SweepStore, open_store, validate_sweep_name

log = logging.getLogger(__name__)

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
DIRECTIONS = ("maximize", "minimize")
# Per-epoch validation metrics of the trainer (metrics.jsonl): what a trial reports and is judged on.
METRICS = {
    "val_accuracy": "maximize",
    "val_macro_f1": "maximize",
    "val_knn_accuracy": "maximize",
    "val_loss": "minimize",
}
MAX_TRIALS = 1000
MAX_PARALLEL = 64
DEFAULT_BASE_STEPS = ["train"]
HEAD_STEPS = ["train", "embed", "heads", "evaluate"]


def space_of(config: SweepConfig) -> SearchSpace:
    return parse_space(config.space, preset=config.base_spec.get("preset"))


def validate_config(config: SweepConfig) -> SweepConfig:
    """ConfigError naming the first bad setting; returns the config with the grid's trial count applied."""
    validate_sweep_name(config.name)
    if not isinstance(config.trials, int) or not 1 <= config.trials <= MAX_TRIALS:
        raise ConfigError(f"--trials must be between 1 and {MAX_TRIALS}, not {config.trials!r}")
    if not isinstance(config.parallel, int) or not 1 <= config.parallel <= MAX_PARALLEL:
        raise ConfigError(f"--parallel must be between 1 and {MAX_PARALLEL}, not {config.parallel!r}")
    if config.metric not in METRICS:
        raise ConfigError(f"metric '{config.metric}' is not one of: {', '.join(METRICS)}")
    if config.direction not in DIRECTIONS:
        raise ConfigError(f"direction '{config.direction}' is not one of: {', '.join(DIRECTIONS)}")
    if config.sampler not in SAMPLERS:
        raise ConfigError(f"sampler '{config.sampler}' is not one of: {', '.join(SAMPLERS)}")
    if config.pruner not in PRUNERS:
        raise ConfigError(f"pruner '{config.pruner}' is not one of: {', '.join(PRUNERS)}")
    if config.pruner_startup_trials < 0 or config.pruner_warmup_epochs < 0:
        raise ConfigError("pruner startup trials and warm-up epochs must be >= 0")
    space = space_of(config)
    if config.sampler == "grid":
        size = space.grid_size()
        if config.trials > size:
            log.warning("the grid has %d points: the sweep runs %d trials, not %d", size, size, config.trials)
            config.trials = size
    # The base job with each parameter at its first choice / lower bound must be a valid job (data, preset, ...).
    sample = {p.name: (p.choices[0] if p.kind == "choice" else p.low) for p in space.params}
    PipelineSpec.from_dict(trial_spec(config, sample, 0)).validate()
    return config


def trial_spec(config: SweepConfig, values: dict[str, Any], number: int) -> dict[str, Any]:
    """The PipelineSpec dict of trial `number`: the base spec with the trial's overrides and head parameters."""
    overrides, head_params = split_params(values)
    base = dict(config.base_spec)
    spec: dict[str, Any] = {
        **base,
        "name": f"sweep-{config.name}-t{number}",
        "overrides": {**(base.get("overrides") or {}), **overrides},
    }
    if head_params:
        merged = {head: dict(params) for head, params in (base.get("head_params") or {}).items()}
        for head, params in head_params.items():
            merged.setdefault(head, {}).update(params)
        spec["head_params"] = merged
        spec["heads"] = sorted(set(base.get("heads") or []) | set(head_params))
        spec["steps"] = [s for s in PIPELINE_STEPS if s in set(base.get("steps") or HEAD_STEPS) | set(HEAD_STEPS)]
    else:
        spec.setdefault("steps", list(DEFAULT_BASE_STEPS))
        spec.setdefault("heads", [])
    return spec


def make_sampler(config: SweepConfig, n_existing: int) -> Any:
    """The sampler, seeded with the sweep's seed plus the trials so far (a fresh object per scheduling round must
    not draw the same first point again)."""
    import optuna

    seed = config.seed + n_existing
    if config.sampler == "grid":  # its order is a shuffle by the seed, and its progress is in the storage
        return optuna.samplers.GridSampler(space_of(config).grid(), seed=config.seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(1, config.trials // 3)))


def make_pruner(config: SweepConfig) -> Any:
    import optuna

    if config.pruner == "median":
        # Trials report epochs as steps 1, 2, ...; Optuna prunes any step >= n_warmup_steps, so W epochs that are
        # never pruned means n_warmup_steps = W + 1 (W = 0: every epoch may be pruned).
        return optuna.pruners.MedianPruner(
            n_startup_trials=config.pruner_startup_trials, n_warmup_steps=config.pruner_warmup_epochs + 1
        )
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs(config), reduction_factor=3)
    return optuna.pruners.NopPruner()


def max_epochs(config: SweepConfig) -> int:
    """The most epochs a trial trains (the space's upper bound when epochs is searched)."""
    from fer_engine.sweeps.space import Param

    space = space_of(config)
    searched: list[Param] = [p for p in space.params if p.name == "epochs"]
    if searched:
        param = searched[0]
        return int(max(param.choices) if param.kind == "choice" else param.bounds()[1])
    return int(PipelineSpec.from_dict(trial_spec(config, {}, 0)).train_config().epochs)


def load_study(store: SweepStore, config: SweepConfig, *, n_existing: int = 0, for_recording: bool = False) -> Any:
    """The sweep's study with its sampler and pruner. `for_recording`: a plain sampler, because telling outcomes
    needs none, and the grid sampler's end-of-grid `study.stop()` only works inside `study.optimize`."""
    import optuna

    sampler = optuna.samplers.RandomSampler() if for_recording else make_sampler(config, n_existing)
    return optuna.load_study(
        study_name=config.name, storage=store.optuna_storage, sampler=sampler, pruner=make_pruner(config)
    )


def create_sweep(config: SweepConfig, root: str | Path | None = None, *, url: str | None = None) -> SweepConfig:
    """Validate and store a new sweep and its Optuna study (no trial is started: `top_up` does that)."""
    import optuna

    config = validate_config(config)
    store = open_store(root, url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not "A new study created" on every CLI call
    try:  # first: Optuna's unique study name makes two concurrent creations of one name fail cleanly
        direction = optuna.study.StudyDirection[config.direction.upper()]  # 'maximize' -> MAXIMIZE (validated)
        optuna.create_study(study_name=config.name, storage=store.optuna_storage, direction=direction)
    except optuna.exceptions.DuplicatedStudyError as error:
        raise ConfigError(f"a sweep named '{config.name}' exists already (see `fer sweep list`)") from error
    store.add_sweep(config)
    return config
