import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import companion
from companion.tools.tracing import build_for_fit


def compiled_model(optimizer="nadam", **compile_kwargs):
    model = companion.build_mlp(depth=2, width=16, example_shape=(8,), n_classes=3)
    model.compile(optimizer=keras.optimizers.get(optimizer),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=4, **compile_kwargs)
    return model


def count_traces(model):
    """Wrap ``model.train_step`` so that every trace of it (a call in graph mode) is counted."""
    traces = []
    step = model.train_step

    def counted(data):
        traces.append(tf.executing_eagerly())
        return step(data)

    model.train_step = counted
    return traces


def test_the_training_step_is_traced_once(tiny_data):
    model = build_for_fit(compiled_model(), tiny_data.x_train[:2], tiny_data.y_train[:2])
    traces = count_traces(model)
    model.fit(tiny_data.x_train, tiny_data.y_train, epochs=2, batch_size=16, verbose=0)
    assert traces == [False], f"traced {len(traces)} times (Keras alone: twice)"


@pytest.mark.parametrize("optimizer", ["nadam", "adam", "sgd"])
def test_training_follows_kerass_own_lazy_build(tiny_data, optimizer):
    # the weights, the optimizer's variables and the metrics must be those of a plain fit
    def run(prebuilt):
        keras.utils.set_random_seed(3)
        model = compiled_model(optimizer)
        if prebuilt:
            build_for_fit(model, tiny_data.x_train[:2], tiny_data.y_train[:2])
            assert model.optimizer.built  # before any trace
        history = model.fit(tiny_data.x_train, tiny_data.y_train, epochs=2, batch_size=16,
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
