"""The cells of a triplet study: which loss, miner and distance each run trains with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fer_engine.errors import ConfigError
from fer_engine.training.config import LOSSES

STUDY_LOSSES = LOSSES  # every training loss is a study loss


@dataclass(frozen=True)
class StudyCell:
    """One run of the study: `loss`, and for losses with a triplet term its `miner` and `distance`."""

    loss: str
    miner: str | None = None
    distance: str | None = None

    @property
    def has_triplet(self) -> bool:
        return "triplet" in self.loss

    @property
    def label(self) -> str:
        """Short name used in run names and table rows, e.g. 'triplet-semihard-cosine'."""
        parts = [self.loss.replace("+", "_")] + ([self.miner or "", self.distance or ""] if self.has_triplet else [])
        return "-".join(parts)

    def overrides(self) -> dict[str, Any]:
        """TrainConfig overrides of this cell; a triplet-only run has no classifier, so it is selected on k-NN."""
        overrides: dict[str, Any] = {"loss": self.loss}
        if self.has_triplet:
            overrides["triplet"] = {"miner": self.miner, "distance": self.distance}
        if self.loss == "triplet":
            overrides["select_metric"] = "val_knn_accuracy"
        return overrides


# The paper's setting (random triplets, euclidean) against the usual fixes: semi-hard or hard mining, cosine,
# and cross-entropy with a triplet term; plain cross-entropy as the baseline.
DEFAULT_GRID: tuple[StudyCell, ...] = (
    StudyCell("ce"),
    StudyCell("triplet", "random", "euclidean"),
    StudyCell("triplet", "semihard", "euclidean"),
    StudyCell("triplet", "semihard", "cosine"),
    StudyCell("triplet", "hard", "cosine"),
    StudyCell("ce+triplet", "semihard", "cosine"),
)


def build_grid(
    losses: Sequence[str] | None = None,
    miners: Sequence[str] | None = None,
    distances: Sequence[str] | None = None,
) -> list[StudyCell]:
    """The default grid (filtered to `losses`), or, when miners or distances are named, every loss x miner x
    distance combination (cross-entropy alone appears once)."""
    from fer_engine.metric_learning.distances import DISTANCES
    from fer_engine.metric_learning.miners import MINERS

    _check("loss", losses or (), STUDY_LOSSES)
    _check("miner", miners or (), tuple(MINERS))
    _check("distance", distances or (), tuple(DISTANCES))
    if not miners and not distances:
        cells = [cell for cell in DEFAULT_GRID if not losses or cell.loss in losses]
    else:
        miners = list(miners or ["semihard"])
        distances = list(distances or ["euclidean"])
        cells = []
        for loss in losses or STUDY_LOSSES:
            if loss == "ce":
                cells.append(StudyCell("ce"))
            else:
                cells.extend(StudyCell(loss, miner, distance) for miner in miners for distance in distances)
    if not cells:
        raise ConfigError(f"the study grid is empty for losses {', '.join(losses or [])}; name miners or distances too")
    return list(dict.fromkeys(cells))


def _check(kind: str, names: Sequence[str], choices: tuple[str, ...]) -> None:
    unknown = [name for name in names if name not in choices]
    if unknown:
        raise ConfigError(f"unknown {kind} '{unknown[0]}' in the study grid; choose among: {', '.join(choices)}")
