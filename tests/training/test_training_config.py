"""TrainConfig validation, overrides and serialisation; preset contents (the paper's settings exactly)."""

from __future__ import annotations

import pytest

from fer_engine.errors import ConfigError
from fer_engine.training import PRESETS, TrainConfig, get_preset


def test_round_trip_through_dict_keeps_every_field():
    config = get_preset("strong").with_overrides(**{"triplet.margin": 0.5, "augment.resized_scale": (0.7, 1.0)})
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_from_dict_rejects_unknown_keys():
    data = TrainConfig().to_dict()
    data["learning_rate"] = 0.1
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig.from_dict(data)


def test_from_run_config_ignores_run_keys():
    data = {**TrainConfig(lr=0.3).to_dict(), "command": "fer train", "data_fingerprint": "x"}
    assert TrainConfig.from_run_config(data).lr == 0.3


def test_string_overrides_are_typed_by_the_field():
    config = TrainConfig().with_overrides(
        epochs="7", lr="0.5", nesterov="false", limit="none", early_stopping_patience="4",
        **{"triplet.margin": "0.3", "augment.scale": "0.9,1.1", "pretrained": "cache"},
    )
    assert (config.epochs, config.lr, config.nesterov, config.limit) == (7, 0.5, False, None)
    assert config.early_stopping_patience == 4
    assert config.triplet.margin == 0.3 and config.augment.scale == (0.9, 1.1)
    assert config.pretrained == "cache"


def test_nested_dict_overrides():
    config = TrainConfig().with_overrides(triplet={"miner": "hard", "distance": "cosine"})
    assert (config.triplet.miner, config.triplet.distance) == ("hard", "cosine")


def test_overrides_do_not_mutate_the_original():
    original = TrainConfig()
    original.with_overrides(**{"triplet.margin": 0.9, "augment.hflip": False})
    assert original.triplet.margin == 0.2 and original.augment.hflip is True


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"scheduler": "step"}, "scheduler"),
        ({"arch": "resnet50"}, "arch"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": "ten"}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"triplet.miner": "easy"}, "triplet.miner"),
        ({"triplet.distance": "chebyshev"}, "triplet.distance"),
        ({"augment.random_erasing": 1.5}, "augment.random_erasing"),
        ({"augment.crop": "centre"}, "augment.crop"),
        ({"augment.resized_scale": (0.9, 0.5)}, "augment.resized_scale"),
        ({"triplet.colour": 1}, "triplet.colour"),
        ({"nesterov": "maybe"}, "nesterov"),
        ({"eval_tta": "fivecrop"}, "eval_tta"),
    ],
)
def test_bad_values_name_the_field(overrides, named):
    with pytest.raises(ConfigError) as error:
        TrainConfig().with_overrides(**overrides)
    assert named in str(error.value)


def test_triplet_alone_must_select_on_knn_accuracy():
    with pytest.raises(ConfigError, match="val_knn_accuracy"):
        TrainConfig().with_overrides(loss="triplet")
    assert TrainConfig().with_overrides(loss="triplet", select_metric="val_knn_accuracy").loss == "triplet"


def test_plateau_with_warmup_is_refused():
    with pytest.raises(ConfigError, match="warmup_epochs"):
        TrainConfig().with_overrides(scheduler="plateau", warmup_epochs=1)


def test_paper_preset_is_the_papers_settings():
    paper = get_preset("paper")
    assert paper.arch == "vgg19" and paper.pretrained is None
    assert (paper.optimizer, paper.lr, paper.momentum, paper.nesterov, paper.weight_decay) == ("sgd", 0.001, 0.9, False, 0.0)
    assert (paper.scheduler, paper.plateau_patience, paper.plateau_factor) == ("plateau", 3, 0.1)
    assert (paper.epochs, paper.early_stopping_patience, paper.select_metric) == (75, 10, "val_loss")
    assert (paper.loss, paper.label_smoothing, paper.class_weighting) == ("ce", 0.0, "none")
    assert (paper.batch_size, paper.input_size) == (64, 48)
    assert paper.augment.hflip and not paper.augment.is_geometric and paper.augment.random_erasing == 0


def test_strong_and_fast_cpu_presets():
    strong, fast = get_preset("strong"), get_preset("fast_cpu")
    assert strong.arch == "vgg19_bn" and fast.arch == "vgg19_bn_half"
    assert strong.nesterov and strong.weight_decay == 5e-4 and 0.01 <= strong.lr <= 0.05
    assert strong.scheduler in ("cosine", "onecycle") and strong.label_smoothing == 0.1
    assert strong.augment.crop == "pad" and strong.augment.crop_padding == 4
    assert strong.augment.rotation_degrees == 10 and 0.25 <= strong.augment.random_erasing <= 0.5
    assert strong.select_metric == "val_accuracy" and strong.epochs == 60
    assert fast.epochs < strong.epochs and fast.lr == strong.lr and fast.augment == strong.augment


def test_presets_are_fresh_copies_and_unknown_names_fail():
    get_preset("paper").augment.hflip = False
    assert get_preset("paper").augment.hflip is True
    assert set(PRESETS) == {"paper", "strong", "fast_cpu"}
    with pytest.raises(ConfigError, match="paper, strong, fast_cpu"):
        get_preset("best")


@pytest.mark.parametrize(("epochs", "warmup"), [(1, 0.5), (2, 1.0), (3, 1.5)])
def test_a_short_run_of_the_default_preset_shortens_its_warmup_and_says_so(epochs, warmup, caplog):
    """strong warms up for 2 epochs; a run of `epochs` keeps the recipe with a warm-up of half its epochs."""
    with caplog.at_level("WARNING", logger="fer_engine.training.config"):
        config = get_preset("strong").with_overrides(epochs=epochs)
    assert (config.epochs, config.warmup_epochs, config.scheduler) == (epochs, warmup, "cosine")
    assert f"warm-up shortened from 2 to {warmup:g} epochs to fit a {epochs}-epoch run" in caplog.text


def test_a_warmup_that_fits_is_kept_silently(caplog):
    with caplog.at_level("WARNING", logger="fer_engine.training.config"):
        assert get_preset("strong").with_overrides(epochs=4).warmup_epochs == 2.0
        assert get_preset("fast_cpu").with_overrides(epochs=2).warmup_epochs == 1.0
    assert "warm-up" not in caplog.text


def test_a_warmup_the_user_sets_is_kept_or_refused_never_changed():
    assert get_preset("strong").with_overrides(epochs=1, warmup_epochs=0.8).warmup_epochs == 0.8
    assert get_preset("strong").with_overrides(epochs=1, warmup_epochs=0).warmup_epochs == 0
    with pytest.raises(ConfigError, match="warmup_epochs=3.0 must be below epochs=2"):
        get_preset("strong").with_overrides(epochs=2, warmup_epochs=3)


def test_a_saved_config_reloads_with_its_warmup():
    config = get_preset("strong").with_overrides(epochs=1)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_miners_distances_and_tta_modes_are_their_registries(monkeypatch):
    from fer_engine.inference import TTA_VIEWS
    from fer_engine.metric_learning import distances, miners
    from fer_engine.training import config as config_module

    assert config_module.MINERS == tuple(miners.MINERS) and "batch_hard" in config_module.MINERS
    assert config_module.DISTANCES == tuple(distances.DISTANCES)
    assert config_module.TTA_MODES == tuple(TTA_VIEWS)
    assert TrainConfig().with_overrides(**{"triplet.miner": "batch_hard"}).triplet.miner == "batch_hard"
    monkeypatch.setitem(miners.MINERS, "my_miner", miners.MINERS["hard"])
    assert TrainConfig().with_overrides(**{"triplet.miner": "my_miner"}).triplet.miner == "my_miner"
