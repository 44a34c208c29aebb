"""1cycle, momentum cycling, schedule evaluation and the learning-rate range test.

Every expectation is computed independently: the 1cycle formula and the SGD
and Adam update rules in NumPy, per-batch losses from the model's predictions.
"""

import math
import pickle
import re
import types

import keras
import numpy as np
import pandas as pd
import pytest

import companion
from companion.tools import schedules
from companion.tools.tracing import build_for_fit
from companion.tools.schedules import OneCycleSchedule, cycle_momentum, lr_range_test, schedule_values


def phases(t, total, fraction, start, top, end, annealing="cosine"):
    """start -> top over the first ``fraction`` of ``total`` steps, then top -> end."""
    t1 = fraction * total
    if t <= t1:
        a, b, p = start, top, t / t1
    else:
        a, b, p = top, end, min((t - t1) / (total - t1), 1.0)
    if annealing == "cosine":
        return b + (a - b) * (1 + math.cos(math.pi * p)) / 2
    return a + (b - a) * p


def one_cycle_reference(t, peak, total, fraction=0.3, initial_divisor=25.0, final_divisor=1e4,
                        annealing="cosine"):
    """The 1cycle learning rate at step ``t``, written out from its definition."""
    initial = peak / initial_divisor
    return phases(t, total, fraction, initial, peak, initial / final_divisor, annealing)


# --- OneCycleSchedule ------------------------------------------------------------------------

@pytest.mark.parametrize("annealing", ["cosine", "linear"])
def test_one_cycle_phase_boundaries(annealing):
    schedule = OneCycleSchedule(0.5, total_steps=1000, annealing=annealing)
    value = lambda t: float(schedule(t))  # noqa: E731
    assert value(0) == pytest.approx(0.5 / 25, rel=1e-6)
    assert value(300) == pytest.approx(0.5, rel=1e-6)  # the peak, at warmup_fraction * T
    assert value(1000) == pytest.approx(0.5 / 25 / 1e4, rel=1e-4)
    assert value(5000) == pytest.approx(0.5 / 25 / 1e4, rel=1e-4)  # stays there
    assert float(schedule.momentum(0)) == pytest.approx(0.95)
    assert float(schedule.momentum(300)) == pytest.approx(0.85)
    assert float(schedule.momentum(1000)) == pytest.approx(0.95)
    assert schedule.initial_learning_rate == pytest.approx(0.02)
    assert schedule.final_learning_rate == pytest.approx(2e-6)
    assert schedule.warmup_steps == pytest.approx(300)


@pytest.mark.parametrize("annealing", ["cosine", "linear"])
def test_one_cycle_matches_the_formula_everywhere(annealing):
    schedule = OneCycleSchedule(0.2, total_steps=97, warmup_fraction=0.4, initial_divisor=10,
                                final_divisor=100, max_momentum=0.9, min_momentum=0.8,
                                annealing=annealing)
    steps = np.arange(120)
    rates = schedule_values(schedule, steps)
    momenta = schedule_values(schedule.momentum, steps)
    for t in steps:
        assert rates[t] == pytest.approx(
            one_cycle_reference(t, 0.2, 97, 0.4, 10, 100, annealing), rel=1e-5, abs=1e-9)
        assert momenta[t] == pytest.approx(
            phases(t, 97, 0.4, 0.9, 0.8, 0.9, annealing),
            abs=1e-6)


def test_one_cycle_midpoints_distinguish_cosine_from_linear():
    cosine = OneCycleSchedule(1.0, total_steps=100, warmup_fraction=0.5, initial_divisor=2)
    linear = OneCycleSchedule(1.0, total_steps=100, warmup_fraction=0.5, initial_divisor=2,
                              annealing="linear")
    # Halfway through the warm-up both are halfway; a quarter of the way they differ.
    assert float(cosine(25)) == pytest.approx(0.75) == float(linear(25))
    assert float(linear(12.5)) == pytest.approx(0.625)
    assert float(cosine(12.5)) == pytest.approx(0.5 + 0.5 * (1 - math.cos(math.pi / 4)) / 2)


def test_one_cycle_config_round_trip():
    schedule = OneCycleSchedule(0.3, total_steps=500, warmup_fraction=0.25, annealing="linear",
                                min_momentum=0.8)
    config = keras.optimizers.schedules.serialize(schedule)
    assert config["registered_name"] == "companion>OneCycleSchedule"
    restored = keras.optimizers.schedules.deserialize(config)
    assert isinstance(restored, OneCycleSchedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(schedule_values(restored, 600), schedule_values(schedule, 600))


# Keras's saving code (not ours) trips NumPy 2's __array__(copy=...) deprecation.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")
def test_model_with_one_cycle_saves_and_loads(tmp_path, make_data):
    data = make_data(n_train=64)
    keras.utils.set_random_seed(0)
    model = companion.build_mlp(depth=1, width=8, example_shape=(8,), n_classes=3)
    schedule = OneCycleSchedule(0.1, total_steps=40)
    optimizer = cycle_momentum(keras.optimizers.SGD(schedule, momentum=0.9), schedule)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "one_cycle.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    config = loaded.optimizer.get_config()
    restored = keras.optimizers.schedules.deserialize(config["learning_rate"])
    assert isinstance(restored, OneCycleSchedule)
    assert restored.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations) == 4
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(schedule(4)))
    # A saved optimizer records the momentum's starting value and its schedule ...
    assert config["momentum"] == 0.95
    assert type(loaded.optimizer).__name__ == "CycledSGD"
    assert isinstance(loaded.optimizer, keras.optimizers.SGD)
    # ... and the loaded one cycles on its own, at its own step counter.
    assert float(loaded.optimizer.momentum.tensor()) == pytest.approx(float(schedule.momentum(4)))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, bad", [
    ({"max_learning_rate": 0.0}, "max_learning_rate"),
    ({"total_steps": 1}, "total_steps"),
    ({"total_steps": 10.5}, "total_steps"),
    ({"warmup_fraction": 1.0}, "warmup_fraction"),
    ({"initial_divisor": -1}, "initial_divisor"),
    ({"max_momentum": 1.0}, "max_momentum"),
    ({"min_momentum": 0.99}, "min_momentum"),
    ({"annealing": "exp"}, "annealing"),
])
def test_one_cycle_rejects_bad_arguments(kwargs, bad):
    arguments = {"max_learning_rate": 0.1, "total_steps": 100, **kwargs}
    with pytest.raises(ValueError, match=bad):
        OneCycleSchedule(**arguments)


# --- momentum cycling ------------------------------------------------------------------------

X = np.random.default_rng(0).normal(size=(96, 5)).astype(np.float32)
Y = (X @ np.arange(1, 6, dtype=np.float32)[:, None] / 5
     + np.random.default_rng(1).normal(size=(96, 1)).astype(np.float32))
BATCH, STEPS = 8, 12
CYCLE = OneCycleSchedule(0.05, total_steps=STEPS, max_momentum=0.95, min_momentum=0.5)


def linear_model():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])


def fit_linear(optimizer, steps_per_execution=4):
    model = linear_model()
    start = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=steps_per_execution)
    model.fit(X, Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return start, model.get_weights()


def mse_gradient(w, b, t):
    x, y = X[t * BATCH:(t + 1) * BATCH].astype(np.float64), Y[t * BATCH:(t + 1) * BATCH]
    error = x @ w + b - y
    return 2 * x.T @ error / len(x), 2 * error.sum(axis=0) / len(x)


def numpy_sgd(start, momentum):
    """Keras's SGD rule, v = mu v - lr g; w += v, with mu = momentum(t)."""
    w, b = (p.astype(np.float64) for p in start)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for t in range(STEPS):
        gw, gb = mse_gradient(w, b, t)
        lr, mu = one_cycle_reference(t, 0.05, STEPS), momentum(t)
        vw, vb = mu * vw - lr * gw, mu * vb - lr * gb
        w, b = w + vw, b + vb
    return w, b


def numpy_adam(start, beta_1, beta_2=0.999, epsilon=1e-7):
    """Keras's Adam rule with beta_1 = beta_1(t) at step t (from 0)."""
    params = [p.astype(np.float64) for p in start]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(STEPS):
        grads = mse_gradient(*params, t)
        lr, b1 = one_cycle_reference(t, 0.05, STEPS), beta_1(t)
        alpha = lr * math.sqrt(1 - beta_2 ** (t + 1)) / (1 - b1 ** (t + 1))
        for i, g in enumerate(grads):
            m[i] += (g - m[i]) * (1 - b1)
            v[i] += (g * g - v[i]) * (1 - beta_2)
            params[i] = params[i] - m[i] * alpha / (np.sqrt(v[i]) + epsilon)
    return params


def cycled(t):
    return phases(t, STEPS, 0.3, 0.95, 0.5, 0.95)


@pytest.mark.parametrize("steps_per_execution", [1, 4, 32])
def test_cycled_sgd_matches_numpy_for_any_steps_per_execution(steps_per_execution):
    optimizer = cycle_momentum(keras.optimizers.SGD(CYCLE, momentum=0.9), CYCLE)
    start, (w, b) = fit_linear(optimizer, steps_per_execution)
    expected_w, expected_b = numpy_sgd(start, cycled)
    np.testing.assert_allclose(w, expected_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b, expected_b, rtol=1e-4, atol=1e-5)
    # The cycle matters: a constant momentum ends somewhere else.
    constant_w, _ = numpy_sgd(start, lambda t: 0.9)
    assert np.abs(constant_w - w).max() > 100 * 1e-5


def test_cycled_adam_matches_numpy():
    optimizer = cycle_momentum(keras.optimizers.Adam(CYCLE), CYCLE)
    start, weights = fit_linear(optimizer, steps_per_execution=4)
    for got, expected in zip(weights, numpy_adam(start, cycled)):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    constant = numpy_adam(start, lambda t: 0.9)
    assert np.abs(constant[0] - weights[0]).max() > 1e-3


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", {"momentum": 0.9, "nesterov": True}), ("RMSprop", {"momentum": 0.9}),
    ("AdamW", {}), ("Nadam", {}), ("Adamax", {}), ("Lion", {}), ("Lamb", {}),
])
def test_cycled_optimizers_match_hand_set_hyperparameters(name, kwargs):
    """Compiled, 4 steps per execution, against eager steps with the value set by hand."""
    cls = getattr(keras.optimizers, name)
    _, weights = fit_linear(cycle_momentum(cls(CYCLE, **kwargs), CYCLE))
    model = linear_model()
    reference = cls(0.1, **kwargs)
    attribute = "beta_1" if hasattr(reference, "beta_1") else "momentum"
    for t in range(STEPS):
        reference.learning_rate = one_cycle_reference(t, 0.05, STEPS)
        setattr(reference, attribute, cycled(t))
        x, y = X[t * BATCH:(t + 1) * BATCH], Y[t * BATCH:(t + 1) * BATCH]
        with companion._quiet.tf.GradientTape() as tape:
            loss = keras.ops.mean((model(x) - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        reference.apply(grads, model.trainable_variables)
    for got, expected in zip(weights, model.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def adam_steps_in_one_graph(optimizer, steps_per_call):
    """Train the linear model with ``steps_per_call`` Adam updates unrolled in each traced call."""
    model = linear_model()
    start = [w.copy() for w in model.get_weights()]
    optimizer.build(model.trainable_variables)

    tf = companion._quiet.tf

    @tf.function
    def unrolled(t0):
        for i in range(steps_per_call):  # a Python loop: the updates share one graph
            rows = tf.range(BATCH) + (t0 + i) * BATCH
            x, y = tf.gather(X, rows), tf.gather(Y, rows)
            with tf.GradientTape() as tape:
                loss = keras.ops.mean((model(x) - y) ** 2)
            optimizer.apply(tape.gradient(loss, model.trainable_variables),
                            model.trainable_variables)

    for t0 in range(0, STEPS, steps_per_call):
        unrolled(tf.constant(t0))
    return start, model.get_weights()


def test_cycled_momentum_advances_between_updates_in_one_graph():
    """Each apply evaluates the schedule afresh, even two in one traced function."""
    optimizer = cycle_momentum(keras.optimizers.Adam(CYCLE), CYCLE)
    start, weights = adam_steps_in_one_graph(optimizer, steps_per_call=3)
    for got, expected in zip(weights, numpy_adam(start, cycled)):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    # what a value shared across the three updates would give instead
    stale = numpy_adam(start, lambda t: cycled(t - t % 3))
    assert np.abs(stale[0] - weights[0]).max() > 1e-4


def test_shared_momentum_is_one_tensor_per_graph_and_block():
    """Shared within a graph and within the block only; a tf.cond branch gets its own."""
    tf = companion._quiet.tf
    optimizer = cycle_momentum(keras.optimizers.SGD(CYCLE, momentum=0.9), CYCLE)
    momentum = optimizer.momentum
    seen = {}

    @tf.function
    def traced(flag):
        with momentum._one_value_per_step():
            branch = tf.cond(flag, lambda: momentum.tensor() * 1.0,  # evaluated in each
                             lambda: momentum.tensor() * 2.0)        # branch's own graph
            outer = momentum.tensor()  # the outer graph's own, not a branch's
            seen["shared"] = momentum.tensor() is outer
        seen["outside"] = momentum.tensor() is not outer  # evaluated afresh
        return outer + branch

    optimizer.iterations.assign(3)
    assert float(traced(tf.constant(True))) == pytest.approx(2 * cycled(3), rel=1e-6)
    assert seen == {"shared": True, "outside": True}


def test_cycled_optimizer_trains_with_a_plain_momentum_too():
    """A momentum set back to a number, or a cycled class built directly, still trains."""
    reset = cycle_momentum(keras.optimizers.Adam(CYCLE), CYCLE)
    reset.beta_1 = 0.9
    direct = schedules.cycled_class(keras.optimizers.Adam)(CYCLE)
    for optimizer in (reset, direct):
        start, weights = fit_linear(optimizer)
        for got, expected in zip(weights, numpy_adam(start, lambda t: 0.9)):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


class CountingCycle(OneCycleSchedule):
    """A 1cycle schedule that counts how often its momentum is evaluated."""

    evaluations = 0

    def momentum(self, step):
        CountingCycle.evaluations += 1
        return super().momentum(step)


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_cycled_momentum_is_evaluated_once_per_traced_step(name):
    """Not once per use: Adam uses beta_1 twice per variable, SGD momentum once."""
    schedule = CountingCycle(0.05, total_steps=STEPS)
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                              keras.layers.Dense(4), keras.layers.Dense(1)])  # 6 variables
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    optimizer = cycle_momentum(getattr(keras.optimizers, name)(schedule, **kwargs), schedule)
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=4)
    build_for_fit(model, X, Y)  # so that fit traces its step once, not twice
    CountingCycle.evaluations = 0
    model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert CountingCycle.evaluations == 1  # one trace of the step, one evaluation in it
    # Run eagerly, each use is evaluated at the current step, as before.
    model.compile(optimizer=optimizer, loss="mse", run_eagerly=True)
    CountingCycle.evaluations = 0
    model.fit(X[:BATCH], Y[:BATCH], batch_size=BATCH, epochs=1, verbose=0)
    assert CountingCycle.evaluations == (12 if name == "Adam" else 6)


def test_scheduled_hyperparameter_is_a_number_outside_the_step():
    optimizer = cycle_momentum(keras.optimizers.SGD(CYCLE, momentum=0.9), CYCLE)
    momentum = optimizer.momentum
    assert isinstance(momentum, float) and momentum == 0.95
    assert pickle.loads(pickle.dumps(momentum)) == 0.95
    assert type(pickle.loads(pickle.dumps(momentum))) is float
    optimizer.iterations.assign(3)
    assert float(momentum.tensor()) == pytest.approx(cycled(3), abs=1e-6)
    assert float(1 - momentum) == pytest.approx(1 - cycled(3), abs=1e-6)


def test_cycle_momentum_rejects_what_it_cannot_cycle():
    with pytest.raises(ValueError, match="Adagrad has no momentum"):
        cycle_momentum(keras.optimizers.Adagrad(), CYCLE)
    with pytest.raises(TypeError, match="schedule must have a momentum"):
        cycle_momentum(keras.optimizers.SGD(), keras.optimizers.schedules.ExponentialDecay(
            0.1, 10, 0.5))
    built = keras.optimizers.SGD(momentum=0.0)
    built.build(linear_model().trainable_variables)
    with pytest.raises(ValueError, match="momentum=0"):
        cycle_momentum(built, CYCLE)
    with pytest.raises(TypeError, match="optimizer must be a keras.optimizers.Optimizer"):
        cycle_momentum("sgd", CYCLE)


# --- schedule_values -------------------------------------------------------------------------

def test_schedule_values_of_keras_schedules():
    schedules_ = keras.optimizers.schedules
    steps = np.arange(0, 400, 7)
    np.testing.assert_allclose(
        schedule_values(schedules_.InverseTimeDecay(0.1, 50, 2.0), steps),
        0.1 / (1 + 2.0 * steps / 50), rtol=1e-6)
    np.testing.assert_allclose(
        schedule_values(schedules_.ExponentialDecay(0.1, 100, 0.5), steps),
        0.1 * 0.5 ** (steps / 100), rtol=1e-5)
    piecewise = schedule_values(schedules_.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1]),
                                steps)
    np.testing.assert_allclose(piecewise, np.select([steps <= 100, steps <= 200], [1.0, 0.5],
                                                    0.1), rtol=1e-7)
    # CosineDecay with warm-up cannot take a vector of steps: evaluated one by one.
    cosine = schedules_.CosineDecay(0.0, 300, warmup_target=0.2, warmup_steps=100)
    expected = np.where(steps < 100, 0.2 * steps / 100,
                        0.2 * 0.5 * (1 + np.cos(np.pi * np.minimum(steps - 100, 300) / 300)))
    np.testing.assert_allclose(schedule_values(cosine, steps), expected, atol=1e-7)
    assert schedule_values(lambda step: 2.0 * step, 3).tolist() == [0.0, 2.0, 4.0]


def test_schedule_values_rejects_bad_input():
    with pytest.raises(TypeError, match="callable"):
        schedule_values(0.1, 10)
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        schedule_values(CYCLE, 0)
    with pytest.raises(ValueError, match="steps must have 1 dimension"):
        schedule_values(CYCLE, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="integers >= 0"):
        schedule_values(CYCLE, [0.5, 1.5])


# --- the range test --------------------------------------------------------------------------

def small_model(seed=0):
    keras.utils.set_random_seed(seed)
    return companion.build_mlp(depth=1, width=16, example_shape=(8,), n_classes=3)


def test_smooth_is_a_centred_moving_average():
    values = np.random.default_rng(0).normal(size=23)
    expected = [values[max(i - 2, 0):i + 3].mean() for i in range(23)]
    np.testing.assert_allclose(schedules.smooth(values, 5), expected)


def test_range_test_records_each_batch_loss(make_data):
    data = make_data(n_train=320)
    model = small_model()
    result = lr_range_test(model, data, min_learning_rate=1e-12, max_learning_rate=2e-12,
                           steps=10, batch_size=32, seed=5)
    # With rates of 1e-12 the weights do not move: each batch's loss is computable afterwards.
    order = np.random.default_rng(5).permutation(320)
    probabilities = model.predict(data.x_train[order], verbose=0).astype(np.float64)
    per_example = -np.log(probabilities[np.arange(320), data.y_train[order]])
    expected = per_example.reshape(10, 32).mean(axis=1)
    np.testing.assert_allclose(result.history["loss"], expected, rtol=1e-4)
    running_mean = np.cumsum(expected) / np.arange(1, 11)
    assert np.abs(result.history["loss"] - running_mean).max() > 10 * 1e-4 * expected.max()
    np.testing.assert_allclose(result.history["learning_rate"],
                               1e-12 * 2.0 ** (np.arange(10) / 9), rtol=1e-5)
    assert result.steps == 10 and not result.stopped_early


def test_range_test_restores_weights_and_optimizer_state(make_data):
    data = make_data(n_train=256)
    model = small_model()
    optimizer = keras.optimizers.Adam(0.01)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, batch_size=32, epochs=1, verbose=0)  # state != 0
    weights = [w.numpy().copy() for w in model.weights]
    state = [v.numpy().copy() for v in optimizer.variables]
    assert int(optimizer.iterations) == 8
    result = lr_range_test(model, data, optimizer=optimizer, min_learning_rate=1e-3,
                           max_learning_rate=1e3, steps=40)
    assert result.steps > 5
    for before, after in zip(weights, model.weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert len(state) == len(optimizer.variables)
    for before, after in zip(state, optimizer.variables):
        np.testing.assert_array_equal(before, after.numpy())
    assert int(optimizer.iterations) == 8
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_range_test_with_a_fresh_optimizer_leaves_it_at_step_zero(make_data):
    data = make_data(n_train=256)
    model = small_model()
    weights = [w.numpy().copy() for w in model.weights]
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
    lr_range_test(model, data, optimizer=optimizer, steps=20)
    assert int(optimizer.iterations) == 0
    assert all(not np.any(v.numpy()) for v in optimizer.variables if "momentum" in v.path)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
    for before, after in zip(weights, model.weights):
        np.testing.assert_array_equal(before, after.numpy())


def test_range_test_stops_when_the_loss_explodes(make_data):
    data = make_data(n_train=256)
    result = lr_range_test(small_model(), data, min_learning_rate=1e-3, max_learning_rate=1e6,
                           steps=100)
    assert result.stopped_early
    assert result.steps < 100 and result.planned_steps == 100
    history = result.history
    # The suggestion rule: a tenth of the rate at the smoothed loss's minimum.
    finite = history[np.isfinite(history["loss"])]
    smoothed = schedules.smooth(finite["loss"].to_numpy(), 5)
    best = finite["learning_rate"].iloc[int(np.argmin(smoothed))]
    assert result.min_loss_rate == pytest.approx(best)
    assert result.suggestion == pytest.approx(best / 10)
    assert history["learning_rate"].iloc[0] <= result.steepest_rate <= result.min_loss_rate


def bias_corrected_average(losses, beta=0.9):
    values = np.asarray(losses, dtype=np.float64)
    raw = np.zeros(len(values))
    average = 0.0
    for i, value in enumerate(values):
        average = beta * average + (1 - beta) * value
        raw[i] = average / (1 - beta ** (i + 1))
    return raw


def feed(losses):
    """Hand the range test's callback Keras's running means of ``losses``."""
    callback = schedules._RangeTestCallback(np.ones(len(losses)), divergence=4.0)
    model = small_model()
    callback.set_model(model)
    model.stop_training = False
    means = np.cumsum(losses) / np.arange(1, len(losses) + 1)
    for batch, mean in enumerate(means):
        callback.on_train_batch_end(batch, {"loss": float(mean)})
        if model.stop_training:
            return callback, batch
    return callback, None


def test_range_test_stop_rules():
    # A loss that falls to a third and climbs back: stopped once above its start.
    losses = np.concatenate([np.full(5, 2.3), np.linspace(2.3, 0.8, 20),
                             np.full(10, 0.8), np.linspace(0.8, 3.0, 30)])
    callback, stop = feed(losses)
    np.testing.assert_allclose(callback.losses, losses[:stop + 1], atol=1e-9)
    average = bias_corrected_average(losses)
    expected = int(np.argmax((np.minimum.accumulate(average) < average[0] / 2)
                             & (average > average[0])))
    assert stop == expected and callback.stopped_early
    # A loss that never halves may drift above its start without stopping ...
    _, stop = feed(np.concatenate([np.full(10, 2.3), np.linspace(2.0, 2.6, 30)]))
    assert stop is None
    # ... but four times its best average stops it, and so does a non-finite loss.
    explosion = np.concatenate([np.full(10, 1.0), np.linspace(1.0, 20.0, 30)])
    _, stop = feed(explosion)
    average = bias_corrected_average(explosion)
    assert stop == int(np.argmax(average > 4 * np.minimum.accumulate(average)))
    _, stop = feed([1.0, 1.0, np.inf, 1.0])
    assert stop == 2


def test_range_test_lowers_the_loss_of_a_learnable_problem(make_data):
    data = make_data(n_train=512)
    result = lr_range_test(small_model(), data, min_learning_rate=1e-4, max_learning_rate=100.0,
                           steps=60, batch_size=16, seed=0)
    smoothed = result.history["smoothed"]
    assert smoothed.min() < 0.5 * smoothed.iloc[0]
    assert 1e-4 < result.suggestion < result.min_loss_rate < 100.0


def test_range_test_rejects_bad_arguments(make_data):
    data = make_data(n_train=64)
    model = small_model()
    with pytest.raises(ValueError, match="float learning rate"):
        lr_range_test(model, data, optimizer=keras.optimizers.SGD(CYCLE))
    with pytest.raises(ValueError, match="below max_learning_rate"):
        lr_range_test(model, data, min_learning_rate=1.0, max_learning_rate=0.1)
    with pytest.raises(ValueError, match="steps"):
        lr_range_test(model, data, steps=5)
    with pytest.raises(ValueError, match="unknown optimizer"):
        lr_range_test(model, data, optimizer="sgdd")
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="not built"):
        lr_range_test(unbuilt, data)


def test_range_test_result_steepest_rate_on_a_known_curve():
    rates = np.logspace(-4, 0, 41)
    smoothed = 2.0 - np.tanh(3 * (np.log10(rates) + 2))  # falls fastest at 1e-2
    history = pd.DataFrame({"learning_rate": rates, "loss": smoothed, "smoothed": smoothed})
    result = schedules.RangeTestResult(history=history, min_loss_rate=1.0, suggestion=0.1,
                                       stopped_early=False, planned_steps=41)
    assert result.steepest_rate == pytest.approx(1e-2)
    assert result.steps == 41


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: OneCycleSchedule(float("inf"), total_steps=100), ValueError,
     "max_learning_rate must be a finite number in (0, inf), got inf"),
    (lambda: OneCycleSchedule(0.1, total_steps=True), ValueError,
     "total_steps must be an integer >= 2, got True"),
    (lambda: OneCycleSchedule(0.1, 100, warmup_fraction=float("nan")), ValueError,
     "warmup_fraction must be a finite number in (0, 1), got nan"),
    (lambda: OneCycleSchedule(0.1, 100, annealing="step"), ValueError,
     "unknown annealing 'step'; valid choices: ['cosine', 'linear']"),
    (lambda: schedule_values(OneCycleSchedule(0.1, 100), "abc"), TypeError,
     "steps must be an array of numbers, got the string 'abc'"),
    (lambda: lr_range_test("mlp", None), TypeError, "model must be a Keras model, got str"),
    (lambda: lr_range_test(small_model(), "data"), TypeError,
     "data must have x_train, y_train (a data set); got str"),
    (lambda: lr_range_test(small_model(), SMALL_DATA, max_learning_rate=float("inf")),
     ValueError, "max_learning_rate must be a finite number in (0, inf), got inf"),
    (lambda: lr_range_test(small_model(), SMALL_DATA, divergence=1.0), ValueError,
     "divergence must be a finite number in (1, inf), got 1.0"),
    (lambda: lr_range_test(small_model(), SMALL_DATA, seed=-1), ValueError,
     "seed must be an integer >= 0, got -1"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


SMALL_DATA = types.SimpleNamespace(x_train=np.zeros((32, 8), np.float32),
                                   y_train=np.zeros(32, np.uint8))


def test_numpy_scalars_are_accepted():
    schedule = OneCycleSchedule(np.float32(0.1), total_steps=np.int64(100),
                                warmup_fraction=np.float64(0.25))
    assert schedule.total_steps == 100 and schedule.warmup_fraction == 0.25
    assert schedule_values(schedule, np.int64(3)).shape == (3,)
