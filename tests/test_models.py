import itertools
import re

import keras
import numpy as np
import pytest

from companion import build_mlp
from companion.lab.models import resolve_activation, resolve_initializer


def dense_kernels(model):
    return {layer.name: layer.kernel.numpy() for layer in model.layers
            if isinstance(layer, keras.layers.Dense)}


def expected_params(depth, width, n_inputs, n_classes):
    if depth == 0:
        return n_inputs * n_classes + n_classes
    return (n_inputs * width + width) + (depth - 1) * (width * width + width) \
        + (width * n_classes + n_classes)


def test_layer_names():
    model = build_mlp(depth=3, width=5)
    assert [layer.name for layer in model.layers] == [
        "flatten", "hidden_1", "hidden_2", "hidden_3", "output"]


@pytest.mark.parametrize("depth, width, example_shape, n_classes", [
    (0, 5, (28, 28), 10),
    (1, 7, (28, 28), 10),
    (2, 100, (28, 28), 10),
    (3, 16, (28, 28), 10),
    (5, 1, (6,), 3),
    (2, 4, (3, 2), 2),
])
def test_count_params_matches_formula(depth, width, example_shape, n_classes):
    model = build_mlp(depth=depth, width=width, example_shape=example_shape, n_classes=n_classes)
    n_inputs = int(np.prod(example_shape))
    assert model.count_params() == expected_params(depth, width, n_inputs, n_classes)


def test_depth_zero_has_only_the_output_layer():
    model = build_mlp(depth=0, width=3)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.name for layer in dense] == ["output"]
    assert tuple(dense[0].kernel.shape) == (784, 10)
    out = np.asarray(model(np.zeros((2, 28, 28), dtype="float32")))
    assert out.shape == (2, 10)


def test_forward_pass_is_a_probability_distribution():
    model = build_mlp(depth=2, width=8, activation="tanh")
    x = np.random.default_rng(0).random((4, 28, 28)).astype("float32")
    probs = np.asarray(model(x))
    assert probs.shape == (4, 10)
    assert np.all(probs > 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_activation_name_and_callable_are_used():
    model = build_mlp(depth=2, width=4, activation="sigmoid", example_shape=(3,), n_classes=2)
    for layer in model.layers[1:-1]:
        assert layer.activation is keras.activations.sigmoid
    model = build_mlp(depth=1, width=4, activation=keras.activations.tanh, example_shape=(3,))
    assert model.get_layer("hidden_1").activation is keras.activations.tanh
    assert model.get_layer("output").activation is keras.activations.softmax


def test_biases_start_at_zero_and_name():
    model = build_mlp(depth=2, width=4, example_shape=(3,), name="my_net")
    assert model.name == "my_net"
    for layer in model.layers[1:]:
        assert np.array_equal(layer.bias.numpy(), np.zeros(layer.units))


def test_glorot_uniform_kernels_within_their_limit():
    model = build_mlp(depth=2, width=50, example_shape=(30,), n_classes=10)
    for kernel in dense_kernels(model).values():
        fan_in, fan_out = kernel.shape
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(kernel).max() <= limit
        assert np.abs(kernel).max() > 0.8 * limit


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2", None])
def test_bad_depth(bad):
    with pytest.raises(ValueError, match="depth") as info:
        build_mlp(depth=bad)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [0, -3, 2.0, False, "8"])
def test_bad_width(bad):
    with pytest.raises(ValueError, match="width") as info:
        build_mlp(width=bad)
    assert repr(bad) in str(info.value)


def test_bad_n_classes():
    with pytest.raises(ValueError, match="n_classes"):
        build_mlp(n_classes=0)


@pytest.mark.parametrize("bad", ["nope", "sigmod", 42])
def test_bad_activation(bad):
    with pytest.raises(ValueError) as info:
        build_mlp(activation=bad)
    message = str(info.value)
    assert repr(bad) in message and "relu" in message


def test_bad_output_activation():
    with pytest.raises(ValueError, match="'softmx'"):
        build_mlp(output_activation="softmx")


@pytest.mark.parametrize("bad", ["nope", "glorot_unifrom", 3.5])
def test_bad_initializer(bad):
    with pytest.raises(ValueError) as info:
        build_mlp(initializer=bad)
    assert repr(bad) in str(info.value)


def test_resolve_helpers():
    assert resolve_activation("relu") is keras.activations.relu
    init = keras.initializers.RandomNormal(stddev=0.3)
    copy = resolve_initializer(init)
    assert isinstance(copy, keras.initializers.RandomNormal) and copy is not init
    assert copy.stddev == 0.3


def _pairwise_distinct(kernels):
    for a, b in itertools.combinations(kernels, 2):
        assert not np.array_equal(a, b)


@pytest.mark.parametrize("initializer", [
    "glorot_uniform",
    "he_normal",
    pytest.param("unseeded-instance", id="unseeded-instance"),
])
def test_hidden_kernels_are_distinct(initializer):
    if initializer == "unseeded-instance":
        initializer = keras.initializers.GlorotUniform()
    model = build_mlp(depth=3, width=8, example_shape=(8,), n_classes=8, initializer=initializer)
    _pairwise_distinct(list(dense_kernels(model).values()))


@pytest.mark.parametrize("make", [
    lambda: keras.initializers.GlorotUniform(seed=3),
    lambda: keras.initializers.RandomNormal(stddev=1.0, seed=5),
], ids=["GlorotUniform(seed=3)", "RandomNormal(seed=5)"])
def test_hidden_kernels_are_distinct_with_seeded_instance(make):
    # regression: a seeded instance used to be copied seed included, so every layer of
    # the same shape got the very same kernel
    model = build_mlp(depth=3, width=8, example_shape=(8,), n_classes=8, initializer=make())
    _pairwise_distinct(list(dense_kernels(model).values()))


def test_hidden_kernels_are_distinct_with_seeded_config_dict():
    config = {"class_name": "GlorotUniform", "config": {"seed": 3}}
    model = build_mlp(depth=3, width=8, example_shape=(8,), n_classes=8, initializer=config)
    _pairwise_distinct(list(dense_kernels(model).values()))


def test_seeded_instance_still_gives_reproducible_models():
    make = lambda: build_mlp(depth=2, width=8, example_shape=(8,),  # noqa: E731
                             initializer=keras.initializers.GlorotUniform(seed=11))
    first, second = dense_kernels(make()), dense_kernels(make())
    for name in first:
        assert np.array_equal(first[name], second[name])


def test_random_normal_std_one():
    model = build_mlp(depth=1, width=256, example_shape=(256,), n_classes=10,
                      initializer=keras.initializers.RandomNormal(stddev=1.0))
    kernel = dense_kernels(model)["hidden_1"]  # 65536 draws: std of the estimate ~0.003
    assert abs(kernel.std() - 1.0) < 0.02
    assert abs(kernel.mean()) < 0.02


def test_batch_norm_placement_layers_and_parameter_counts():
    width, depth = 6, 2
    n_inputs = 784
    after = build_mlp(depth=depth, width=width, batch_norm="after")
    before = build_mlp(depth=depth, width=width, batch_norm="before")
    assert [layer.name for layer in after.layers] == [
        "flatten", "hidden_1", "bn_1", "hidden_2", "bn_2", "output"]
    assert [layer.name for layer in before.layers] == [
        "flatten", "hidden_1", "bn_1", "activation_1", "hidden_2", "bn_2", "activation_2",
        "output"]
    # BN adds 4 parameters per unit (gamma, beta, moving mean, moving variance).
    bn = 4 * width * depth
    assert after.count_params() == expected_params(depth, width, n_inputs, 10) + bn
    # Before the activation, the Dense layers drop their biases: beta replaces them.
    assert before.count_params() == expected_params(depth, width, n_inputs, 10) + bn \
        - width * depth
    assert before.get_layer("hidden_1").bias is None
    assert before.get_layer("hidden_1").activation is keras.activations.linear
    non_trainable = sum(int(np.prod(w.shape)) for w in before.non_trainable_weights)
    assert non_trainable == 2 * width * depth


def test_batch_norm_before_applies_the_activation_after_normalising():
    model = build_mlp(depth=1, width=5, activation="relu", batch_norm="before",
                      example_shape=(3,))
    x = np.random.default_rng(1).normal(size=(7, 3)).astype("float32")
    z = x @ model.get_layer("hidden_1").kernel.numpy()
    bn = model.get_layer("bn_1")
    normalised = (z - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
    expected = np.maximum(bn.gamma.numpy() * normalised + bn.beta.numpy(), 0)
    out = x
    for layer in model.layers[:4]:  # flatten, hidden_1, bn_1, activation_1
        out = layer(out, training=False)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, layer_class", [("dropout", keras.layers.Dropout),
                                               ("alpha", keras.layers.AlphaDropout)])
def test_dropout_follows_every_hidden_block(kind, layer_class):
    model = build_mlp(depth=2, width=4, dropout=0.3, dropout_kind=kind)
    drops = [layer for layer in model.layers if layer.name.startswith("dropout_")]
    assert [layer.name for layer in drops] == ["dropout_1", "dropout_2"]
    assert all(type(layer) is layer_class and layer.rate == 0.3 for layer in drops)
    assert not any(isinstance(layer, keras.layers.Dropout)
                   for layer in build_mlp(depth=2, width=4).layers)


def test_regularizer_and_constraint_are_fresh_per_layer():
    model = build_mlp(depth=2, width=4, kernel_regularizer=keras.regularizers.L2(0.01),
                      kernel_constraint="max_norm")
    dense = [model.get_layer(n) for n in ("hidden_1", "hidden_2", "output")]
    assert all(isinstance(d.kernel_regularizer, keras.regularizers.L2) for d in dense)
    assert all(isinstance(d.kernel_constraint, keras.constraints.MaxNorm) for d in dense)
    assert dense[0].kernel_regularizer is not dense[1].kernel_regularizer
    # The L2 penalty Keras adds is 0.01 * sum(w^2) over the three kernels.
    x = np.zeros((1, 28, 28), dtype="float32")
    model(x)
    expected = sum(0.01 * np.sum(d.kernel.numpy() ** 2) for d in dense)
    np.testing.assert_allclose(float(sum(model.losses)), expected, rtol=1e-5)


@pytest.mark.parametrize("momentum", [0.99, 0.9, 0.0])
def test_bn_momentum_sets_how_much_of_the_old_moving_mean_one_step_keeps(momentum):
    # one training-mode pass: moving_mean = momentum * 0 + (1 - momentum) * batch mean
    model = build_mlp(depth=1, width=4, batch_norm="before", bn_momentum=momentum,
                      example_shape=(3,))
    x = np.random.default_rng(0).normal(2.0, 1.0, size=(16, 3)).astype("float32")
    pre = x @ model.get_layer("hidden_1").kernel.numpy()  # use_bias=False before BN
    model(x, training=True)
    np.testing.assert_allclose(model.get_layer("bn_1").moving_mean.numpy(),
                               (1 - momentum) * pre.mean(axis=0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_norm": "middle"}, "batch_norm 'middle'.*None, 'before', 'after'"),
    ({"dropout": 1.0}, "dropout must be a finite number in \\[0, 1\\), got 1.0"),
    ({"dropout": -0.1}, "got -0.1"),
    ({"dropout": True}, "got True"),
    ({"bn_momentum": 1.0}, "bn_momentum must be a finite number in \\[0, 1\\), got 1.0"),
    ({"bn_momentum": -0.5}, "bn_momentum must be .*got -0.5"),
    ({"dropout_kind": "gaussian"}, "dropout_kind 'gaussian'.*'dropout', 'alpha'"),
    ({"kernel_regularizer": "l3"}, "kernel_regularizer 'l3'.*'l2'"),
    ({"kernel_constraint": "maxx"}, "kernel_constraint 'maxx'.*'max_norm'"),
])
def test_new_options_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_mlp(**kwargs)


@pytest.mark.parametrize("options", [{"dropout": 0.3}, {"dropout": 0.1, "dropout_kind": "alpha"},
                                     {"batch_norm": "after", "dropout": 0.2}])
def test_same_seed_gives_the_same_initial_weights_with_or_without_dropout(options):
    keras.utils.set_random_seed(3)
    plain = dense_kernels(build_mlp(depth=3, width=6, batch_norm=options.get("batch_norm")))
    keras.utils.set_random_seed(3)
    dropped = dense_kernels(build_mlp(depth=3, width=6, **options))
    assert plain.keys() == dropped.keys()
    for name in plain:
        np.testing.assert_array_equal(plain[name], dropped[name])


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("kwargs, error, message", [
    ({"depth": -1}, ValueError, "depth must be an integer >= 0, got -1"),
    ({"width": np.float64(4.0)}, ValueError, "width must be an integer >= 1, got np.float64(4.0)"),
    ({"dropout": float("nan")}, ValueError, "dropout must be a finite number in [0, 1), got nan"),
    ({"dropout": "0.1"}, ValueError, "dropout must be a finite number in [0, 1), got '0.1'"),
    ({"batch_norm": True}, ValueError, "unknown batch_norm True; valid choices"),
    ({"example_shape": (0,)}, ValueError, "example_shape must be a tuple of integers >= 1, got (0,)"),
    ({"example_shape": 8}, ValueError, "example_shape must be a tuple of integers >= 1, got 8"),
    ({"output_activation": "bogus"}, ValueError, "unknown output_activation 'bogus'"),
    ({"name": 3}, TypeError, "name must be a non-empty string or None, got int 3"),
])
def test_bad_inputs_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build_mlp(**kwargs)


def test_numpy_scalars_are_accepted():
    model = build_mlp(depth=np.int32(1), width=np.int64(4), dropout=np.float32(0.25),
                      example_shape=(np.int64(3),))
    assert model.get_layer("dropout_1").rate == 0.25
    from companion.lab.models import build_autoencoder
    autoencoder = build_autoencoder(depth=1, width=np.int64(4), coding_size=np.int32(2),
                                    example_shape=(np.int64(2), 2))
    assert autoencoder.output_shape == (None, 2, 2)
    with pytest.raises(ValueError, match=re.escape("coding_size must be an integer >= 1, got 0")):
        build_autoencoder(coding_size=0)
