"""companion.lab.sweeps: the optimizer bake-off."""

import re

import numpy as np
import pytest

from companion._quiet import keras
from companion.lab import sweeps

K = keras.optimizers


def tiny_model():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, "softmax")])


def test_bake_off_table(tiny_data):
    opts = {"sgd": K.SGD(0.05), "adam": K.Adam(0.01)}
    table, results = sweeps.bake_off(opts, tiny_data, epochs=3, target=0.5, build=tiny_model)
    assert list(table.index) == ["sgd", "adam"]
    assert set(results) == {"sgd", "adam"}
    for name, result in results.items():
        assert result.model.optimizer is opts[name]
        row = table.loc[name]
        assert row["final_val_accuracy"] == result.history["val_accuracy"].iloc[-1]
        assert row["best_val_accuracy"] == result.history["val_accuracy"].max()
        assert row["seconds_per_epoch"] == pytest.approx(result.seconds_per_epoch)
        reached = result.time_to_target(0.5)
        if reached["epochs"] is None:
            assert np.isnan(row["epochs_to_target"])
        else:
            assert row["epochs_to_target"] == reached["epochs"]
    assert table.loc["adam", "learning_rate"] == pytest.approx(0.01)


def test_bake_off_follows_the_course_seed(tiny_data, course_seed):
    def final_loss(seed):
        course_seed(seed)
        table, _ = sweeps.bake_off({"sgd": K.SGD(0.05)}, tiny_data, epochs=1, target=0.5,
                                   build=tiny_model)
        return table.loc["sgd", "final_loss"]

    assert final_loss(1) == final_loss(1)
    assert final_loss(1) != final_loss(2)


def test_bake_off_validation(tiny_data):
    with pytest.raises(ValueError, match="empty"):
        sweeps.bake_off({}, tiny_data, epochs=1, target=0.5)
    with pytest.raises(ValueError, match="target"):
        sweeps.bake_off({"sgd": K.SGD()}, tiny_data, epochs=1, target=85)
    with pytest.raises(ValueError, match="optimizers\\['x'\\]"):
        sweeps.bake_off({"x": "sgd"}, tiny_data, epochs=1, target=0.5)


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("kwargs, error, message", [
    ({"target": float("nan")}, ValueError, "target must be a finite number in (0, 1], got nan"),
    ({"target": "0.8"}, ValueError, "target must be a finite number in (0, 1], got '0.8'"),
    ({"epochs": 0}, ValueError, "epochs must be an integer >= 1, got 0"),
    ({"optimizers": "adam"}, TypeError,
     "optimizers must be a mapping (a dict) from names to fresh Keras optimizers, got str"),
    ({"build": "mlp"}, TypeError, "build must be callable, got str 'mlp'"),
    ({"seed": -1}, ValueError, "seed must be an integer >= 0, got -1"),
])
def test_bad_inputs_name_the_argument(tiny_data, kwargs, error, message):
    arguments = {"optimizers": {"sgd": K.SGD(0.05)}, "data": tiny_data, "epochs": 1,
                 "target": 0.5, "build": tiny_model, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        sweeps.bake_off(**arguments)


def test_bake_off_reuse_keeps_one_model_per_optimizer_and_restarts_it(tiny_data):
    def opts():
        return {"momentum": K.SGD(0.05, momentum=0.9), "adam": K.Adam(0.01)}

    kept = {}
    sweeps.bake_off(opts(), tiny_data, epochs=2, target=0.5, build=tiny_model, seed=1,
                    reuse=kept)
    models = dict(kept)
    traced = {name: model.train_function for name, model in models.items()}
    _, reused = sweeps.bake_off(opts(), tiny_data, epochs=2, target=0.5, build=tiny_model,
                                seed=2, reuse=kept)
    for name, result in reused.items():
        assert result.model is models[name]
        assert result.model.train_function is traced[name]  # no new trace
    # the reference: new models, never trained, drawn and trained the same way
    _, fresh = sweeps.bake_off(opts(), tiny_data, epochs=2, target=0.5, build=tiny_model,
                               seed=2, reuse={})
    for name in reused:  # same start, data order and arithmetic: float32 rounding only
        np.testing.assert_allclose(reused[name].history["loss"], fresh[name].history["loss"],
                                   rtol=1e-5)
    # another configuration under a kept name: a new model, which replaces the kept one
    _, other = sweeps.bake_off({"adam": K.Adam(0.02)}, tiny_data, epochs=1, target=0.5,
                               build=tiny_model, seed=2, reuse=kept)
    assert other["adam"].model is not models["adam"] and kept["adam"] is other["adam"].model
    with pytest.raises(TypeError, match="reuse must be a mapping"):
        sweeps.bake_off(opts(), tiny_data, epochs=1, target=0.5, reuse=[])
