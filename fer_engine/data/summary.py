"""Per-split, per-class counts of a FerDataset (the paper's Table 1), with provenance: absent/drawn splits, skips."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from fer_engine.data.dataset import FerDataset

MAX_SKIPPED_EXAMPLES = 10


@dataclass
class DatasetSummary:
    """Counts per split per class name, totals, imbalance and what the loader drew, found absent or skipped."""

    source: str
    source_format: str
    fingerprint: str
    class_names: list[str]
    splits: dict[str, dict[str, int]]
    split_totals: dict[str, int]
    class_totals: dict[str, int]
    total: int
    absent_splits: list[str]
    drawn_splits: dict[str, str]
    imbalance_ratio: float | None
    skipped_count: int
    skipped_examples: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict: {"splits": {"train": {"angry": 3995, ...}, ...}, "absent_splits": [...], ...}."""
        return asdict(self)

    def to_markdown(self) -> str:
        """A Markdown table like the paper's Table 1: one row per class, one column per split, totals and shares."""
        split_names = list(self.splits)
        header = ["class", *split_names, "total", "share"]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        for name in self.class_names:
            share = self.class_totals[name] / self.total if self.total else 0.0
            cells = [name, *(f"{self.splits[s][name]:,}" for s in split_names), f"{self.class_totals[name]:,}", f"{share:.1%}"]
            lines.append("| " + " | ".join(cells) + " |")
        totals = ["**total**", *(f"{self.split_totals[s]:,}" for s in split_names), f"{self.total:,}", "100.0%"]
        lines.append("| " + " | ".join(totals) + " |")
        return "\n".join(lines)

    def to_text(self) -> str:
        """The table plus provenance lines, for a terminal."""
        lines = [f"source: {self.source} ({self.source_format})", "", self.to_markdown(), ""]
        lines.append(f"absent splits: {', '.join(self.absent_splits) or 'none'}")
        for split, how in self.drawn_splits.items():
            lines.append(f"drawn split: {split} = {how}")
        if self.imbalance_ratio is not None:
            lines.append(f"train imbalance (largest / smallest class): {self.imbalance_ratio:.2f}")
        lines.append(f"skipped items: {self.skipped_count}")
        lines.extend(f"  {item['where']}: {item['reason']}" for item in self.skipped_examples)
        return "\n".join(lines)


def summarize(dataset: FerDataset) -> DatasetSummary:
    """Count a dataset's images per split and class so users can see its balance and provenance at a glance."""
    class_names = list(dataset.class_names)
    splits = {
        name: dict(zip(class_names, np.bincount(split.labels, minlength=len(class_names)).tolist()))
        for name, split in dataset.splits.items()
    }
    class_totals = {name: sum(counts[name] for counts in splits.values()) for name in class_names}
    imbalance = None
    if "train" in splits:
        train_counts = [count for count in splits["train"].values() if count > 0]
        if train_counts:
            imbalance = max(train_counts) / min(train_counts)
    return DatasetSummary(
        source=dataset.source,
        source_format=dataset.source_format,
        fingerprint=dataset.fingerprint,
        class_names=class_names,
        splits=splits,
        split_totals={name: sum(counts.values()) for name, counts in splits.items()},
        class_totals=class_totals,
        total=sum(class_totals.values()),
        absent_splits=list(dataset.absent_splits),
        drawn_splits=dict(dataset.drawn_splits),
        imbalance_ratio=imbalance,
        skipped_count=len(dataset.skipped),
        skipped_examples=[{"where": i.where, "reason": i.reason} for i in dataset.skipped[:MAX_SKIPPED_EXAMPLES]],
    )
