"""Random-forest head: 500 trees on the raw embeddings (trees need no scaling)."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier

from fer_engine.heads.base import HeadSpec


def build_random_forest(
    *, class_weight: str | dict | None = None, random_state: int = 0, **params
) -> RandomForestClassifier:
    """500 fully grown trees, sqrt(D) features per split, on every core."""
    settings = {"n_estimators": 500, "max_features": "sqrt", "n_jobs": -1}
    settings.update(params)
    return RandomForestClassifier(class_weight=class_weight, random_state=random_state, **settings)


SEARCH_SPACE = {
    "n_estimators": [200, 300, 500, 800],
    "max_depth": [None, 20, 40],
    "min_samples_leaf": [1, 2, 4],
    "max_features": ["sqrt", "log2", 0.1, 0.2],
}

SPEC = HeadSpec(
    name="rf",
    title="Random Forest",
    build=build_random_forest,
    search_space=SEARCH_SPACE,
    key_params=("n_estimators", "max_depth", "max_features", "min_samples_leaf"),
)
