import re

import keras
import numpy as np
import pytest

import companion
from companion.tools import diagnostics

# A 2-3-2 sigmoid network with hand-chosen weights: large enough that some hidden
# outputs saturate, small enough that no probability is near 0 or 1.
W1 = np.array([[4.0, -0.5, 0.25], [-3.0, 1.5, 0.0]], dtype=np.float32)
B1 = np.array([0.5, -0.25, 0.1], dtype=np.float32)
W2 = np.array([[1.0, -1.0], [0.5, 0.25], [-0.75, 2.0]], dtype=np.float32)
B2 = np.array([0.1, -0.2], dtype=np.float32)
X = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5], [-1.0, 2.0], [2.0, 1.0]], dtype=np.float32)
Y = np.array([0, 1, 1, 0, 1])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_forward_backward():
    """Forward pass and backprop of the mean softmax cross-entropy, in float64."""
    w1, b1, w2, b2, x = (a.astype(np.float64) for a in (W1, B1, W2, B2, X))
    a1 = sigmoid(x @ w1 + b1)
    p = softmax(a1 @ w2 + b2)
    n = len(x)
    onehot = np.eye(2)[Y]
    loss = -np.mean(np.log(p[np.arange(n), Y]))
    dz2 = (p - onehot) / n
    dw2 = a1.T @ dz2
    da1 = dz2 @ w2.T
    dz1 = da1 * a1 * (1 - a1)
    dw1 = x.T @ dz1
    return dict(a1=a1, p=p, loss=loss, dw1=dw1, dw2=dw2, da1=da1)


@pytest.fixture
def net():
    model = companion.build_mlp(depth=1, width=3, activation="sigmoid", example_shape=(2,),
                                n_classes=2)
    model.get_layer("hidden_1").set_weights([W1, B1])
    model.get_layer("output").set_weights([W2, B2])
    return model


@pytest.mark.parametrize("batch_size", [1024, 2])  # one batch; batches of 2, 2 and 1
def test_layer_outputs_match_numpy_forward_pass(net, batch_size):
    ref = numpy_forward_backward()
    outputs = companion.layer_outputs(net, X, batch_size=batch_size)
    assert list(outputs) == ["hidden_1", "output"]
    np.testing.assert_allclose(outputs["hidden_1"], ref["a1"], rtol=1e-5)
    np.testing.assert_allclose(outputs["output"], ref["p"], rtol=1e-5)


def test_layer_statistics_match_numpy(net):
    ref = numpy_forward_backward()
    tol = 0.05
    for a in (ref["a1"], ref["p"]):  # keep the test away from the bounds' edges
        assert np.all(np.abs(np.abs(a - 0.0) - tol) > 1e-3)
        assert np.all(np.abs(np.abs(a - 1.0) - tol) > 1e-3)
    stats = companion.layer_statistics(net, X, saturation=(0, 1), tolerance=tol)
    assert stats.index.tolist() == ["hidden_1", "output"]
    assert stats["depth"].tolist() == [1, 2]
    for name, a in (("hidden_1", ref["a1"]), ("output", ref["p"])):
        assert stats.loc[name, "mean"] == pytest.approx(a.mean(), rel=1e-5)
        assert stats.loc[name, "std"] == pytest.approx(a.std(), rel=1e-5)
        assert stats.loc[name, "unit_spread"] == pytest.approx(a.std(axis=0).mean(), rel=1e-5)
        saturated = np.mean((a <= tol) | (a >= 1 - tol))
        assert stats.loc[name, "saturated"] == pytest.approx(saturated, abs=1e-12)
    assert 0 < stats.loc["hidden_1", "saturated"] < 1  # the weights were chosen for this


def test_layer_statistics_without_saturation_has_no_column(net):
    stats = companion.layer_statistics(net, X)
    assert list(stats.columns) == ["depth", "mean", "std", "unit_spread"]


def test_unit_spread_is_the_mean_of_per_unit_stds():
    rng = np.random.default_rng(3)
    # unit j = offset_j + scale_j * noise: the pooled std is dominated by the offsets
    offsets, scales = np.array([-50.0, 0.0, 80.0]), np.array([0.1, 1.0, 3.0])
    a = offsets + scales * rng.normal(size=(500, 3))
    expected = np.mean([np.std(a[:, j]) for j in range(3)])
    assert float(diagnostics.unit_spread(a)) == pytest.approx(expected, rel=1e-12)
    assert float(diagnostics.unit_spread(a)) < a.std() / 10
    assert float(diagnostics.unit_spread(np.tile([1.0, 2.0, 3.0], (4, 1)))) == 0.0


def test_unit_spread_treats_leading_axes_as_examples():
    rng = np.random.default_rng(4)
    maps = rng.normal(size=(6, 5, 5, 2)) * [1.0, 4.0]  # (examples, h, w, channels)
    flat = maps.reshape(-1, 2)
    assert float(diagnostics.unit_spread(maps)) == pytest.approx(flat.std(axis=0).mean())


@pytest.mark.parametrize("bad", [np.float64(1.0), np.ones(5)])
def test_unit_spread_refuses_arrays_without_a_unit_axis(bad):
    with pytest.raises(ValueError, match="axis of examples and an axis of units"):
        diagnostics.unit_spread(bad)


def test_the_monitor_uses_the_same_unit_spread():
    from companion.tools import monitor
    assert monitor.unit_spread is diagnostics.unit_spread


def test_gradient_norms_wrt_kernel_match_backprop(net):
    ref = numpy_forward_backward()
    norms = companion.gradient_norms(net, X, Y, with_respect_to="kernel")
    assert norms.index.tolist() == ["hidden_1", "output"]
    assert norms["depth"].tolist() == [1, 2]
    assert norms.loc["hidden_1", "gradient_norm"] == pytest.approx(
        np.linalg.norm(ref["dw1"]), rel=1e-5)
    assert norms.loc["output", "gradient_norm"] == pytest.approx(
        np.linalg.norm(ref["dw2"]), rel=1e-5)


def test_gradient_norms_wrt_output_match_backprop(net):
    ref = numpy_forward_backward()
    norms = companion.gradient_norms(net, X, Y, with_respect_to="output")
    assert norms.index.tolist() == ["hidden_1"]
    assert norms.loc["hidden_1", "gradient_norm"] == pytest.approx(
        np.linalg.norm(ref["da1"]), rel=1e-5)


def test_gradient_norms_deeper_net_against_finite_differences():
    # an independent check on a 3-hidden-layer tanh net: the kernel gradient's
    # Frobenius norm from central finite differences of the loss
    rng = np.random.default_rng(0)
    model = companion.build_mlp(depth=3, width=4, activation="tanh", example_shape=(3,), n_classes=3)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=6)
    weights = [w.astype(np.float64) for w in model.get_weights()]

    def loss(ws):
        a = x.astype(np.float64)
        for i in range(0, len(ws) - 2, 2):
            a = np.tanh(a @ ws[i] + ws[i + 1])
        p = softmax(a @ ws[-2] + ws[-1])
        return -np.mean(np.log(p[np.arange(len(x)), y]))

    expected = []
    h = 1e-6
    for k in range(0, len(weights), 2):
        grad = np.zeros_like(weights[k])
        for idx in np.ndindex(grad.shape):
            plus = [w.copy() for w in weights]
            minus = [w.copy() for w in weights]
            plus[k][idx] += h
            minus[k][idx] -= h
            grad[idx] = (loss(plus) - loss(minus)) / (2 * h)
        expected.append(np.linalg.norm(grad))
    norms = companion.gradient_norms(model, x, y)
    assert norms.index.tolist() == ["hidden_1", "hidden_2", "hidden_3", "output"]
    np.testing.assert_allclose(norms["gradient_norm"].to_numpy(), expected, rtol=1e-4)


def test_relative_updates_formula():
    rng = np.random.default_rng(3)
    before = {"a": rng.normal(size=(4, 3)), "b": rng.normal(size=(3, 2))}
    after = {"a": before["a"] + 0.1 * rng.normal(size=(4, 3)), "b": 2 * before["b"]}
    got = companion.relative_updates(before, after)
    diff = after["a"] - before["a"]
    assert got["a"] == pytest.approx(np.sqrt((diff ** 2).sum() / (before["a"] ** 2).sum()))
    assert got["b"] == pytest.approx(1.0)  # ||2W - W|| / ||W||
    assert companion.relative_updates({"x": np.ones((2, 2))}, {"x": 1.5 * np.ones((2, 2))}) \
        == {"x": pytest.approx(0.5)}


def test_relative_updates_different_layers_raise():
    with pytest.raises(ValueError, match="different layers"):
        companion.relative_updates({"a": np.ones(2)}, {"b": np.ones(2)})


def test_kernel_snapshot_is_a_copy(net):
    snap = companion.kernel_snapshot(net)
    assert list(snap) == ["hidden_1", "output"]
    np.testing.assert_array_equal(snap["hidden_1"], W1)
    net.get_layer("hidden_1").set_weights([np.zeros_like(W1), B1])
    np.testing.assert_array_equal(snap["hidden_1"], W1)


def test_relative_update_recorder_matches_own_snapshots():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    keras.utils.set_random_seed(0)
    model = companion.build_mlp(depth=2, width=5, example_shape=(4,), n_classes=3)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5),
                  loss="sparse_categorical_crossentropy")
    recorder = companion.RelativeUpdateRecorder()
    names = ["hidden_1", "hidden_2", "output"]

    def kernels():
        return {n: model.get_layer(n).get_weights()[0].astype(np.float64) for n in names}

    expected = []
    for _ in range(2):
        start = kernels()
        model.fit(x, y, epochs=1, batch_size=16, callbacks=[recorder], verbose=0)
        end = kernels()
        expected.append({n: np.linalg.norm(end[n] - start[n]) / np.linalg.norm(start[n])
                         for n in names})
    table = recorder.table
    assert table.shape == (2, 3)
    assert table.index.tolist() == [1, 2]
    assert table.index.name == "epoch"
    assert table.columns.tolist() == names
    for epoch, row in enumerate(expected, 1):
        for name in names:
            assert row[name] > 0
            assert table.loc[epoch, name] == pytest.approx(row[name], rel=1e-5)


# ----------------------------------------------------------------------------- bad arguments

def test_bad_with_respect_to(net):
    with pytest.raises(ValueError, match="'bias'") as info:
        companion.gradient_norms(net, X, Y, with_respect_to="bias")
    assert "kernel" in str(info.value) and "output" in str(info.value)


def test_output_gradients_need_sequential(net):
    functional = keras.Model(net.inputs, net.outputs)
    with pytest.raises(ValueError, match="Sequential"):
        companion.gradient_norms(functional, X, Y, with_respect_to="output")


@pytest.mark.parametrize("saturation", [(1, 0), (0.5, 0.5)])
def test_bad_saturation(net, saturation):
    with pytest.raises(ValueError, match="saturation"):
        companion.layer_statistics(net, X, saturation=saturation)


@pytest.mark.parametrize("tolerance", [-0.1, float("nan")])
def test_bad_tolerance(net, tolerance):
    with pytest.raises(ValueError, match="tolerance"):
        companion.layer_statistics(net, X, tolerance=tolerance)


def test_model_without_dense_layer():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Flatten()], name="no_dense")
    with pytest.raises(ValueError, match="no_dense"):
        diagnostics.dense_layers(model)


# ----------------------------------------------------------------------------- one Dense layer
# regressions: with a single Dense layer predict() returns an array, not a list

@pytest.fixture
def single_layer():
    model = companion.build_mlp(depth=0, example_shape=(2,), n_classes=2)
    model.get_layer("output").set_weights([W1[:, :2], B2])
    return model


def test_layer_outputs_with_a_single_dense_layer(single_layer):
    outputs = companion.layer_outputs(single_layer, X)
    assert outputs["output"].shape == (len(X), 2)
    expected = softmax(X.astype(np.float64) @ W1[:, :2] + B2)
    np.testing.assert_allclose(outputs["output"], expected, rtol=1e-5)


def test_layer_statistics_with_a_single_dense_layer(single_layer):
    expected = softmax(X.astype(np.float64) @ W1[:, :2] + B2)
    stats = companion.layer_statistics(single_layer, X)
    assert stats.loc["output", "std"] == pytest.approx(expected.std(), rel=1e-5)


def test_output_gradients_with_a_single_dense_layer(single_layer):
    # no Dense layer before the output: a clear ValueError, not a pandas KeyError
    with pytest.raises(ValueError, match="kernel"):
        companion.gradient_norms(single_layer, X, Y, with_respect_to="output")


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

def small_net():
    return companion.build_mlp(depth=1, width=3, example_shape=(2,), n_classes=2)


def two_input_net():
    a, b = keras.Input((2,)), keras.Input((2,))
    return keras.Model([a, b], keras.layers.Dense(2)(keras.layers.Concatenate()([a, b])))


@pytest.mark.parametrize("call, error, message", [
    (lambda: diagnostics.layer_outputs("mlp", X), TypeError, "model must be a Keras model, got str"),
    (lambda: diagnostics.dead_units(small_net(), np.zeros((0, 2))), ValueError,
     "x must hold at least 1 example(s), got shape (0, 2)"),
    (lambda: diagnostics.dead_units(small_net(), np.ones((4, 5))), ValueError,
     "x holds examples of shape (5,), but the model expects (2,)"),
    (lambda: diagnostics.layer_outputs(small_net(), X, batch_size=0), ValueError,
     "batch_size must be an integer >= 1, got 0"),
    (lambda: diagnostics.layer_outputs(two_input_net(), X), ValueError,
     "model must have one input, got 2"),
    (lambda: diagnostics.layer_statistics(small_net(), X, tolerance=float("inf")), ValueError,
     "tolerance must be a finite number in [0, inf), got inf"),
    (lambda: diagnostics.layer_statistics(small_net(), X, saturation=(0.0, float("nan"))),
     ValueError, "saturation must be (low, high) with low < high"),
    (lambda: diagnostics.gradient_norms(small_net(), X, Y[:3]), ValueError,
     "y must hold one target per example of x (5), got shape (3,)"),
    (lambda: diagnostics.gradient_norms(small_net(), X, Y, loss="bogus"), ValueError,
     "unknown loss 'bogus'"),
    (lambda: diagnostics.saturated_units(small_net(), X, bounds=(0, 1), share=1.5), ValueError,
     "share must be a finite number in (0, 1], got 1.5"),
    (lambda: diagnostics.relative_updates({"a": np.zeros(2)}, {"a": np.ones(2)}), ValueError,
     "before['a'] is all zeros"),
    (lambda: diagnostics.relative_updates("abc", {}), TypeError,
     "before must be a mapping (a dict) from layer names to kernels"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_numpy_scalars_are_accepted():
    stats = diagnostics.layer_statistics(small_net(), X, tolerance=np.float32(0.1),
                                         batch_size=np.int64(2), saturation=(0, 1))
    assert list(stats.index) == ["hidden_1", "output"]


def test_gradient_norms_do_not_underflow_for_tiny_gradients(single_layer):
    # A single Dense layer: dL/dW = x^T (p - onehot(y)) / n. With inputs of 1e-25 the
    # logits are the bias alone, so the gradient is exactly 1e-25 times the one for x,
    # with entries whose squares underflow float32.
    p = np.exp(B2) / np.exp(B2).sum()
    delta = p[None, :] - np.eye(2)[Y]
    expected = np.linalg.norm(X.astype(np.float64).T @ delta / len(X)) * 1e-25
    tiny = companion.gradient_norms(single_layer, X * np.float32(1e-25), Y)
    assert tiny.loc["output", "gradient_norm"] == pytest.approx(expected, rel=1e-4)
