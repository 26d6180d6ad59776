"""Recipes: lookup order, named recipes, and their errors."""

from __future__ import annotations

import pytest

from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.recipes import NAMED_RECIPES, RECIPES, recipe
from archzoo.registry import list_models, model_card


def test_most_specific_key_wins() -> None:
    # (model, data) beats (family, data): MobileNet V3 adds a BatchNorm momentum to its family's recipe
    v3 = recipe("mobilenet_v3_small", "mobilenet", "fashion-mnist")
    v2 = recipe("mobilenet_v2", "mobilenet", "fashion-mnist")
    assert v3["model_overrides"] == {"small_input": True, "bn_momentum": 0.1}
    assert v2["model_overrides"] == {"small_input": True}
    # (model, *) serves every data set; unknown pairs give no recipe (TrainConfig's defaults)
    assert recipe("lenet5", "lenet", "mnist") == recipe("lenet5", "lenet", "fashion-mnist")
    assert recipe("resnet20", "resnet", "no-such-data") == {}


def test_recipe_is_a_copy() -> None:
    r = recipe("resnet20", "resnet", "fashion-mnist")
    r["model_overrides"]["small_input"] = False
    assert recipe("resnet20", "resnet", "fashion-mnist")["model_overrides"]["small_input"] is True


def test_every_recipe_names_real_config_fields() -> None:
    fields = set(TrainConfig.__dataclass_fields__)
    for settings in [*RECIPES.values(), *NAMED_RECIPES.values()]:
        assert set(settings) <= fields, set(settings) - fields


def test_long_recipe_is_the_default_with_augmentation_for_every_28x28_cnn() -> None:
    cnns = [n for n in list_models() if model_card(n).family in
            ("alexnet", "vgg", "resnet", "densenet", "squeezenet", "efficientnet", "mobilenet", "convnext", "vit",
             "swin")]
    assert len(cnns) > 40
    for name in cnns:
        family = model_card(name).family
        long, default = recipe(name, family, "fashion-mnist", "long"), recipe(name, family, "fashion-mnist")
        assert long["augment"] == "crop_flip" and long["epochs"] == 30
        changed = ("augment", "epochs") + (("optimizer", "lr", "weight_decay") if family == "resnet" else ())
        assert {k: v for k, v in long.items() if k not in changed} == \
            {k: v for k, v in default.items() if k not in changed}
        if family == "resnet":
            assert (long["optimizer"], long["lr"], long["weight_decay"]) == ("nesterov", 0.1, 5e-4)


def test_unknown_named_recipe_lists_those_that_apply() -> None:
    with pytest.raises(ConfigError, match=r"no recipe 'longer' for resnet20 on fashion-mnist; named recipes for it: "
                                          r"long$"):
        recipe("resnet20", "resnet", "fashion-mnist", "longer")
    with pytest.raises(ConfigError, match=r"named recipes for it: fast$"):
        recipe("lenet5_modern", "lenet", "fashion-mnist", "slow")
    with pytest.raises(ConfigError, match=r"named recipes for it: none$"):
        recipe("mlp", "mlp", "digits", "fast")
