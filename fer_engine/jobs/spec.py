"""What a job runs: a pipeline spec, validated before it is queued and stored as JSON."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from fer_engine.errors import ConfigError


@runtime_checkable
class JobSpec(Protocol):
    """Anything a job can carry: `fer_engine.pipeline.PipelineSpec`, or a test's own spec class."""

    def to_dict(self) -> dict[str, Any]: ...

    def validate(self) -> Any: ...


def load_pipeline_spec(data: dict[str, Any]) -> JobSpec:
    """A `PipelineSpec` from its JSON dict; malformed specs raise ConfigError."""
    from fer_engine.pipeline import PipelineSpec  # imported here: pipeline imports the jobs layer's callers

    if not isinstance(data, dict):
        raise ConfigError(f"a job spec must be a JSON object, not {type(data).__name__}")
    try:
        return PipelineSpec.from_dict(data)
    except ConfigError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise ConfigError(f"invalid pipeline spec: {error}") from error


def spec_payload(spec: JobSpec | dict[str, Any]) -> dict[str, Any]:
    """Validate `spec` (a dict is read as a PipelineSpec) and return the JSON dict a job stores."""
    if isinstance(spec, dict):
        spec = load_pipeline_spec(spec)
    if not isinstance(spec, JobSpec):
        raise ConfigError(f"cannot queue a {type(spec).__name__}: a job needs a PipelineSpec or its JSON dict")
    spec.validate()
    return spec.to_dict()
