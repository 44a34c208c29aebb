"""Tests of companion.lab.recipes: the guidelines tables as model builders."""

import numpy as np
import pytest

from companion._quiet import keras
from companion.lab import recipes
from companion.lab.recipes import (default_recipe, naive_recipe, RECIPES, recipe_defaults,
                               recipe_table, self_normalizing_recipe)
from companion.tools.schedules import OneCycleSchedule


def _dense(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_default_recipe_architecture_and_optimizer():
    recipe = default_recipe(total_steps=100)
    model = recipe.model
    assert model.compiled and recipe.name == "default" and recipe.scaling == "standard"
    names = [layer.name for layer in model.layers]
    assert names == ["flatten", "hidden_1", "bn_1", "hidden_2", "bn_2", "hidden_3", "bn_3",
                     "output"]
    for layer in _dense(model):
        assert isinstance(layer.kernel_initializer, keras.initializers.HeNormal)
    for layer in _dense(model)[:-1]:
        assert layer.activation is keras.activations.elu
        assert layer.kernel_regularizer is None
    assert isinstance(model.optimizer, keras.optimizers.Nadam)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, OneCycleSchedule)
    assert schedule.total_steps == 100 and schedule.max_learning_rate == pytest.approx(3e-3)
    assert float(model.optimizer.beta_1) == pytest.approx(0.95)  # cycled: max momentum at 0


def test_default_recipe_options():
    recipe = default_recipe(total_steps=50, batch_norm="before", activation="relu", l2=1e-4,
                            dropout=0.2, optimizer="adamw", schedule="cosine", depth=2)
    names = [layer.name for layer in recipe.model.layers]
    assert names == ["flatten", "hidden_1", "bn_1", "activation_1", "dropout_1", "hidden_2",
                     "bn_2", "activation_2", "dropout_2", "output"]
    assert all(isinstance(l.kernel_regularizer, keras.regularizers.L2)
               for l in _dense(recipe.model))
    assert np.isclose(_dense(recipe.model)[0].kernel_regularizer.l2, 1e-4)
    assert isinstance(recipe.model.optimizer, keras.optimizers.AdamW)
    assert isinstance(recipe.model.optimizer._learning_rate,
                      keras.optimizers.schedules.CosineDecay)
    constant = default_recipe(schedule=None, optimizer="adam", learning_rate=0.01)
    assert float(constant.model.optimizer.learning_rate) == pytest.approx(0.01)


def test_self_normalizing_recipe():
    recipe = self_normalizing_recipe(total_steps=100, dropout=0.1)
    model = recipe.model
    assert recipe.scaling == "standard"
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in model.layers)
    assert sum(isinstance(l, keras.layers.AlphaDropout) for l in model.layers) == 3
    for layer in _dense(model):
        assert isinstance(layer.kernel_initializer, keras.initializers.LecunNormal)
    assert all(l.activation is keras.activations.selu for l in _dense(model)[:-1])
    assert isinstance(model.optimizer, keras.optimizers.Nadam)
    assert isinstance(model.optimizer._learning_rate, OneCycleSchedule)


def test_naive_recipe():
    recipe = naive_recipe()
    model = recipe.model
    assert recipe.scaling == "unit"
    for layer in _dense(model):
        assert isinstance(layer.kernel_initializer, keras.initializers.RandomNormal)
        assert layer.kernel_initializer.stddev == 1.0
    assert all(l.activation is keras.activations.sigmoid for l in _dense(model)[:-1])
    optimizer = model.optimizer
    assert type(optimizer) is keras.optimizers.SGD
    assert float(optimizer.momentum) == 0.0 and not optimizer.nesterov
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    weights = _dense(model)[0].kernel.numpy()
    assert 0.95 < weights.std() < 1.05  # N(0, 1): 78,400 draws


def test_recipes_train_one_step():
    x = np.random.default_rng(0).normal(size=(64, 28, 28)).astype("float32")
    y = np.arange(64) % 10
    for name, build in RECIPES.items():
        model = build(total_steps=10, depth=1, width=8).model
        history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        assert np.isfinite(history.history["loss"][0]), name


@pytest.mark.parametrize("kwargs, message", [
    ({"schedule": "step"}, "unknown schedule 'step'"),
    ({"total_steps": None}, "needs total_steps"),
    ({"total_steps": 1}, "needs total_steps"),
    ({"batch_norm": "middle", "total_steps": 10}, "unknown batch_norm"),
    ({"dropout": 1.0, "total_steps": 10}, "dropout must be"),
    ({"l2": -1.0, "total_steps": 10}, "l2 must be"),
    ({"learning_rate": 0, "total_steps": 10}, "learning_rate must be"),
    ({"optimizer": "adamm", "total_steps": 10}, "unknown optimizer 'adamm'"),
    ({"scaling": "minmax", "total_steps": 10}, "unknown scaling 'minmax'"),
    ({"activation": "swishy", "total_steps": 10}, "unknown activation"),
])
def test_default_recipe_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        default_recipe(**kwargs)


def test_self_normalizing_and_naive_reject_bad_arguments():
    with pytest.raises(ValueError, match="dropout must be"):
        self_normalizing_recipe(total_steps=10, dropout=-0.1)
    with pytest.raises(ValueError, match="unknown scaling"):
        naive_recipe(scaling="raw")
    with pytest.raises(ValueError, match="unknown recipe 'fancy'.*'default'"):
        recipe_defaults("fancy")


def test_table_is_read_from_the_signatures(monkeypatch):
    table = recipe_table(["naive", "default", "self_normalizing"])
    assert list(table.columns) == ["naive", "default", "self_normalizing"]
    assert table.loc["initialization"].tolist() == ["N(0, 1)", "He normal", "LeCun normal"]
    assert table.loc["activation"].tolist() == ["sigmoid", "ELU", "SELU"]
    assert table.loc["schedule", "naive"] == "constant"
    assert table.loc["input scaling", "self_normalizing"] == "standardised"
    assert "after" in table.loc["normalization", "default"]

    def swapped(*, total_steps=None, depth=3, width=100, initializer="he_normal",
                activation="relu", batch_norm="before", l2=1e-4, dropout=0.0,
                optimizer="adam", learning_rate=1e-3, schedule="cosine", scaling="unit"):
        """A stand-in with other defaults."""

    monkeypatch.setitem(recipes.RECIPES, "default", swapped)
    changed = recipe_table("default")["default"]
    assert changed["activation"] == "relu" and "before" in changed["normalization"]
    assert changed["regularization"] == "L2 (0.0001)" and changed["schedule"] == "cosine decay"
    assert changed["optimizer"] == "Adam, rate 0.001"
