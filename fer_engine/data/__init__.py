"""FER data: load any published FER2013 form (or another image dataset), summarise it and audit it."""

from fer_engine.data.audit import AuditConfig, AuditReport, audit_dataset
from fer_engine.data.dataset import FerDataset, SkippedItem, Split
from fer_engine.data.loader import load_dataset
from fer_engine.data.preprocess import FER_IMAGE_SIZE, decode_image_bytes, to_fer_gray
from fer_engine.data.summary import DatasetSummary, summarize

__all__ = [
    "FER_IMAGE_SIZE",
    "AuditConfig",
    "AuditReport",
    "DatasetSummary",
    "FerDataset",
    "SkippedItem",
    "Split",
    "audit_dataset",
    "decode_image_bytes",
    "load_dataset",
    "summarize",
    "to_fer_gray",
]
