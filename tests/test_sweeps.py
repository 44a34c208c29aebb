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
    from companion.lab.models import build_mlp

    def build():  # build_mlp draws other seeds than reinitialize: a fresh draw would show
        return build_mlp(depth=1, width=8, example_shape=(8,), n_classes=3)

    def opts():
        return {"momentum": K.SGD(0.05, momentum=0.9), "adam": K.Adam(0.01)}

    kept = {}
    _, first = sweeps.bake_off(opts(), tiny_data, epochs=2, target=0.5, build=build, seed=2,
                               reuse=kept)
    models = dict(kept)
    assert set(models) == {("momentum", build), ("adam", build)}
    traced = {key: model.train_function for key, model in models.items()}
    sweeps.bake_off(opts(), tiny_data, epochs=2, target=0.5, build=build, seed=1,
                    reuse=kept)
    _, reused = sweeps.bake_off(opts(), tiny_data, epochs=2, target=0.5, build=build,
                                seed=2, reuse=kept)
    for name, result in reused.items():
        assert result.model is models[name, build]
        assert result.model.train_function is traced[name, build]  # no new trace
        # the kept model, re-drawn for seed 2, trains as the new one did for seed 2:
        # float32 rounding only
        np.testing.assert_allclose(result.history["loss"], first[name].history["loss"],
                                   rtol=1e-5)
    # another configuration under a kept name: a new model, which replaces the kept one
    _, other = sweeps.bake_off({"adam": K.Adam(0.02)}, tiny_data, epochs=1, target=0.5,
                               build=build, seed=2, reuse=kept)
    assert other["adam"].model is not models["adam", build]
    assert kept["adam", build] is other["adam"].model
    # another build: another model, never the kept one of the first build
    _, wider = sweeps.bake_off({"adam": K.Adam(0.02)}, tiny_data, epochs=1, target=0.5,
                               build=tiny_model, seed=2, reuse=kept)
    assert wider["adam"].model.count_params() == tiny_model().count_params()
    with pytest.raises(TypeError, match="reuse must be a mapping"):
        sweeps.bake_off(opts(), tiny_data, epochs=1, target=0.5, reuse=[])
