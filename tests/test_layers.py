import re

import keras
import numpy as np
import pytest

from companion.tools.layers import MCAlphaDropout, MCDropout, RReLU

X = np.linspace(-3.0, 3.0, 4001).astype(np.float32)
X = X[X != 0]


def test_training_slopes_vary_within_range_and_positives_pass():
    layer = RReLU(lower=0.1, upper=0.4, seed=3)
    y = np.asarray(layer(X, training=True))
    negative = X < 0
    slopes = y[negative] / X[negative]
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.4 + 1e-6
    assert slopes.std() > 0.05  # uniform on [0.1, 0.4]: std 0.3 / sqrt(12) = 0.087
    assert abs(slopes.mean() - 0.25) < 0.01  # 2000 draws: standard error 0.002
    np.testing.assert_array_equal(y[~negative], X[~negative])


def test_training_draws_fresh_slopes_each_call():
    layer = RReLU(seed=0)
    first = np.asarray(layer(X, training=True))
    second = np.asarray(layer(X, training=True))
    assert not np.allclose(first[X < 0], second[X < 0])


def test_inference_uses_exactly_the_mean_slope():
    layer = RReLU(lower=0.125, upper=0.375)
    y = np.asarray(layer(X, training=False))
    expected = np.where(X >= 0, X, 0.25 * X)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(X)), expected, rtol=1e-6)  # default
    assert layer.mean_slope == 0.25


def test_equal_bounds_is_a_leaky_relu_in_both_modes():
    layer = RReLU(lower=0.2, upper=0.2)
    leaky = keras.layers.LeakyReLU(negative_slope=0.2)
    for training in (True, False):
        np.testing.assert_allclose(np.asarray(layer(X, training=training)),
                                   np.asarray(leaky(X)), rtol=1e-6)


def test_fit_uses_training_mode_and_predict_inference_mode():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), RReLU(lower=0.0, upper=1.0, seed=1)])
    x = -np.ones((256, 1), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), -0.5)
    train_out = np.asarray(model(x, training=True))
    assert train_out.std() > 0.2


@pytest.mark.parametrize("lower, upper", [(-0.1, 0.2), (0.3, 0.2), ("a", 0.2), (0.1, None)])
def test_invalid_bounds_are_rejected(lower, upper):
    with pytest.raises(ValueError, match="lower|upper"):
        RReLU(lower=lower, upper=upper)


def test_config_round_trip():
    layer = RReLU(lower=0.05, upper=0.3, seed=7, name="rrelu")
    clone = RReLU.from_config(layer.get_config())
    assert (clone.lower, clone.upper, clone.seed, clone.name) == (0.05, 0.3, 7, "rrelu")


# Keras's saving code (not ours) trips NumPy 2's __array__(copy=...) deprecation.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")
def test_model_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                              RReLU(lower=0.1, upper=0.3, name="rrelu")])
    path = tmp_path / "rrelu.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.get_layer("rrelu")
    assert isinstance(layer, RReLU)
    assert (layer.lower, layer.upper) == (0.1, 0.3)
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


# Keras's saving code (not ours) trips NumPy 2's __array__(copy=...) deprecation.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")
@pytest.mark.parametrize("layer_class", [MCDropout, MCAlphaDropout])
def test_mc_dropout_samples_are_reproducible_after_a_load(layer_class, tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1000,)), layer_class(0.5, name="mc")])
    x = np.ones((4, 1000), dtype=np.float32)
    first = np.asarray(model(x))
    path = tmp_path / "mc.keras"
    model.save(path)
    keras.utils.set_random_seed(1)  # whatever the global state is when loading
    loaded = keras.models.load_model(path)
    # The layers' outputs are elementwise functions of the masks (no sum whose order a
    # kernel could change), so the same masks give the same bits.
    np.testing.assert_array_equal(np.asarray(loaded(x)), first)
    seed = model.get_layer("mc").get_config()["seed"]
    assert isinstance(seed, int) and loaded.get_layer("mc").seed == seed


@pytest.mark.parametrize("layer_class", [MCDropout, MCAlphaDropout])
def test_mc_dropout_seed_comes_from_the_global_seed_or_the_argument(layer_class):
    keras.utils.set_random_seed(3)
    first = layer_class(0.2).seed
    keras.utils.set_random_seed(3)
    assert layer_class(0.2).seed == first
    assert layer_class(0.2, seed=np.int64(7)).get_config()["seed"] == 7
    x = np.ones((2, 500), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(layer_class(0.5, seed=7)(x)),
                                  np.asarray(layer_class(0.5, seed=7)(x)))


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("layer_class", [MCDropout, MCAlphaDropout])
@pytest.mark.parametrize("kwargs, message", [
    ({"rate": float("nan")}, "rate must be a finite number in [0, 1), got nan"),
    ({"rate": 1.0}, "rate must be a finite number in [0, 1), got 1.0"),
    ({"rate": True}, "rate must be a finite number in [0, 1), got True"),
    ({"rate": 0.5, "seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"rate": 0.5, "seed": 2.5}, "seed must be an integer >= 0, got 2.5"),
])
def test_mc_layers_reject_bad_arguments(layer_class, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        layer_class(**kwargs)


def test_rrelu_rejects_infinite_slopes_and_accepts_numpy_ones():
    with pytest.raises(ValueError, match=re.escape("upper must be a finite number in [0, inf), got inf")):
        RReLU(upper=float("inf"))
    layer = RReLU(lower=np.float32(0.25), upper=np.float64(0.5), seed=np.int64(1))
    assert (layer.lower, layer.upper, layer.seed) == (0.25, 0.5, 1)


def _plain_net(seed, batch_norm=False):
    """A plain Keras net of unseeded initializers, built after seeding: the reference."""
    keras.utils.set_random_seed(seed)
    blocks = [keras.Input((6,)), keras.layers.Dense(8, activation="selu",
                                                    kernel_initializer="lecun_normal")]
    if batch_norm:
        blocks.append(keras.layers.BatchNormalization())
    blocks += [keras.layers.Dense(8, activation="relu", kernel_initializer="he_uniform",
                                  bias_initializer="random_normal"),
               keras.layers.Dense(3, activation="softmax")]
    return keras.Sequential(blocks)


def _compiled(net, rate=0.05):
    net.compile(optimizer=keras.optimizers.SGD(rate, momentum=0.9),
                loss="sparse_categorical_crossentropy")
    return net


XS = np.random.default_rng(0).normal(size=(96, 6)).astype(np.float32)
YS = (XS[:, 0] > 0).astype(int) + (XS[:, 1] > 0).astype(int)


def test_reinitialize_draws_the_weights_of_a_fresh_net_and_resets_bn_and_optimizer():
    from companion.tools.layers import reinitialize
    reference = _plain_net(3, batch_norm=True)
    net = _compiled(_plain_net(11, batch_norm=True))
    net.fit(XS, YS, epochs=2, batch_size=16, verbose=0)  # moves weights, BN stats, momentum
    assert int(net.optimizer.iterations) == 12
    assert reinitialize(net, seed=3, learning_rate=0.02) is net
    for mine, fresh in zip(net.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, fresh)  # same draws, bit for bit
    bn = net.layers[1]
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(8))
    np.testing.assert_array_equal(bn.moving_variance.numpy(), np.ones(8))
    for variable in net.optimizer.variables:
        expected = 0.02 if variable is net.optimizer.learning_rate else 0.0
        np.testing.assert_allclose(np.asarray(variable), expected, rtol=1e-7)


def test_training_after_reinitialize_matches_a_fresh_net_without_retracing():
    from companion.tools.layers import reinitialize
    fresh = _compiled(_plain_net(5), rate=0.02)
    fresh.fit(XS, YS, epochs=3, batch_size=16, shuffle=False, verbose=0)
    net = _compiled(_plain_net(8))
    net.fit(XS, YS, epochs=1, batch_size=16, shuffle=False, verbose=0)
    traced = net.train_function
    reinitialize(net, seed=5, learning_rate=0.02)
    net.fit(XS, YS, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert net.train_function is traced  # fit reused the traced step
    # Same start, data order and arithmetic: only float32 rounding could differ, and
    # 18 steps of a 3-layer net amplify a few ulps (1e-7 relative) well below 1e-5.
    for mine, reference in zip(net.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_training_after_reinitialize_shuffles_as_a_fresh_net():
    """The data order follows TensorFlow's global seed, which reinitialize sets."""
    from companion.tools.layers import reinitialize
    fresh = _compiled(_plain_net(6), rate=0.02)
    fresh.fit(XS, YS, epochs=3, batch_size=16, verbose=0)  # shuffled
    net = _compiled(_plain_net(9))
    net.fit(XS, YS, epochs=1, batch_size=16, verbose=0)
    reinitialize(net, seed=6, learning_rate=0.02)
    net.fit(XS, YS, epochs=3, batch_size=16, verbose=0)
    for mine, reference in zip(net.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    # another order ends elsewhere: the comparison above can tell orders apart
    other = _compiled(_plain_net(6), rate=0.02)
    keras.utils.set_random_seed(7)
    other.fit(XS, YS, epochs=3, batch_size=16, verbose=0)
    assert np.abs(other.get_weights()[0] - fresh.get_weights()[0]).max() > 1e-4


def test_reinitialize_seeds_tensorflow_but_keeps_its_compiled_functions():
    """As tf.random.set_seed seeds, without discarding TensorFlow's compiled functions.

    A compiled function holding a stateful random operation is the visible witness:
    tf.random.set_seed discards its instantiation, so its sequence restarts;
    reinitialize keeps it, as it keeps a model's compiled train step, so it goes on.
    """
    import tensorflow as tf
    from companion.tools.layers import reinitialize
    net = _compiled(_plain_net(1))
    draw = tf.function(lambda: tf.random.uniform([3], seed=1))
    tf.random.set_seed(4)
    expected = [draw().numpy() for _ in range(3)]
    tf.random.set_seed(4)
    np.testing.assert_array_equal(draw().numpy(), expected[0])  # set_seed: restarted
    reinitialize(net, seed=4)
    np.testing.assert_array_equal(draw().numpy(), expected[1])  # reinitialize: goes on
    reinitialize(net, seed=4)
    np.testing.assert_array_equal(draw().numpy(), expected[2])
    tf.random.set_seed(4)
    unseeded = tf.random.uniform([3]).numpy()  # its operation seed comes from the global one
    tf.random.set_seed(5)  # another global seed and sequence of operation seeds
    reinitialize(net, seed=4)  # back to seed 4's
    np.testing.assert_array_equal(tf.random.uniform([3]).numpy(), unseeded)


def test_keeping_compiled_changes_what_tensorflow_seeding_changes():
    """The shadow sets exactly the context state that TensorFlow's own seeding sets.

    Should a TensorFlow version add state to its seeding, this fails rather than the
    shadow silently skipping it.
    """
    from tensorflow.python.eager import context as eager_context
    from companion.tools import layers
    context = eager_context.context()

    def changed_by(seeding):
        keras.utils.set_random_seed(1)
        before = {name: (value, repr(value)) for name, value in vars(context).items()}
        seeding(8)
        return {name for name, value in vars(context).items()
                if name not in before or before[name][0] is not value
                or before[name][1] != repr(value)}, context._seed, context._rng.getstate()

    names, seed, state = changed_by(keras.utils.set_random_seed)
    assert {"_seed", "_rng"} <= names
    assert changed_by(layers._set_random_seed_keeping_compiled) == (names, seed, state)
    assert "_set_global_seed" not in vars(context)  # the shadow is gone


def test_keeping_compiled_restores_the_context_when_seeding_fails(monkeypatch):
    from tensorflow.python.eager import context as eager_context
    from companion.tools import layers

    def failing(seed):
        raise RuntimeError("no seed today")

    monkeypatch.setattr(keras.utils, "set_random_seed", failing)
    with pytest.raises(RuntimeError, match="no seed today"):
        layers._set_random_seed_keeping_compiled(3)
    assert "_set_global_seed" not in vars(eager_context.context())


def test_reinitialize_falls_back_to_keras_where_tensorflow_differs(monkeypatch):
    from tensorflow.python.eager import context as eager_context
    from companion.tools import layers
    seeded = []
    monkeypatch.setattr(eager_context, "context", lambda: object())  # no _rng, no method
    monkeypatch.setattr(keras.utils, "set_random_seed", seeded.append)
    layers._set_random_seed_keeping_compiled(12)
    assert seeded == [12]


def _one_cycle_nadam(steps):
    """Nadam under a 1cycle schedule with its momentum cycled: a state that must restart."""
    from companion import OneCycleSchedule, cycle_momentum
    schedule = OneCycleSchedule(0.01, total_steps=steps)
    return cycle_momentum(keras.optimizers.Nadam(schedule), schedule)


def test_reinitialize_restarts_a_schedule_and_nadam_like_a_fresh_optimizer():
    from companion.tools.layers import reinitialize
    steps = 3 * len(XS) // 16
    fresh = _plain_net(5, batch_norm=True)
    fresh.compile(optimizer=_one_cycle_nadam(steps), loss="sparse_categorical_crossentropy")
    fresh.fit(XS, YS, epochs=3, batch_size=16, shuffle=False, verbose=0)
    net = _plain_net(8, batch_norm=True)
    net.compile(optimizer=_one_cycle_nadam(steps), loss="sparse_categorical_crossentropy")
    net.fit(XS, YS, epochs=2, batch_size=16, shuffle=False, verbose=0)
    traced = net.train_function
    reinitialize(net, seed=5)
    # the state of a freshly built Nadam: step 0, zero moments, momentum product 1
    assert int(net.optimizer.iterations) == 0
    assert sorted({float(np.max(np.abs(v))) for v in net.optimizer.variables}) == [0.0, 1.0]
    net.fit(XS, YS, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert net.train_function is traced
    # the rate and beta_1 of each step follow the schedule from its first step again,
    # so the run is the fresh one's up to float32 rounding (tolerance as above)
    for mine, reference in zip(net.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_reinitialize_restarts_dropout_generators_from_the_seed_alone():
    from companion.tools.layers import reinitialize
    net = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8),
                            keras.layers.Dropout(0.5), keras.layers.Dense(3, "softmax"),
                            keras.layers.Dropout(0.2, seed=7)])
    _compiled(net)

    def states():
        return [g.state.numpy().tolist() for layer in net.layers
                for g in getattr(layer, "_seed_generators", ())]

    reinitialize(net, seed=1)
    first = states()
    net.fit(XS, YS, epochs=1, batch_size=16, verbose=0)  # advances the generators
    assert states() != first
    reinitialize(net, seed=1)
    assert states() == first  # the seed alone decides the masks
    assert first[1] == [7, 0]  # a seeded generator restarts from its own seed
    reinitialize(net, seed=2)
    assert states()[0] != first[0] and states()[1] == [7, 0]


def test_reinitialize_equals_a_fresh_build_with_dropout_generators_too():
    from companion.tools.layers import reinitialize

    def net(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8),
                                 keras.layers.Dropout(0.5), keras.layers.Dense(3, "softmax")])

    def states(model):
        return [g.state.numpy().tolist() for layer in model.layers
                for g in getattr(layer, "_seed_generators", ())]

    reference = net(3)
    trained = _compiled(net(9))
    trained.fit(XS, YS, epochs=1, batch_size=16, verbose=0)
    reinitialize(trained, seed=3)
    assert states(trained) == states(reference)  # as at construction, in layer order
    for mine, fresh in zip(trained.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, fresh)


def test_reinitialize_names_an_unserialisable_schedule():
    from companion.tools.layers import reinitialize

    class Halving(keras.optimizers.schedules.LearningRateSchedule):  # no get_config
        def __call__(self, step):
            return 0.1 * 0.5 ** keras.ops.cast(step, "float32")

    net = _plain_net(0)
    net.compile(optimizer=keras.optimizers.SGD(Halving()), loss="mse")
    with pytest.raises(ValueError, match="a schedule needs get_config"):
        reinitialize(net, seed=0)


def test_reinitialize_rejects_bad_input():
    from companion.tools.layers import reinitialize
    net = _plain_net(0)
    with pytest.raises(ValueError, match="compiled"):
        reinitialize(net, seed=0)
    _compiled(net)
    with pytest.raises(TypeError, match="keras.Model"):
        reinitialize("net", seed=0)
    with pytest.raises(ValueError, match="seed"):
        reinitialize(net, seed=-1)
    with pytest.raises(ValueError, match="learning_rate"):
        reinitialize(net, seed=0, learning_rate=0.0)
    scheduled = _plain_net(0)
    scheduled.compile(optimizer=keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)), loss="mse")
    with pytest.raises(ValueError, match=re.escape(
            "learning_rate=0.5 cannot replace this optimizer's schedule (ExponentialDecay)")):
        reinitialize(scheduled, seed=0, learning_rate=0.5)
    assert reinitialize(scheduled, seed=0) is scheduled  # a schedule restarts
    called = _plain_net(0)
    called.compile(optimizer=keras.optimizers.SGD(lambda: 0.1), loss="mse")
    with pytest.raises(ValueError, match="this one's is function, which a restart cannot"):
        reinitialize(called, seed=0)
    odd = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(5, 2)])
    odd.compile(optimizer="sgd", loss="mse")
    odd.layers[0].embeddings_initializer = None
    with pytest.raises(TypeError, match="embeddings_initializer"):
        reinitialize(odd, seed=0)
