"""TrainingMonitor: its statistics against NumPy, its schedule, its diagnosis on networks
built to show each pathology (and on a healthy one), its plot and its TensorBoard files."""

import pathlib
import re

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

import companion
from companion.tools import monitor as mon
from companion.tools.monitor import Finding, TrainingMonitor

# --- a 3-4-3-2 network with hand-chosen weights --------------------------------------------
# tanh units 0 and 1 are driven far past +-1.47 on every example (saturated), units 2 and 3
# stay near 0; ReLU unit 0 has a bias of -100 (dead), units 1 and 2 are alive.
X = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6], [-0.2, 0.1, 0.9], [0.8, -0.7, 0.2],
              [-0.5, -0.5, -0.5], [0.1, 0.6, 0.3]], dtype=np.float32)
Y = np.array([0, 1, 1, 0, 1, 0])
W1 = np.array([[3.0, -4.0, 0.2, -0.1], [2.0, 3.0, -0.3, 0.2], [4.0, -2.0, 0.1, 0.3]],
              dtype=np.float32)
B1 = np.array([8.0, -8.0, 0.0, 0.05], dtype=np.float32)
W2 = np.array([[0.5, 0.3, -0.2], [0.1, -0.4, 0.6], [0.7, 1.2, -0.9], [-0.3, 0.8, 1.1]],
              dtype=np.float32)
B2 = np.array([-100.0, 0.4, 0.8], dtype=np.float32)
W3 = np.array([[0.2, -0.3], [0.9, -0.4], [-0.6, 0.5]], dtype=np.float32)
B3 = np.array([0.05, -0.05], dtype=np.float32)


def hand_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, "tanh", name="tanh"),
                              keras.layers.Dense(3, "relu", name="relu"),
                              keras.layers.Dense(2, "softmax", name="out")])
    for name, w, b in (("tanh", W1, B1), ("relu", W2, B2), ("out", W3, B3)):
        model.get_layer(name).set_weights([w, b])
    return model


def numpy_reference():
    """Forward pass and backprop of the mean softmax cross-entropy, in float64."""
    x, w1, b1, w2, b2, w3, b3 = (a.astype(np.float64) for a in (X, W1, B1, W2, B2, W3, B3))
    a1 = np.tanh(x @ w1 + b1)
    z2 = a1 @ w2 + b2
    a2 = np.maximum(z2, 0)
    z3 = a2 @ w3 + b3
    p = np.exp(z3 - z3.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz3 = (p - np.eye(2)[Y]) / len(x)
    dz2 = (dz3 @ w3.T) * (z2 > 0)
    dz1 = (dz2 @ w2.T) * (1 - a1 ** 2)
    return {"activations": [a1, a2, p], "gradients": [x.T @ dz1, a1.T @ dz2, a2.T @ dz3],
            "kernels": [w1, w2, w3]}


def expected_stats(a, bounds=None, relu_like=False):
    """The monitor's activation statistics, from their definitions."""
    stats = {"activation_mean": a.mean(), "activation_std": a.std(),
             "unit_spread": a.std(axis=0).mean()}
    stats["dead_fraction"] = np.all(a <= 0, axis=0).mean() if relu_like else np.nan
    if bounds is None:
        stats["saturated_fraction"] = np.nan
    else:
        low, high = bounds
        tol = mon.SATURATION_TOLERANCE * (high - low)
        near = (a - low <= tol) | (high - a <= tol)
        stats["saturated_fraction"] = (near.mean(axis=0) >= mon.SATURATION_SHARE).mean()
    return stats


def fit(model, x, y, monitor, *, optimizer=None, epochs=1, batch_size=2,
        steps_per_execution=1, **kwargs):
    model.compile(optimizer or keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_execution)
    callbacks = [monitor] if monitor is not None else []
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=callbacks,
                     verbose=0, shuffle=False, **kwargs)


@pytest.mark.parametrize("training", [True, False])
def test_statistics_match_numpy(training):
    """Step 0 is the state before training: the hand-set weights."""
    monitor = TrainingMonitor(5, sample=(X, Y), training=training)
    fit(hand_model(), X, Y, monitor)
    ref = numpy_reference()
    frame = monitor.to_frame()
    first = frame[frame.step == 0].set_index("layer")
    assert first.index.tolist() == ["tanh", "relu", "out"]
    assert first["activation"].tolist() == ["tanh", "relu", "softmax"]
    assert first["output_layer"].tolist() == [False, False, True]
    kinds = [dict(bounds=(-1.0, 1.0)), dict(relu_like=True), dict(bounds=(0.0, 1.0))]
    for name, a, kind, grad, kernel in zip(first.index, ref["activations"], kinds,
                                           ref["gradients"], ref["kernels"]):
        for series, value in expected_stats(a, **kind).items():
            np.testing.assert_allclose(first.loc[name, series], value, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} {series}")
        np.testing.assert_allclose(first.loc[name, "gradient_norm"], np.linalg.norm(grad),
                                   rtol=1e-4)
        np.testing.assert_allclose(first.loc[name, "weight_norm"], np.linalg.norm(kernel),
                                   rtol=1e-6)
    # The hand-chosen weights make the interesting fractions non-trivial.
    assert first.loc["tanh", "saturated_fraction"] == 0.5
    assert first.loc["relu", "dead_fraction"] == pytest.approx(1 / 3)


def test_per_unit_spread_separates_signal_from_offsets():
    """Units with fixed, different offsets: large pooled std, per-unit spread ~ 0."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, "linear", name="lin"),
                              keras.layers.Dense(2, "softmax")])
    kernel = np.full((3, 4), 1e-4, dtype=np.float32)
    model.get_layer("lin").set_weights([kernel, np.array([-3.0, -1.0, 1.0, 3.0], "float32")])
    monitor = TrainingMonitor(5, sample=(X, Y))
    fit(model, X, Y, monitor)
    row = monitor.to_frame().set_index("layer").loc["lin"].iloc[0]
    a = X.astype(np.float64) @ kernel + np.array([-3.0, -1.0, 1.0, 3.0])
    assert row["activation_std"] == pytest.approx(np.sqrt(5.0), rel=1e-4)  # offsets' std
    assert row["unit_spread"] == pytest.approx(a.std(axis=0).mean(), rel=1e-3)
    assert row["unit_spread"] / row["activation_std"] < 1e-4


def test_linear_layer_is_measured_at_its_activation_layer():
    """Dense (linear) -> BatchNormalization -> Activation: the units' outputs are the
    activation's, so dead units are counted there."""
    inputs = keras.Input((3,))
    z = keras.layers.Dense(5, use_bias=False, name="dense")(inputs)
    z = keras.layers.BatchNormalization(name="bn")(z)
    a = keras.layers.Activation("relu", name="act")(z)
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(a)
    model = keras.Model(inputs, outputs)
    model.get_layer("bn").set_weights([np.ones(5), np.array([0, 0, -50, 0, 0.0]),
                                       np.zeros(5), np.ones(5)])
    act = keras.Model(inputs, a).predict(X, verbose=0).astype(np.float64)  # before training
    monitor = TrainingMonitor(5, sample=(X, Y), training=False)
    fit(model, X, Y, monitor)
    row = monitor.to_frame().set_index("layer").loc["dense"].iloc[0]
    assert row["activation"] == "relu"
    expected = expected_stats(act, relu_like=True)
    for series in ("activation_mean", "activation_std", "unit_spread", "dead_fraction"):
        assert row[series] == pytest.approx(expected[series], rel=1e-5, abs=1e-6)
    assert row["dead_fraction"] >= 0.2  # the unit with beta = -50 at least


def test_convolution_units_are_channels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5, 5, 1)).astype(np.float32)
    y = rng.integers(0, 2, size=8)
    inputs = keras.Input((5, 5, 1))
    conv = keras.layers.Conv2D(3, 3, activation="relu", name="conv")
    features = conv(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, outputs)
    monitor = TrainingMonitor(5, sample=(x, y))
    fit(model, x, y, monitor)
    row = monitor.to_frame().set_index("layer").loc["conv"].iloc[0]
    a = keras.Model(inputs, features).predict(x, verbose=0).astype(np.float64).reshape(-1, 3)
    for series, value in expected_stats(a, relu_like=True).items():
        assert row[series] == pytest.approx(value, rel=1e-5, abs=1e-6, nan_ok=True)


class KernelRecorder(keras.callbacks.Callback):
    """Copies of every kernel after each callback, keyed by the optimizer's step."""

    def __init__(self):
        super().__init__()
        self.kernels = {}

    def _copy(self):
        step = int(self.model.optimizer.iterations.numpy())
        self.kernels[step] = {layer.name: layer.kernel.numpy().astype(np.float64)
                              for layer in self.model.layers}

    def on_train_begin(self, logs=None):
        self._copy()

    def on_train_batch_end(self, batch, logs=None):
        self._copy()


def small_mlp(seed=0, width=6):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(width, "relu", name="h1"),
                             keras.layers.Dense(width, "relu", name="h2"),
                             keras.layers.Dense(2, "softmax", name="out")])


@pytest.mark.parametrize("steps_per_execution, expected_steps", [
    (1, [0, 6, 12, 18, 24, 30, 36, 42, 44]),
    # callbacks every 4 steps (and at each epoch's end, step 22): a record at the first
    # callback at or after each multiple of 6, and one at the end of training.
    (4, [0, 8, 12, 20, 26, 30, 38, 42, 44]),
])
def test_schedule_and_update_ratio(steps_per_execution, expected_steps):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(44, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=44)
    recorder, monitor = KernelRecorder(), TrainingMonitor(np.int64(6), sample=(x[:16], y[:16]))
    model = small_mlp()
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_execution)
    model.fit(x, y, epochs=2, batch_size=2, callbacks=[recorder, monitor], verbose=0)
    frame = monitor.to_frame()
    assert sorted(frame.step.unique()) == expected_steps
    assert int(model.optimizer.iterations.numpy()) == 44
    checked = 0
    for _, row in frame.iterrows():
        window = row["update_window"]
        if window == 0:
            assert np.isnan(row["update_ratio"])
            continue
        before = recorder.kernels[row["step"] - window][row["layer"]]
        after = recorder.kernels[row["step"]][row["layer"]]
        expected = np.linalg.norm(after - before) / np.linalg.norm(before) / window
        assert row["update_ratio"] == pytest.approx(expected, rel=1e-6)
        checked += 1
    assert checked == 3 * (len(expected_steps) - 1)  # every record but step 0
    # The window is one callback long, except at the end of training, which comes
    # between the scheduled records.
    inner = frame[(frame.step > 0) & (frame.step < 44)]
    assert set(inner.update_window) == {steps_per_execution}
    assert frame[frame.step == 44].update_window.iloc[0] > steps_per_execution


def test_schedule_continues_over_fit_calls():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=10)
    model = small_mlp()
    monitor = TrainingMonitor(4, sample=(x, y))
    fit(model, x, y, monitor, optimizer=keras.optimizers.SGD(0.01))  # 5 steps
    model.fit(x, y, epochs=1, batch_size=2, callbacks=[monitor], verbose=0)  # 5 more
    assert monitor.to_frame().step.unique().tolist() == [0, 4, 5, 8, 10]
    # Compiled again: the new optimizer counts from 0, the monitor from the last record.
    fit(model, x, y, monitor, optimizer=keras.optimizers.SGD(0.01))
    assert int(model.optimizer.iterations.numpy()) == 5
    assert monitor.to_frame().step.unique().tolist() == [0, 4, 5, 8, 10, 12, 15]


def test_monitor_does_not_change_training():
    """Training mode with BN and dropout: moving averages and random generators are
    restored after every measurement, so the run is the same with or without it."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=64)
    weights = []
    for monitor in (None, TrainingMonitor(1, sample=(x[:16], y[:16]))):
        keras.utils.set_random_seed(7)
        model = companion.build_mlp(depth=2, width=8, example_shape=(3,), n_classes=2,
                                    batch_norm="before", dropout=0.3)
        fit(model, x, y, monitor, optimizer=keras.optimizers.SGD(0.1), epochs=2,
            batch_size=8)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        # Same ops, same shapes, same order on both runs: only float rounding may differ.
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sequential_without_input_and_no_labels():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=12)
    model = keras.Sequential([keras.layers.Dense(4, "sigmoid"), keras.layers.Dense(2)])
    monitor = TrainingMonitor(3, sample=x)
    fit(model, x, y, monitor)  # with a learning rate of 0
    frame = monitor.to_frame()
    assert frame.gradient_norm.isna().all()
    assert frame.activation.tolist()[:2] == ["sigmoid", "linear"]
    assert frame.dead_fraction.isna().all()  # neither layer is ReLU-like
    # Updates are measured without labels (and are 0 here); gradient findings need them.
    assert [f.kind for f in monitor.diagnose()] == ["learning_rate_too_low"]


def test_multi_input_functional_model():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(10, 3)).astype("float32"), rng.normal(size=(10, 2)).astype("float32")
    y = rng.integers(0, 2, size=10)
    in_a, in_b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    merged = keras.layers.Concatenate()([keras.layers.Dense(4, "relu", name="da")(in_a),
                                         keras.layers.Dense(4, "relu", name="db")(in_b)])
    model = keras.Model([in_a, in_b], keras.layers.Dense(2, "softmax", name="out")(merged))
    monitor = TrainingMonitor(2, sample=([a, b], y))
    fit(model, [a, b], y, monitor, optimizer=keras.optimizers.SGD(0.01))
    frame = monitor.to_frame()
    assert set(frame.layer) == {"da", "db", "out"}
    assert frame.gradient_norm.notna().all()


# --- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("every", [0, -3, 2.5, True, "5", None])
def test_every_must_be_a_positive_integer(every):
    with pytest.raises(ValueError, match=re.escape(f"every must be an integer >= 1, got {every!r}")):
        TrainingMonitor(every, sample=X)


def test_numpy_integer_every_is_accepted():
    assert TrainingMonitor(np.int32(7), sample=X).every == 7


@pytest.mark.parametrize("sample, error, match", [
    (None, TypeError, "sample is required"),
    (np.zeros(5), ValueError, r"shape \(examples, ...\); got shape \(5,\)"),
    (np.zeros((1, 3)), ValueError, "at least 2 examples, got 1"),
    ((X, Y[:4]), ValueError, r"one label per example of x \(6\), got shape \(4,\)"),
    ((X, Y, Y), ValueError, "tuple of 3 items"),
    ([np.zeros((4, 3)), np.zeros((5, 2))], ValueError, r"different numbers of examples"),
    (np.array([object(), object()]), TypeError, "numeric array"),
    ("abc", TypeError, "sample x must be a numeric array, got the string 'abc'"),
    ({"a": X}, TypeError, "list of arrays, in the order of model.inputs"),
])
def test_sample_is_checked(sample, error, match):
    with pytest.raises(error, match=match):
        TrainingMonitor(5, sample=sample)


def test_other_arguments_are_checked():
    with pytest.raises(TypeError, match="log_dir must be a path .* got int 5"):
        TrainingMonitor(5, sample=X, log_dir=5)
    with pytest.raises(ValueError, match="histograms must be True or False, got 'yes'"):
        TrainingMonitor(5, sample=X, histograms="yes")
    with pytest.raises(ValueError, match="training must be True or False, got 1"):
        TrainingMonitor(5, sample=X, training=1)
    with pytest.raises(TypeError, match="watches a keras.Model, got Dense"):
        TrainingMonitor(5, sample=X).set_model(keras.layers.Dense(2))


def test_sample_shape_must_fit_the_model():
    monitor = TrainingMonitor(5, sample=(np.zeros((4, 7), "float32"), Y[:4]))
    with pytest.raises(ValueError, match=r"examples of shape \(7,\), but model .* expects "
                                         r"\(3,\)"):
        fit(hand_model(), X, Y, monitor)


def test_unsupported_models_are_refused():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2, activation="softmax")

        def call(self, x):
            return self.dense(x)

    with pytest.raises(TypeError, match="Sequential or functional"):
        fit(Subclassed(), X, Y, TrainingMonitor(5, sample=(X, Y)))
    no_kernel = keras.Sequential([keras.Input((3,)), keras.layers.Activation("softmax")])
    with pytest.raises(ValueError, match="has no layer with a kernel to monitor"):
        fit(no_kernel, X, np.zeros((6, 3)), TrainingMonitor(5, sample=X))
    inputs = keras.Input((3,))
    two = keras.Model(inputs, [keras.layers.Dense(2, name="p")(inputs),
                               keras.layers.Dense(1, name="q")(inputs)])
    two.compile("sgd", ["mse", "mse"])
    with pytest.raises(ValueError, match="single-output models; .* has 2 outputs"):
        two.fit(X, [np.zeros((6, 2)), np.zeros((6, 1))], verbose=0,
                callbacks=[TrainingMonitor(5, sample=(X, Y))])


def test_results_need_a_run_first():
    monitor = TrainingMonitor(5, sample=X)
    for method in (monitor.diagnose, monitor.plot):
        with pytest.raises(RuntimeError, match="callbacks=\\[monitor\\]"):
            method()
    assert monitor.to_frame().empty and monitor.layers == []


# --- diagnosis on networks built to show each pathology -----------------------------------

def blobs(n=512, features=16, classes=4, seed=0):
    """Four standardised Gaussian blobs: a problem a small healthy network learns fast."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    x = rng.normal(size=(classes, features))[y] + rng.normal(size=(n, features))
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32), y


def mlp(depth, width, activation, initializer, bias="zeros"):
    layers = [keras.Input((16,))]
    layers += [keras.layers.Dense(width, activation, kernel_initializer=initializer,
                                  bias_initializer=bias, name=f"hidden_{i}")
               for i in range(1, depth + 1)]
    layers.append(keras.layers.Dense(4, "softmax", kernel_initializer=initializer,
                                     name="output"))
    return keras.Sequential(layers)


def diagnose(build, optimizer, *, steps=128, every=8, seed=0):
    """Train ``build()`` for ``steps`` steps of 32 examples; the findings' kinds."""
    x, y = blobs()
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer, "sparse_categorical_crossentropy")
    monitor = TrainingMonitor(every, sample=(x[:128], y[:128]))
    model.fit(x, y, epochs=steps * 32 // len(x), batch_size=32, callbacks=[monitor], verbose=0)
    findings = monitor.diagnose()
    for finding in findings:
        assert isinstance(finding, Finding) and finding.chapter == mon.CHAPTERS[finding.kind]
        assert finding.message and finding.numbers
    return {f.kind: f for f in findings}


def gain(g):
    """He initialisation scaled by ``g``: weights ``g`` times too large for ReLU."""
    return keras.initializers.VarianceScaling(2.0 * g ** 2, distribution="untruncated_normal")


@pytest.mark.parametrize("seed", [0, 1])
def test_healthy_network_gets_no_finding(seed):
    """He + ReLU, Adam's defaults, a small network: nothing to report."""
    found = diagnose(lambda: mlp(3, 32, "relu", "he_normal"), keras.optimizers.Adam(),
                     seed=seed)
    assert found == {}


def test_deep_sigmoid_glorot_collapses_and_vanishes():
    found = diagnose(lambda: mlp(8, 32, "sigmoid", "glorot_uniform"),
                     keras.optimizers.SGD(0.01, momentum=0.9))
    assert {"collapsed_signal", "vanishing_gradients"} <= set(found)
    assert found["vanishing_gradients"].layer == "hidden_1"
    assert found["vanishing_gradients"].numbers["gradient_ratio"] < mon.VANISHING_GRADIENT_RATIO
    assert found["collapsed_signal"].numbers["spread_to_std"] < mon.COLLAPSE_RATIO
    # small updates are explained by the vanishing gradients: no learning-rate advice
    assert "learning_rate_too_low" not in found


def test_large_negative_bias_kills_relu_units():
    found = diagnose(lambda: mlp(3, 32, "relu", "he_normal",
                                 bias=keras.initializers.Constant(-8.0)),
                     keras.optimizers.Adam())
    assert set(found) == {"dying_units"}
    assert found["dying_units"].numbers["dead_fraction"] >= mon.DEAD_UNIT_FRACTION


def test_big_weights_saturate_tanh():
    found = diagnose(lambda: mlp(3, 32, "tanh", keras.initializers.RandomNormal(stddev=10.0)),
                     keras.optimizers.Adam())
    assert "saturation" in found
    assert found["saturation"].numbers["saturated_fraction"] >= mon.SATURATED_UNIT_FRACTION


def test_huge_learning_rate():
    found = diagnose(lambda: mlp(3, 32, "relu", "he_normal"), keras.optimizers.Adam(1.0),
                     every=2, steps=64)
    assert "learning_rate_too_high" in found
    assert found["learning_rate_too_high"].numbers["update_ratio"] > mon.UPDATE_RATIO_TOO_HIGH


def test_tiny_learning_rate():
    found = diagnose(lambda: mlp(3, 32, "relu", "he_normal"), keras.optimizers.SGD(1e-6))
    assert set(found) == {"learning_rate_too_low"}
    assert found["learning_rate_too_low"].numbers["update_ratio"] < mon.UPDATE_RATIO_TOO_LOW


def test_large_init_deep_relu_explodes_under_adam():
    """Adam's bounded steps keep the run finite, but the gradients stay enormous."""
    found = diagnose(lambda: mlp(8, 32, "relu", gain(3.0)), keras.optimizers.Adam(), steps=64)
    assert "exploding_gradients" in found
    assert found["exploding_gradients"].numbers["gradient_to_weight"] \
        >= mon.EXPLODING_GRADIENT_RATIO


def test_large_init_deep_linear_diverges_under_sgd():
    found = diagnose(lambda: mlp(8, 32, None, keras.initializers.RandomNormal(stddev=1.0)),
                     keras.optimizers.SGD(1e-3), steps=32)
    assert set(found) == {"exploding_gradients"}  # what follows a divergence is not diagnosed
    assert "diverged" in found["exploding_gradients"].message
    assert found["exploding_gradients"].numbers["step"] > 0


def test_finding_reads_as_a_sentence():
    finding = Finding("dying_units", "hidden_2", ("hidden_2",), "half are dead.",
                      {"dead_fraction": 0.5}, mon.CHAPTERS["dying_units"])
    assert str(finding) == ("dying_units (hidden_2): half are dead. See chapter 3: activation "
                            "functions (ReLU and dying units).")


# --- plot -----------------------------------------------------------------------------------

def test_plot_has_four_panels_and_log_scales():
    monitor = TrainingMonitor(5, sample=(X, Y))
    fit(hand_model(), X, Y, monitor, optimizer=keras.optimizers.SGD(0.1), epochs=4)
    fig = monitor.plot(title="hand-made")
    panels = fig.axes[:4]
    assert [ax.get_yscale() for ax in panels] == ["log", "log", "log", "linear"]
    n_layers = len(monitor.layers)
    assert len(panels[1].get_lines()) == n_layers  # one gradient line per layer
    colours = [line.get_color() for line in panels[1].get_lines()]
    assert len(set(map(tuple, colours))) == n_layers
    assert fig.axes[4].get_yticklabels()[0].get_text() == "tanh"  # the colour bar
    plt.close(fig)


def test_plot_without_gradients_is_quiet():
    """No labels: the gradient panel has nothing positive and stays linear, warning-free."""
    monitor = TrainingMonitor(5, sample=X)
    fit(hand_model(), X, Y, monitor)
    fig = monitor.plot()
    assert fig.axes[1].get_yscale() == "linear"
    plt.close(fig)


# --- TensorBoard --------------------------------------------------------------------------

def read_events(log_dir):
    """(tag, step) -> (plugin name, value) for every summary under ``log_dir``."""
    from tensorflow.core.util import event_pb2

    events = {}
    for path in pathlib.Path(log_dir).glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path), buffer_size=1 << 16):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                events[(value.tag, event.step)] = (value.metadata.plugin_data.plugin_name,
                                                   tf.make_ndarray(value.tensor))
    return events


def test_tensorboard_scalars_and_histograms(tmp_path):
    monitor = TrainingMonitor(5, sample=(X, Y), log_dir=tmp_path)
    fit(hand_model(), X, Y, monitor, optimizer=keras.optimizers.SGD(0.1), epochs=4)
    events = read_events(tmp_path)
    frame = monitor.to_frame()
    expected = set()
    for _, row in frame.iterrows():
        for series in mon.SERIES:
            if np.isfinite(row[series]):
                plugin, value = events[(f"{series}/{row['layer']}", row["step"])]
                assert plugin == "scalars" and value.shape == ()
                assert value == pytest.approx(row[series], rel=1e-6, abs=1e-30)
                expected.add((f"{series}/{row['layer']}", row["step"]))
        for kind, count in (("activations", len(X) * {"tanh": 4, "relu": 3, "out": 2}[
                row["layer"]]), ("kernel", {"tanh": 12, "relu": 12, "out": 6}[row["layer"]])):
            plugin, buckets = events[(f"{kind}/{row['layer']}", row["step"])]
            assert plugin == "histograms" and buckets.shape == (mon.HISTOGRAM_BINS, 3)
            assert buckets[:, 2].sum() == count
            assert np.all(buckets[:, 0] <= buckets[:, 1])
            expected.add((f"{kind}/{row['layer']}", row["step"]))
    # not-applicable series (dead units of tanh, ...) are not written: nothing else is there
    assert set(events) == expected
    assert ("dead_fraction/tanh", 0) not in events and ("dead_fraction/relu", 0) in events
    # Step 0 holds the hand-set kernel: its histogram spans it as NumPy's does.
    _, buckets = events[("kernel/tanh", 0)]
    counts, edges = np.histogram(W1.astype(np.float64), bins=mon.HISTOGRAM_BINS)
    np.testing.assert_allclose(buckets[:, 0], edges[:-1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(buckets[:, 1], edges[1:], rtol=1e-6, atol=1e-6)
    assert np.abs(buckets[:, 2] - counts).sum() <= 2  # values on an edge may change sides


def test_tensorboard_without_histograms(tmp_path):
    monitor = TrainingMonitor(5, sample=(X, Y), log_dir=str(tmp_path), histograms=False)
    fit(hand_model(), X, Y, monitor)
    tags = {tag for tag, _ in read_events(tmp_path)}
    assert "gradient_norm/out" in tags
    assert not any(tag.startswith(("activations/", "kernel/")) for tag in tags)


def test_tensorboard_reads_the_files(tmp_path):
    """TensorBoard's own reader, where TensorBoard is installed (it is not a dependency)."""
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    monitor = TrainingMonitor(5, sample=(X, Y), log_dir=tmp_path)
    fit(hand_model(), X, Y, monitor, optimizer=keras.optimizers.SGD(0.1), epochs=2)
    accumulator = event_accumulator.EventAccumulator(
        str(tmp_path), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    tags = accumulator.Tags()["tensors"]
    assert "gradient_norm/relu" in tags and "activations/tanh" in tags
    steps = [event.step for event in accumulator.Tensors("gradient_norm/relu")]
    assert steps == sorted(monitor.to_frame().step.unique().tolist())
