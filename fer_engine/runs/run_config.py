"""A run's config.json: its one shape (written by `run_config_dict` only) and the reader of older shapes.

The shape: every field of the resolved training config, the data's identity (`data_fingerprint`, `data_source`),
its summary (`data`: split totals, drawn and absent splits, skipped images) and which splits are present
(`data_splits`), and, when known, the pipeline spec that ran (`pipeline`) and the command line (`command`).
"""

from __future__ import annotations

from typing import Any, Protocol

from fer_engine.data.dataset import FerDataset


class _ResolvedConfig(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def run_config_dict(config: _ResolvedConfig, dataset: FerDataset, *, pipeline: dict[str, Any] | None = None,
                    command: str | None = None) -> dict[str, Any]:
    """config.json of a run training `config` (a TrainConfig) on `dataset`."""
    from fer_engine.data.summary import summarize

    summary = summarize(dataset)
    record: dict[str, Any] = {
        **config.to_dict(),
        "data_fingerprint": dataset.fingerprint,
        "data_source": dataset.source,
        "data": {
            "source": summary.source, "source_format": summary.source_format,
            "split_totals": summary.split_totals, "absent_splits": summary.absent_splits,
            "drawn_splits": summary.drawn_splits, "skipped_count": summary.skipped_count,
            "imbalance_ratio": summary.imbalance_ratio,
        },
        "data_splits": {"present": list(dataset.splits), "drawn": dict(dataset.drawn_splits),
                        "absent": dataset.absent_splits},
    }
    if pipeline is not None:
        record["pipeline"] = pipeline
    if command:
        record["command"] = command
    return record


def recorded_data_path(config: dict[str, Any]) -> str:
    """The data a run was trained on, from any config.json shape ever written ('' when none is recorded).

    Older runs hold it under `data_path` (the training config), `pipeline.data_path` or only `data_source`."""
    recorded = config.get("pipeline")
    pipeline = recorded if isinstance(recorded, dict) else {}
    return str(config.get("data_path") or pipeline.get("data_path") or config.get("data_source") or "")


def recorded_command(config: dict[str, Any]) -> str:
    """The command that made the run: `fer train`'s recorded line, or the `fer reproduce` line of its pipeline spec."""
    recorded = config.get("command") or config.get("command_line")  # a string, or a list in older runs
    if recorded:
        return " ".join(recorded) if isinstance(recorded, list) else str(recorded)
    spec = config.get("pipeline")
    if not isinstance(spec, dict):
        return "?"
    parts = ["fer reproduce", f"--data {spec.get('data_path', '?')}", f"--preset {spec.get('preset', '?')}"]
    overrides = dict(spec.get("overrides") or {})
    for flag in ("epochs", "arch"):
        if flag in overrides:
            parts.append(f"--{flag} {overrides.pop(flag)}")
    if spec.get("limit"):
        parts.append(f"--limit {spec['limit']}")
    parts += [f"--set {key}={value}" for key, value in overrides.items()]
    if spec.get("heads"):
        parts.append(f"--heads {','.join(spec['heads'])}")
    if spec.get("max_train"):
        parts.append(f"--max-train {spec['max_train']}")
    if spec.get("tta") and spec["tta"] != "none":
        parts.append(f"--tta {spec['tta']}")
    if spec.get("name"):
        parts.append(f"--name {spec['name']}")
    return " ".join(parts)
