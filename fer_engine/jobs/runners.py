"""What a job process calls to do the work: the pipeline by default, or any `module:function` (tests, tools).

A job runner is `runner(spec: dict, *, run: RunPaths, on_event, should_stop) -> Any`: it runs `spec` into the run
folder `run`, reports progress through `on_event(dict)`, polls `should_stop()` and returns early (after saving
resume state) when it says True; re-running it on the same run resumes.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from fer_engine.errors import ConfigError
from fer_engine.runs.layout import RunPaths

JobRunner = Callable[..., Any]
DEFAULT_RUNNER = "fer_engine.jobs.runners:run_pipeline_job"


def run_pipeline_job(
    spec: dict[str, Any], *, run: RunPaths, on_event: Callable[[Any], None], should_stop: Callable[[], bool]
) -> Any:
    """Run a `PipelineSpec` (as its JSON dict) into `run` with `fer_engine.pipeline.run_pipeline`."""
    from fer_engine.jobs.spec import load_pipeline_spec
    from fer_engine.pipeline import PipelineSpec, run_pipeline

    pipeline_spec = load_pipeline_spec(spec)
    if not isinstance(pipeline_spec, PipelineSpec):  # narrows the JobSpec protocol load_pipeline_spec returns
        raise ConfigError(f"the pipeline runner needs a PipelineSpec, not a {type(pipeline_spec).__name__}")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0:
        # Under torchrun only training is data-parallel; rank 0 alone embeds, fits heads and evaluates.
        pipeline_spec.steps = [step for step in pipeline_spec.steps if step == "train"]
        if not pipeline_spec.steps:
            return run
    return run_pipeline(pipeline_spec, run=run, on_event=on_event, should_stop=should_stop)


def runner_reference(runner: JobRunner | str) -> str:
    """'module:function' naming `runner`, so a separate job process can import it."""
    if isinstance(runner, str):
        resolve_runner(runner)
        return runner
    module, qualname = getattr(runner, "__module__", None), getattr(runner, "__qualname__", "")
    if not module or "<" in qualname or module == "__main__":
        raise ConfigError(f"job runner {runner!r} must be a module-level function importable by a job process")
    return f"{module}:{qualname}"


def resolve_runner(reference: str) -> JobRunner:
    """Import the callable named 'module:function' (or 'module:Class.method')."""
    module_name, _, qualname = reference.partition(":")
    if not module_name or not qualname:
        raise ConfigError(f"job runner '{reference}' must look like 'package.module:function'")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"cannot import job runner '{reference}': {error}") from error
    if not callable(target):
        raise ConfigError(f"job runner '{reference}' is not callable")
    return target
