"""Triplet-loss metric learning on pytorch-metric-learning: distances, miners, the objective, the P x K sampler,
and embedding-quality metrics (k-NN accuracy, precision@1, MAP@R, silhouette, intra/inter distance ratio)."""

from fer_engine.metric_learning.distances import DISTANCES, build_distance
from fer_engine.metric_learning.miners import MINERS, RandomTripletMiner, build_miner
from fer_engine.metric_learning.objective import REDUCERS, TripletObjective, build_triplet_loss
from fer_engine.metric_learning.quality import EmbeddingQuality, embedding_quality, knn_accuracy
from fer_engine.metric_learning.sampler import PKBatchSampler

__all__ = [
    "DISTANCES",
    "MINERS",
    "REDUCERS",
    "EmbeddingQuality",
    "PKBatchSampler",
    "RandomTripletMiner",
    "TripletObjective",
    "build_distance",
    "build_miner",
    "build_triplet_loss",
    "embedding_quality",
    "knn_accuracy",
]
