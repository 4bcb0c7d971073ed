"""Per-epoch validation through `fer_engine.inference.run_inference`: loss, accuracy, macro-F1, and k-NN accuracy
of val embeddings against a fixed train subset (the selection metric of embedding-only training)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch import nn

from fer_engine.errors import ConfigError
from fer_engine.inference import run_inference
from fer_engine.training.batches import STREAM_KNN_REFERENCE, derived_seed
from fer_engine.training.config import TrainConfig
from fer_engine.training.objectives import plain_cross_entropy


@dataclass
class Validator:
    """Scores a model on the val split; `reference_*` is the seeded train subset used for k-NN accuracy."""

    config: TrainConfig
    images: torch.Tensor  # uint8 (N, H, W), on the training device
    labels: np.ndarray
    num_classes: int
    device: torch.device
    precision: str
    reference_images: torch.Tensor | None = None
    reference_labels: np.ndarray | None = None

    @classmethod
    def create(
        cls,
        config: TrainConfig,
        val_images: torch.Tensor,
        val_labels: np.ndarray,
        train_images: torch.Tensor,
        train_labels: np.ndarray,
        num_classes: int,
        device: torch.device,
        precision: str,
    ) -> Validator:
        """A validator; with k-NN scoring, its reference is a seeded subset of at most `knn_reference_size` train images."""
        validator = cls(config, val_images, val_labels, num_classes, device, precision)
        if validator.needs_knn:
            size = min(config.triplet.knn_reference_size, len(train_labels))
            rng = np.random.default_rng(derived_seed(config.seed, 0, STREAM_KNN_REFERENCE))
            chosen = np.sort(rng.choice(len(train_labels), size=size, replace=False))
            validator.reference_images = train_images[torch.from_numpy(chosen).to(train_images.device)]
            validator.reference_labels = train_labels[chosen]
        return validator

    @property
    def needs_knn(self) -> bool:
        """k-NN accuracy is computed when it selects the checkpoint or a triplet term shapes the embeddings."""
        return self.config.select_metric == "val_knn_accuracy" or self.config.loss != "ce"

    def evaluate(self, model: nn.Module) -> dict[str, float | None]:
        """Validation metrics of `model` (head metrics are None for 'triplet', which trains no head)."""
        config = self.config
        output = run_inference(
            model,
            self.images,
            batch_size=config.eval_batch_size,
            device=self.device,
            precision=self.precision,
            tta=config.eval_tta,
            channels_last=config.channels_last,
        )
        metrics: dict[str, float | None] = {"val_loss": None, "val_accuracy": None, "val_macro_f1": None}
        if config.loss != "triplet":
            predictions = output.predictions
            metrics["val_loss"] = plain_cross_entropy(output.logits, self.labels)
            metrics["val_accuracy"] = float((predictions == self.labels).mean()) if len(self.labels) else float("nan")
            metrics["val_macro_f1"] = float(
                f1_score(
                    self.labels, predictions, labels=list(range(self.num_classes)), average="macro", zero_division=0
                )
            )
        if self.needs_knn:
            metrics["val_knn_accuracy"] = self._knn_accuracy(model, output.embeddings)
        return metrics

    def _knn_accuracy(self, model: nn.Module, val_embeddings: np.ndarray) -> float:
        from fer_engine.metric_learning.quality import knn_accuracy

        if self.reference_images is None or self.reference_labels is None:
            raise ConfigError("k-NN accuracy needs a reference subset of train images: build it with Validator.create")
        reference = run_inference(
            model,
            self.reference_images,
            batch_size=self.config.eval_batch_size,
            device=self.device,
            precision=self.precision,
            channels_last=self.config.channels_last,
        ).embeddings
        triplet = self.config.triplet
        return float(
            knn_accuracy(
                reference,
                self.reference_labels,
                val_embeddings,
                self.labels,
                k=triplet.knn_k,
                distance=triplet.distance,
                normalize=triplet.normalize_embeddings,
            )
        )
