import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import companion
from companion.tools.tracing import build_for_fit


def compiled_model(optimizer="nadam", **build_kwargs):
    model = companion.build_mlp(depth=2, width=16, example_shape=(8,), n_classes=3,
                                **build_kwargs)
    model.compile(optimizer=keras.optimizers.get(optimizer),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"], steps_per_execution=4)
    return model


def test_the_training_step_is_traced_once(tiny_data, count_traces):
    model = build_for_fit(compiled_model(), tiny_data.x_train, tiny_data.y_train)
    traces = count_traces(model)
    model.fit(tiny_data.x_train, tiny_data.y_train, epochs=2, batch_size=16, verbose=0)
    assert traces == [False], f"traced {len(traces)} times (Keras alone: twice)"


@pytest.mark.parametrize("optimizer, build_kwargs, weighted", [
    ("nadam", {}, False), ("adam", {}, False), ("sgd", {}, False),
    # where a build ahead of the trace could differ: moving statistics, dropout's random
    # generator, a regularisation loss, weights per example
    ("nadam", {"batch_norm": "after", "dropout": 0.2,
               "kernel_regularizer": keras.regularizers.L2(1e-3)}, True),
])
def test_training_follows_kerass_own_lazy_build(tiny_data, optimizer, build_kwargs, weighted):
    # the weights, the optimizer's variables and the metrics must be those of a plain fit
    weights_per_example = np.linspace(0.5, 1.5, len(tiny_data.x_train)) if weighted else None

    def run(prebuilt):
        keras.utils.set_random_seed(3)
        model = compiled_model(optimizer, **build_kwargs)
        if prebuilt:
            build_for_fit(model, tiny_data.x_train, tiny_data.y_train)
            assert model.optimizer.built  # before any trace
        history = model.fit(tiny_data.x_train, tiny_data.y_train, epochs=2, batch_size=16,
                            sample_weight=weights_per_example,
                            validation_data=(tiny_data.x_valid, tiny_data.y_valid),
                            verbose=0).history
        return model.get_weights(), [v.numpy() for v in model.optimizer.variables], history

    (weights, slots, history), (lazy_weights, lazy_slots, lazy_history) = run(True), run(False)
    assert len(slots) == len(lazy_slots)
    for a, b in zip(weights + slots, lazy_weights + lazy_slots):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert history.keys() == lazy_history.keys()
    for name in history:
        np.testing.assert_allclose(history[name], lazy_history[name], rtol=1e-5)


def test_a_model_of_several_inputs_and_outputs(count_traces):
    # lists of arrays are cut to two examples each, not to their first two arrays (three
    # of each, so that the first two arrays are not the whole list)
    rng = np.random.default_rng(0)
    inputs = [keras.Input((size,)) for size in (3, 4, 2)]
    joined = keras.layers.Concatenate()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(units)(joined) for units in (1, 2, 3)])
    model.compile(optimizer="adam", loss=["mse"] * 3, metrics=[["mae"]] * 3)
    x = [rng.normal(size=(32, size)) for size in (3, 4, 2)]
    y = [rng.normal(size=(32, units)) for units in (1, 2, 3)]
    traces = count_traces(build_for_fit(model, x, y))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert traces == [False]


def test_without_a_batch_only_the_optimizer_is_built():
    model = build_for_fit(compiled_model())
    assert model.optimizer.built
    assert [v.path for v in model.metrics_variables] == ["loss/total", "loss/count"]


def test_a_model_compiled_under_a_strategy_is_left_to_keras():
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        model = compiled_model()
    build_for_fit(model, np.zeros((2, 8), "float32"), np.zeros(2, "uint8"))
    assert not model.optimizer.built  # fit builds it in the strategy's scope


@pytest.mark.parametrize("call, error, message", [
    (lambda: build_for_fit("net"), TypeError, "model must be a Keras model, got str"),
    (lambda: build_for_fit(companion.build_mlp(depth=1, width=4)), ValueError,
     "model must be compiled first; "),
    (lambda: build_for_fit(compiled_model(), np.zeros((2, 8))), ValueError,
     "pass both x and y (a batch), or neither"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
