"""MC Dropout: always-on dropout layers, the model copy and the sampling helpers."""

import re

import numpy as np
import pytest

import companion as cp
from companion._quiet import keras
from companion.tools.layers import MCAlphaDropout, MCDropout
from companion.tools.uncertainty import mc_dropout_model, mc_predict, mc_samples


def linear_dropout_model(weights, bias, rate):
    """x -> Dropout(rate) -> Dense (linear): E and Var of the output are analytic."""
    model = keras.Sequential([keras.Input(shape=(weights.shape[0],)),
                              keras.layers.Dropout(rate, name="dropout"),
                              keras.layers.Dense(weights.shape[1], name="dense")])
    model.get_layer("dense").set_weights([weights, bias])
    return model


@pytest.fixture
def linear_case():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(6, 3)).astype(np.float32)
    bias = rng.normal(size=3).astype(np.float32)
    x = rng.normal(size=(4, 6)).astype(np.float32)
    return weights, bias, x


def test_mc_dropout_layer_is_on_at_inference_and_keeps_the_mean():
    keras.utils.set_random_seed(0)
    layer = MCDropout(0.25)
    x = np.ones((200, 500), dtype=np.float32)
    out = layer(x, training=False).numpy()
    # inverted dropout: each element is 0 or 1 / (1 - 0.25)
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.75], rtol=1e-6)
    # the fraction dropped is the rate, within 5 standard errors sqrt(p(1-p)/n)
    dropped = np.mean(out == 0)
    assert abs(dropped - 0.25) < 5 * np.sqrt(0.25 * 0.75 / out.size)
    assert not np.array_equal(out, layer(x, training=False).numpy())  # fresh mask per call


def test_mc_alpha_dropout_is_on_at_inference():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(1).normal(size=(100, 400)).astype(np.float32)
    out = MCAlphaDropout(0.2)(x, training=False).numpy()
    assert not np.allclose(out, x)
    # AlphaDropout keeps zero mean and unit variance of standard normal inputs
    assert abs(out.mean()) < 0.05 and abs(out.std() - 1) < 0.05


def test_mc_dropout_model_swaps_the_layers_and_copies_the_weights():
    keras.utils.set_random_seed(0)
    model = cp.build_mlp(depth=2, width=8, dropout=0.3, batch_norm="after",
                         example_shape=(5,))
    clone = mc_dropout_model(model)
    assert [type(layer).__name__ for layer in clone.layers] == [
        "Flatten", "Dense", "BatchNormalization", "MCDropout",
        "Dense", "BatchNormalization", "MCDropout", "Dense"]
    assert [layer.rate for layer in clone.layers if isinstance(layer, MCDropout)] == [0.3, 0.3]
    for a, b in zip(model.get_weights(), clone.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the original keeps its ordinary dropout: deterministic at inference
    x = np.ones((2, 5), dtype=np.float32)
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    assert type(model.get_layer("dropout_1")) is keras.layers.Dropout


def test_alpha_dropout_becomes_mc_alpha_dropout():
    model = cp.build_mlp(depth=1, width=8, activation="selu", dropout=0.1,
                         dropout_kind="alpha", example_shape=(5,))
    clone = mc_dropout_model(model)
    assert isinstance(clone.get_layer("dropout_1"), MCAlphaDropout)
    samples = mc_samples(model, np.ones((3, 5)), n_samples=4)
    # Different dropout masks change outputs by O(0.1); float rounding by ~1e-7.
    assert np.abs(samples[0] - samples[1]).max() > 1e-3


def test_samples_differ_across_passes():
    keras.utils.set_random_seed(0)
    model = cp.build_mlp(depth=2, width=16, dropout=0.5, example_shape=(6,))
    samples = mc_samples(model, np.random.default_rng(0).normal(size=(5, 6)), n_samples=8)
    assert samples.shape == (8, 5, 10)
    np.testing.assert_allclose(samples.sum(axis=-1), 1.0, rtol=1e-5)
    distinct = {samples[i].tobytes() for i in range(8)}
    assert len(distinct) == 8


@pytest.mark.parametrize("batch_size", [7, 100, 16_384])
def test_mean_and_std_match_the_analytic_values_for_a_linear_model(linear_case, batch_size):
    weights, bias, x = linear_case
    rate, n = 0.5, 4000
    keras.utils.set_random_seed(1)
    mean, std = mc_predict(linear_dropout_model(weights, bias, rate), x, n_samples=n,
                           batch_size=batch_size)
    # inverted dropout keeps each input's expectation: E[out] = x W + b;
    # each kept input is scaled by 1/(1-p), so Var(m_i/(1-p)) = p/(1-p) and
    # Var(out_j) = p/(1-p) * sum_i W_ij^2 x_i^2.
    expected = x @ weights + bias
    sigma = np.sqrt(rate / (1 - rate) * (x**2) @ (weights**2))
    assert np.all(np.abs(mean - expected) <= 5 * sigma / np.sqrt(n))
    np.testing.assert_allclose(std, sigma, rtol=0.1)


def test_the_mean_converges(linear_case):
    weights, bias, x = linear_case
    model = linear_dropout_model(weights, bias, 0.5)
    expected = x @ weights + bias
    keras.utils.set_random_seed(2)
    errors = [np.sqrt(np.mean((mc_predict(model, x, n_samples=n)[0] - expected) ** 2))
              for n in (25, 6400)]
    # the error shrinks like 1/sqrt(n): 16 times fewer at 256 times the samples
    assert errors[1] < errors[0] / 4


@pytest.mark.parametrize("functional", [False, True])
def test_a_model_without_dropout_gives_identical_samples(functional, forward_bound):
    keras.utils.set_random_seed(0)
    if functional:
        inputs = keras.Input(shape=(6,))
        hidden = keras.layers.Dense(16, activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(hidden))
    else:
        model = cp.build_mlp(depth=2, width=16, example_shape=(6,), n_classes=4)
    x = np.random.default_rng(0).normal(size=(9, 6)).astype(np.float32)
    # The sampler tiles the examples into batches of other shapes and positions than
    # model(x) uses, so the kernels may sum each dot product in another order: every
    # sample is within `bound` of the exact output (float32 rounding, see
    # dense_forward_bound), so two samples differ by at most 2 * bound, not 0.
    exact, bound = forward_bound(model, x)
    samples = mc_samples(model, x, n_samples=6, batch_size=20)
    assert np.all(np.abs(samples - exact) <= bound)
    assert np.all(np.abs(samples - samples[0]) <= 2 * bound)
    mean, std = mc_predict(model, x, n_samples=30, batch_size=20)
    # every sample lies in [exact - bound, exact + bound]: their mean does too, and the
    # standard deviation of values in an interval of width 2 * bound is at most bound
    # (the float64 accumulation adds nothing at this scale).
    assert np.all(np.abs(mean - exact) <= bound)
    assert np.all(std <= bound)
    assert np.all(np.abs(mean - model(x, training=False)) <= 2 * bound)
    # the bound is tight enough to mean something: far below the outputs themselves
    assert bound.max() < 1e-4 * np.abs(exact).max()


def test_batch_norm_stays_in_inference_mode():
    keras.utils.set_random_seed(0)
    model = cp.build_mlp(depth=1, width=8, batch_norm="after", example_shape=(5,))
    bn = model.get_layer("bn_1")
    gamma, beta, _, _ = bn.get_weights()
    bn.set_weights([gamma, beta, np.full(8, 3.0, np.float32), np.full(8, 4.0, np.float32)])
    x = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    mean, std = mc_predict(model, x, n_samples=3)
    np.testing.assert_allclose(mean, model(x, training=False), rtol=1e-5, atol=1e-7)
    assert not np.allclose(mean, model(x, training=True), atol=1e-3)


def test_mc_model_round_trips_through_its_config():
    model = mc_dropout_model(cp.build_mlp(depth=1, width=8, dropout=0.5, example_shape=(5,)))
    config = keras.saving.serialize_keras_object(model)
    assert config["config"]["layers"][3]["registered_name"] == "companion>MCDropout"
    loaded = keras.saving.deserialize_keras_object(config)
    assert isinstance(loaded.get_layer("dropout_1"), MCDropout)
    assert loaded.get_layer("dropout_1").rate == 0.5


@pytest.mark.parametrize("kwargs, match", [
    ({"n_samples": 0}, "n_samples"), ({"n_samples": 2.5}, "n_samples"),
    ({"n_samples": True}, "n_samples"), ({"batch_size": 0}, "batch_size"),
])
def test_bad_arguments_raise(kwargs, match):
    model = cp.build_mlp(depth=1, width=4, dropout=0.5, example_shape=(3,))
    with pytest.raises(ValueError, match=match):
        mc_predict(model, np.ones((2, 3)), **kwargs)
    with pytest.raises(ValueError, match=match):
        mc_samples(model, np.ones((2, 3)), **kwargs)


def test_empty_input_and_non_models_raise():
    model = cp.build_mlp(depth=1, width=4, dropout=0.5, example_shape=(3,))
    with pytest.raises(ValueError, match=r"x must hold at least 1 example\(s\), got shape \(0, 3\)"):
        mc_predict(model, np.ones((0, 3)))
    with pytest.raises(ValueError, match=r"x holds examples of shape \(5,\), but the model expects \(3,\)"):
        mc_samples(model, np.ones((2, 5)))
    with pytest.raises(TypeError, match="model must be a Keras model, got str"):
        mc_predict("model", np.ones((2, 3)))
    with pytest.raises(TypeError, match="model must be a Keras model, got NoneType"):
        mc_dropout_model(None)


def test_dropout_inside_a_nested_model_is_replaced_too():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8),
                              keras.layers.Dropout(0.5, name="inner_dropout")])
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    clone = mc_dropout_model(model)
    kinds = [type(layer).__name__ for layer in clone._flatten_layers()]
    assert "MCDropout" in kinds and "Dropout" not in kinds
    samples = mc_samples(model, np.ones((3, 4)), n_samples=3)
    assert np.abs(samples[0] - samples[1]).max() > 1e-3  # masks differ, not rounding


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

def small_dropout_model():
    return cp.build_mlp(depth=1, width=4, dropout=0.5, example_shape=(3,))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"n_samples": 0}, ValueError, "n_samples must be an integer >= 1, got 0"),
    ({"n_samples": 2.5}, ValueError, "n_samples must be an integer >= 1, got 2.5"),
    ({"batch_size": True}, ValueError, "batch_size must be an integer >= 1, got True"),
    ({"x": "abc"}, TypeError, "x must be an array of numbers, got the string 'abc'"),
    ({"x": np.full((2, 3), np.nan)}, ValueError, "x must hold finite numbers only"),
    ({"model": 3}, TypeError, "model must be a Keras model, got int"),
])
@pytest.mark.parametrize("sampler", [mc_predict, mc_samples])
def test_bad_inputs_name_the_argument(sampler, kwargs, error, message):
    arguments = {"model": small_dropout_model(), "x": np.ones((2, 3)), **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        sampler(**arguments)


def test_numpy_counts_are_accepted():
    mean, std = mc_predict(small_dropout_model(), np.ones((2, 3)), n_samples=np.int64(4),
                           batch_size=np.int32(64))
    assert mean.shape == std.shape == (2, 10)
