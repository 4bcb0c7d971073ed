"""GAP embeddings of a run's checkpoint, per split, stored as `embeddings/<split>.npz`.

The data side (`EmbeddingSet`, reading and writing files) imports without torch; `embed_splits` and
`embed_run` (which run the network) are loaded on first use.
"""

from fer_engine.embeddings.embedding_set import (
    EmbeddingSet,
    available_embedding_splits,
    checkpoint_sha256,
    load_embeddings,
    read_embeddings,
    save_embeddings,
)

__all__ = [
    "EmbeddingSet",
    "available_embedding_splits",
    "checkpoint_sha256",
    "embed_run",
    "embed_splits",
    "load_embeddings",
    "read_embeddings",
    "save_embeddings",
]


def __getattr__(name: str):
    if name in ("embed_run", "embed_splits"):
        from fer_engine.embeddings import extract

        return getattr(extract, name)
    raise AttributeError(f"module 'fer_engine.embeddings' has no attribute '{name}'")
