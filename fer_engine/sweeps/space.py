"""A sweep's search space: TrainConfig fields and head parameters, each a float/int range or a list of choices.

Written as YAML or JSON (`fer sweep create --space space.yaml`) or built by the dashboard:

    lr: {low: 1.0e-4, high: 0.1, log: true}
    label_smoothing: {low: 0.0, high: 0.2, step: 0.05}
    optimizer: {choices: [sgd, adamw]}
    augment.rotation_degrees: {choices: [0, 10, 20]}
    head.svm.C: {low: 0.1, high: 100, log: true}

A TrainConfig field's type decides how it is sampled (int fields: `suggest_int`); every bound and choice is
checked against TrainConfig's own validation before a sweep is created, so a trial never fails on a typo.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fer_engine.errors import ConfigError
from fer_engine.training.config import AugmentConfig, TrainConfig, TripletConfig, typed_override

HEAD_PREFIX = "head."
MAX_PARAMS = 32
MAX_CHOICES = 64
MAX_GRID_POINTS = 10_000
MAX_SPACE_FILE_BYTES = 64 * 1024
# Fields a sweep must not vary: they choose where and how a run executes, not what it learns.
NOT_SEARCHABLE = ("device", "precision", "data_path", "preset", "notes", "pretrained", "compile", "limit")


@dataclass(frozen=True)
class Param:
    """One searched parameter: a range (low, high, log, step) or choices; `kind` is 'float', 'int' or 'choice'."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    @property
    def is_head(self) -> bool:
        return self.name.startswith(HEAD_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        """The parameter as written in a space file (`parse_space` reads it back)."""
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        data: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            data["log"] = True
        if self.step is not None:
            data["step"] = self.step
        return data

    def bounds(self) -> tuple[float, float]:
        """(low, high) of a range parameter; ConfigError for a choice parameter, which has none."""
        if self.low is None or self.high is None:
            raise ConfigError(f"parameter '{self.name}' is a list of choices, not a range with low and high")
        return self.low, self.high

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna trial draws for this parameter."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        low, high = self.bounds()
        if self.kind == "int":
            return trial.suggest_int(self.name, int(low), int(high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, low, high, step=self.step, log=self.log)

    def grid_values(self) -> list[Any]:
        """Every value of this parameter on a grid (choices, or a range with a step; ints step 1 by default)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.log:
            raise ConfigError(f"the grid sampler cannot enumerate log range '{self.name}': give choices or a step")
        if self.step is None and self.kind == "float":
            raise ConfigError(f"the grid sampler needs a step (or choices) for float range '{self.name}'")
        low, high = self.bounds()
        step = self.step or 1
        count = int(math.floor((high - low) / step + 1e-9)) + 1
        values = [low + i * step for i in range(count)]
        return [int(v) for v in values] if self.kind == "int" else [round(v, 12) for v in values]


@dataclass(frozen=True)
class SearchSpace:
    """The parameters of a sweep, in the order they were given."""

    params: tuple[Param, ...]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {p.name: p.to_dict() for p in self.params}

    @property
    def head_names(self) -> list[str]:
        """Heads whose parameters are searched (their trials also embed, fit and evaluate)."""
        return sorted({p.name.split(".")[1] for p in self.params if p.is_head})

    def suggest(self, trial: Any) -> dict[str, Any]:
        """{parameter: value} drawn by `trial` for every parameter."""
        return {p.name: p.suggest(trial) for p in self.params}

    def grid(self) -> dict[str, list[Any]]:
        """The search space as Optuna's GridSampler wants it (ConfigError for ranges it cannot enumerate)."""
        grid = {p.name: p.grid_values() for p in self.params}
        size = math.prod(len(v) for v in grid.values())
        if size > MAX_GRID_POINTS:
            raise ConfigError(f"the grid has {size} points, more than {MAX_GRID_POINTS}: use tpe or random")
        return grid

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())


def split_params(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A trial's values as (TrainConfig overrides, head_params {head: {param: value}})."""
    overrides: dict[str, Any] = {}
    heads: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if name.startswith(HEAD_PREFIX):
            _, head, param = name.split(".", 2)
            heads.setdefault(head, {})[param] = value
        else:
            overrides[name] = value
    return overrides, heads


def load_space_file(path: str | Path) -> SearchSpace:
    """Read a YAML or JSON space file (bounded in size) and validate it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SPACE_FILE_BYTES:
            raise ConfigError(f"space file {path} is {size} bytes; the most accepted is {MAX_SPACE_FILE_BYTES}")
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read space file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"space file {path} is not UTF-8 text") from error
    return parse_space_text(text, source=str(path))


def parse_space_text(text: str, *, source: str = "the space") -> SearchSpace:
    """Parse YAML (JSON is YAML) text into a validated SearchSpace."""
    if len(text.encode("utf-8")) > MAX_SPACE_FILE_BYTES:
        raise ConfigError(f"{source} is longer than {MAX_SPACE_FILE_BYTES} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source} is not valid YAML: {str(error).splitlines()[0]}") from error
    return parse_space(data, source=source)


def parse_space(data: Any, *, source: str = "the space", preset: str | None = None) -> SearchSpace:
    """A validated SearchSpace from {name: spec}; ConfigError naming the parameter and the problem."""
    if not isinstance(data, dict) or not data:
        raise ConfigError(
            f"{source} must map parameter names to ranges or choices, e.g. lr: {{low: 0.001, high: 0.1, log: true}}"
        )
    if len(data) > MAX_PARAMS:
        raise ConfigError(f"{source} has {len(data)} parameters; the most accepted is {MAX_PARAMS}")
    params = tuple(_parse_param(str(name), spec) for name, spec in data.items())
    base = _base_config(preset)
    for param in params:
        _check_values(param, base)
    return SearchSpace(params)


def _base_config(preset: str | None) -> TrainConfig:
    if not preset:
        return TrainConfig()
    from fer_engine.training import get_preset

    return get_preset(preset)


def _parse_param(name: str, spec: Any) -> Param:
    if not isinstance(spec, dict):
        if isinstance(spec, list):
            spec = {"choices": spec}
        else:
            raise ConfigError(
                f"parameter '{name}': give {{low, high[, log, step]}} or {{choices: [...]}}, not {spec!r}"
            )
    unknown = set(spec) - {"low", "high", "log", "step", "choices"}
    if unknown:
        raise ConfigError(
            f"parameter '{name}': unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            "use low, high, log, step or choices"
        )
    field_type = _head_param_type(name, spec) if name.startswith(HEAD_PREFIX) else _config_field_type(name)
    if "choices" in spec:
        if set(spec) - {"choices"}:
            raise ConfigError(f"parameter '{name}': give either choices or a range, not both")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"parameter '{name}': choices must be a non-empty list")
        if len(choices) > MAX_CHOICES:
            raise ConfigError(f"parameter '{name}' has {len(choices)} choices; the most accepted is {MAX_CHOICES}")
        if any(not isinstance(c, (str, int, float, bool)) and c is not None for c in choices):
            raise ConfigError(f"parameter '{name}': choices must be numbers, strings, booleans or null")
        if len(set(map(repr, choices))) != len(choices):
            raise ConfigError(f"parameter '{name}': choices repeat a value")
        return Param(name, "choice", choices=tuple(choices))
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"parameter '{name}': a range needs both low and high")
    if field_type not in (int, float):
        raise ConfigError(f"parameter '{name}' is not a number field: give choices instead of a range")
    low, high = _number(name, "low", spec["low"]), _number(name, "high", spec["high"])
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"parameter '{name}': log must be true or false")
    step = None if spec.get("step") is None else _number(name, "step", spec["step"])
    if not low < high:
        raise ConfigError(f"parameter '{name}': low ({low:g}) must be below high ({high:g})")
    if log and low <= 0:
        raise ConfigError(f"parameter '{name}': a log range needs low > 0 (got {low:g})")
    if log and step is not None:
        raise ConfigError(f"parameter '{name}': a range is either log or stepped, not both")
    if step is not None and step <= 0:
        raise ConfigError(f"parameter '{name}': step must be > 0")
    if field_type is int:
        for key, value in (("low", low), ("high", high), ("step", step)):
            if value is not None and not float(value).is_integer():
                raise ConfigError(f"parameter '{name}' is an integer field: {key} must be a whole number")
        return Param(name, "int", low=int(low), high=int(high), log=log, step=None if step is None else int(step))
    return Param(name, "float", low=float(low), high=float(high), log=log, step=step)


def _number(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        if isinstance(value, str):
            try:
                return _number(name, key, float(value))
            except ValueError:
                pass
        raise ConfigError(f"parameter '{name}': {key} must be a finite number, not {value!r}")
    return value


def _config_field_type(name: str) -> type:
    """The Python type of TrainConfig field `name` (ConfigError for unknown or unsearchable fields)."""
    if name in NOT_SEARCHABLE or name in ("triplet", "augment"):
        raise ConfigError(f"'{name}' cannot be searched (it picks where or how a run executes, not what it learns)")
    owner, _, field_name = name.rpartition(".")
    cls = {"": TrainConfig, "augment": AugmentConfig, "triplet": TripletConfig}.get(owner)
    names = [f.name for f in dataclasses.fields(cls)] if cls else []
    if field_name not in names or field_name in ("triplet", "augment"):
        valid = [f"{owner + '.' if owner else ''}{n}" for n in names if n not in ("triplet", "augment")]
        hint = f"; valid fields: {', '.join(valid)}" if cls else "; nested sections: augment.*, triplet.*"
        raise ConfigError(f"unknown config field '{name}'{hint} (head parameters: head.<head>.<param>)")
    annotation = typing.get_type_hints(cls)[field_name]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if type(None) in typing.get_args(annotation) else annotation
    if typing.get_origin(base) is tuple:
        raise ConfigError(f"'{name}' is a (low, high) pair, which a sweep cannot search yet")
    return base


def _head_param_type(name: str, spec: dict[str, Any]) -> type:
    """Head parameters are named head.<head>.<param>; numbers decide their own type (ints stay ints)."""
    from fer_engine.heads.registry import HEAD_NAMES

    parts = name.split(".")
    if len(parts) != 3 or not parts[2]:
        raise ConfigError(f"head parameter '{name}' must look like head.<head>.<param>, e.g. head.svm.C")
    if parts[1] not in HEAD_NAMES:
        raise ConfigError(f"unknown head '{parts[1]}' in '{name}'; heads: {', '.join(HEAD_NAMES)}")
    if "choices" in spec:
        return object
    bounds = [spec.get(k) for k in ("low", "high", "step") if spec.get(k) is not None]
    return int if bounds and all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) else float


def _check_values(param: Param, base: TrainConfig) -> None:
    """Every choice and both range ends must pass the config's (or the head's) own validation."""
    values = list(param.choices) if param.kind == "choice" else [param.low, param.high]
    for value in values:
        if param.is_head:
            _check_head_value(param.name, value)
            continue
        try:
            base.with_overrides(**{param.name: typed_override(param.name, value)})
        except ConfigError as error:
            raise ConfigError(f"parameter '{param.name}' = {value!r} is not valid: {error}") from error


def _check_head_value(name: str, value: Any) -> None:
    from fer_engine.heads.registry import create_head

    _, head, param = name.split(".", 2)
    try:
        create_head(head, **{param: value})
    except ConfigError as error:
        raise ConfigError(f"parameter '{name}' = {value!r} is not valid: {error}") from error


def grid_points(space: SearchSpace) -> list[dict[str, Any]]:
    """Every point of the grid (for tests and the dashboard's size hint)."""
    grid = space.grid()
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
