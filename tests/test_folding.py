import re

import keras
import numpy as np
import pytest

from companion import build_mlp
from companion.tools.folding import batch_norm_affine, count_batch_norm, fold_batch_norm

RNG = np.random.default_rng(0)


def randomize_batch_norm(model, rng):
    """Non-trivial statistics and parameters in every BN layer."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            values = {"gamma": rng.uniform(0.5, 2.0, n), "beta": rng.normal(0, 1, n),
                      "moving_mean": rng.normal(0, 1, n),
                      "moving_variance": rng.uniform(0.3, 3.0, n)}
            for name, value in values.items():
                variable = getattr(layer, name, None)
                if variable is not None:
                    variable.assign(value.astype("float32"))


def max_difference(model, folded, x):
    return float(np.abs(np.asarray(model(x, training=False)) - np.asarray(folded(x))).max())


@pytest.mark.parametrize("placement", ["before", "after"])
@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_folded_mlp_matches_original_with_random_statistics(placement, dropout):
    model = build_mlp(depth=3, width=12, example_shape=(6,), n_classes=4,
                      batch_norm=placement, dropout=dropout, output_activation="linear")
    randomize_batch_norm(model, RNG)
    folded = fold_batch_norm(model)
    x = RNG.normal(size=(50, 6)).astype("float32")
    assert count_batch_norm(model) == 3
    assert count_batch_norm(folded) == 0
    assert max_difference(model, folded, x) < 1e-4
    # the original model is left as it was, and shares no layer with the copy
    assert count_batch_norm(model) == 3
    assert not {id(layer) for layer in model.layers} & {id(layer) for layer in folded.layers}


@pytest.mark.parametrize("placement", ["before", "after"])
def test_folded_mlp_matches_original_after_training(placement, tiny_data):
    keras.utils.set_random_seed(3)
    model = build_mlp(depth=2, width=16, example_shape=tiny_data.x_train.shape[1:],
                      n_classes=3, batch_norm=placement, output_activation="linear")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(tiny_data.x_train, tiny_data.y_train, epochs=3, batch_size=32, verbose=0)
    bn = model.get_layer("bn_1")
    assert np.abs(np.asarray(bn.moving_mean)).max() > 1e-2  # statistics moved
    folded = fold_batch_norm(model)
    assert count_batch_norm(folded) == 0
    assert max_difference(model, folded, tiny_data.x_valid.astype("float32")) < 1e-4


def test_before_placement_folds_formula_into_kernel_and_bias():
    model = build_mlp(depth=1, width=5, example_shape=(4,), n_classes=2, batch_norm="before")
    randomize_batch_norm(model, RNG)
    bn = model.get_layer("bn_1")
    w = model.get_layer("hidden_1").kernel.numpy().astype(np.float64)
    gamma, beta, mean, var = (np.asarray(v, dtype=np.float64) for v in
                              (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance))
    factor = gamma / np.sqrt(var + bn.epsilon)
    folded = fold_batch_norm(model)
    hidden = folded.get_layer("hidden_1")
    np.testing.assert_allclose(hidden.kernel.numpy(), w * factor, rtol=1e-6)
    np.testing.assert_allclose(hidden.bias.numpy(), (0 - mean) * factor + beta,
                               rtol=1e-6, atol=1e-7)
    # the Activation layer that followed BN was merged into the Dense layer
    assert [layer.name for layer in folded.layers] == ["flatten", "hidden_1", "output"]
    assert hidden.get_config()["activation"] == "relu"


def test_merge_activations_false_keeps_the_activation_layer():
    model = build_mlp(depth=2, width=5, example_shape=(4,), n_classes=2, batch_norm="before")
    folded = fold_batch_norm(model, merge_activations=False)
    assert [layer.name for layer in folded.layers] == [
        "flatten", "hidden_1", "activation_1", "hidden_2", "activation_2", "output"]
    x = RNG.normal(size=(8, 4)).astype("float32")
    assert max_difference(model, folded, x) < 1e-5


def test_batch_norm_affine_matches_layer_in_inference_mode():
    bn = keras.layers.BatchNormalization(epsilon=0.01)
    bn.build((None, 7))
    randomize_batch_norm(keras.Sequential([keras.Input((7,)), bn]), RNG)
    x = RNG.normal(size=(20, 7))
    scale, shift = batch_norm_affine(bn)
    expected = (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 0.01) \
        * bn.gamma.numpy() + bn.beta.numpy()
    np.testing.assert_allclose(x * scale + shift, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn(x.astype("float32"), training=False), expected,
                               rtol=1e-4, atol=1e-5)


def test_bn_without_scale_and_center_and_consecutive_bns():
    model = keras.Sequential([
        keras.Input((5,)), keras.layers.Dense(6, activation="tanh"),
        keras.layers.BatchNormalization(scale=False, center=False),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(3)])
    randomize_batch_norm(model, RNG)
    folded = fold_batch_norm(model)
    assert count_batch_norm(folded) == 0
    assert max_difference(model, folded, RNG.normal(size=(30, 5)).astype("float32")) < 1e-4


def test_bn_first_followed_by_dense_folds_forward():
    model = keras.Sequential([keras.Input((5,)), keras.layers.BatchNormalization(),
                              keras.layers.Dense(4, activation="relu")])
    randomize_batch_norm(model, RNG)
    folded = fold_batch_norm(model)
    assert [type(layer).__name__ for layer in folded.layers] == ["Dense"]
    assert max_difference(model, folded, RNG.normal(size=(30, 5)).astype("float32")) < 1e-4


@pytest.mark.parametrize("layers, match", [
    ([keras.Input((5,)), keras.layers.BatchNormalization(name="bn_a"),
      keras.layers.Activation("relu"), keras.layers.Dense(3)],
     "'bn_a'.*not a Dense layer"),
    ([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
      keras.layers.BatchNormalization(name="bn_last")],
     "'bn_last'.*no Dense layer comes after it"),
    ([keras.Input((4, 3)), keras.layers.Dense(6),
      keras.layers.BatchNormalization(axis=1, name="bn_axis"), keras.layers.Flatten(),
      keras.layers.Dense(2)],
     "'bn_axis'.*axis 1"),
])
def test_unfoldable_sequential_models_are_rejected(layers, match):
    with pytest.raises(ValueError, match=match):
        fold_batch_norm(keras.Sequential(layers))


def test_branching_model_is_rejected():
    inputs = keras.Input((5,))
    a = keras.layers.Dense(4)(inputs)
    b = keras.layers.BatchNormalization()(keras.layers.Dense(4)(inputs))
    model = keras.Model(inputs, keras.layers.Add()([a, b]), name="branchy")
    with pytest.raises(ValueError, match="Sequential.*'branchy'"):
        fold_batch_norm(model)


def test_nested_model_is_rejected():
    inner = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization()], name="inner")
    outer = keras.Sequential([keras.Input((5,)), inner, keras.layers.Dense(2)])
    assert count_batch_norm(outer) == 1
    with pytest.raises(ValueError, match="nested model 'inner'"):
        fold_batch_norm(outer)


def test_batch_norm_affine_rejects_other_layers():
    with pytest.raises(TypeError, match="layer must be a BatchNormalization layer, got Dense"):
        batch_norm_affine(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="is not built"):
        batch_norm_affine(keras.layers.BatchNormalization())


def test_interleaved_inference_time_returns_one_run_per_round():
    from companion.tools.timing import interleaved_inference_time

    calls = []

    class Recorder(keras.layers.Layer):
        def __init__(self, tag, **kwargs):
            super().__init__(**kwargs)
            self.tag = tag

        def call(self, inputs):
            calls.append(self.tag)
            return inputs

    models = {tag: keras.Sequential([keras.Input((3,)), Recorder(tag)]) for tag in "ab"}
    calls.clear()
    times = interleaved_inference_time(models, np.ones((4, 3)), rounds=3, number=2,
                                       warmup=1)
    assert {name: len(t.runs) for name, t in times.items()} == {"a": 3, "b": 3}
    assert all(t.best > 0 for t in times.values())
    # warm-up a, b; then each round a, a, b, b: the models alternate
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3
    for kwargs, match in [({"rounds": 0}, "rounds must be"), ({"number": 1.5}, "number must be"),
                          ({"warmup": -1}, "warmup must be")]:
        with pytest.raises(ValueError, match=match):
            interleaved_inference_time(models, np.ones((4, 3)), **kwargs)
    with pytest.raises(ValueError, match="models is empty"):
        interleaved_inference_time({}, np.ones((4, 3)))


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: fold_batch_norm("mlp"), TypeError, "model must be a Keras model, got str"),
    (lambda: fold_batch_norm(build_mlp(depth=1, batch_norm="after"), merge_activations="yes"),
     ValueError, "merge_activations must be True or False, got 'yes'"),
    (lambda: count_batch_norm([build_mlp(depth=1)]), TypeError,
     "model must be a Keras model, got list"),
    (lambda: batch_norm_affine(None), TypeError,
     "layer must be a BatchNormalization layer, got NoneType"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
