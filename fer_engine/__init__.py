"""fer_engine: facial expression recognition on FER2013 (data, VGG-19, training, embeddings, heads, reports)."""

from fer_engine.classes import FER_CLASS_NAMES

__all__ = ["FER_CLASS_NAMES", "__version__"]
__version__ = "0.1.0"
