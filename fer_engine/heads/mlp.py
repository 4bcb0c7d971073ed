"""ANN head (the paper's "ANN"): standardised embeddings -> MLP 512-256 with early stopping."""

from __future__ import annotations

from scipy.stats import loguniform
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fer_engine.heads.base import CLASSIFIER_STEP, SCALER_STEP, HeadSpec


def build_mlp(*, class_weight: str | dict | None = None, random_state: int = 0, **params) -> Pipeline:
    """Adam MLP (512, 256), batches of min(200, N), early stopping on 10% of the training data.

    `class_weight` acts through sample weights (MLPClassifier has no class_weight option).
    """
    settings = {
        "hidden_layer_sizes": (512, 256),
        "alpha": 1e-4,
        "batch_size": "auto",
        "learning_rate_init": 1e-3,
        "max_iter": 200,
        "early_stopping": True,
        "validation_fraction": 0.1,
        "n_iter_no_change": 10,
    }
    settings.update(params)
    # MLPClassifier has no class_weight option: fit_heads passes balanced sample weights instead.
    return Pipeline(
        [(SCALER_STEP, StandardScaler()), (CLASSIFIER_STEP, MLPClassifier(random_state=random_state, **settings))]
    )


SEARCH_SPACE = {
    f"{CLASSIFIER_STEP}__hidden_layer_sizes": [(256,), (512,), (512, 256), (1024, 512), (512, 256, 128)],
    f"{CLASSIFIER_STEP}__alpha": loguniform(1e-5, 1e-2),
    f"{CLASSIFIER_STEP}__learning_rate_init": loguniform(1e-4, 1e-2),
    f"{CLASSIFIER_STEP}__batch_size": [128, 256, 512],
}

SPEC = HeadSpec(
    name="mlp",
    title="ANN (MLP)",
    build=build_mlp,
    search_space=SEARCH_SPACE,
    sample_weight_param=f"{CLASSIFIER_STEP}__sample_weight",
    key_params=("hidden_layer_sizes", "alpha", "learning_rate_init", "batch_size", "early_stopping"),
)
