import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from companion import plots
from companion.training import TrainingResult


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


X = np.linspace(-6, 6, 121)


def test_sigmoid_and_derivative_closed_form():
    y, dy = plots.activation_and_derivative("sigmoid", X)
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(y, s, atol=1e-6)
    np.testing.assert_allclose(dy, s * (1 - s), atol=1e-6)
    y0, dy0 = plots.activation_and_derivative("sigmoid", np.array([0.0]))
    assert y0[0] == pytest.approx(0.5) and dy0[0] == pytest.approx(0.25)


def test_tanh_and_derivative_closed_form():
    y, dy = plots.activation_and_derivative("tanh", X)
    np.testing.assert_allclose(y, np.tanh(X), atol=1e-6)
    np.testing.assert_allclose(dy, 1 - np.tanh(X) ** 2, atol=1e-6)


def test_relu_and_derivative_closed_form():
    x = X[X != 0]
    y, dy = plots.activation_and_derivative("relu", x)
    np.testing.assert_allclose(y, np.maximum(x, 0), atol=0)
    np.testing.assert_array_equal(dy, (x > 0).astype(np.float32))


def test_callable_activation():
    y, dy = plots.activation_and_derivative(keras.activations.tanh, X)
    np.testing.assert_allclose(dy, 1 - np.tanh(X) ** 2, atol=1e-6)


def test_plot_activations():
    fig = plots.plot_activations(["sigmoid", "tanh", "relu"], points=51)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    left, right = fig.axes
    assert len(left.lines) == 3 and len(right.lines) == 3
    assert [line.get_label() for line in left.lines] == ["sigmoid", "tanh", "relu"]
    x, y = left.lines[1].get_data()
    assert len(x) == 51
    np.testing.assert_allclose(y, np.tanh(x), atol=1e-6)
    _, dy = right.lines[0].get_data()
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(dy, s * (1 - s), atol=1e-6)


def test_plot_activations_callable_label():
    fig = plots.plot_activations([keras.activations.sigmoid], points=11)
    assert fig.axes[0].lines[0].get_label() == "sigmoid"


def test_plot_layer_profiles():
    names = ["hidden_1", "hidden_2", "output"]
    tables = {
        "a": pd.DataFrame({"depth": [1, 2, 3], "std": [1.0, 0.1, 0.01], "mean": [0, 0, 0]},
                          index=names),
        "b": pd.DataFrame({"depth": [1, 2, 3], "std": [1.0, 1.0, 1.0], "mean": [0, 0, 0]},
                          index=names),
    }
    fig = plots.plot_layer_profiles(tables, "std", title="t")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.lines) == 2
    assert ax.get_yscale() == "log"
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, [1, 2])  # the output layer is left out
    np.testing.assert_array_equal(y, [1.0, 0.1])
    assert ax.get_title() == "t" and ax.get_ylabel() == "std"
    linear = plots.plot_layer_profiles(tables, "mean", log=False, ylabel="m", hidden_only=False)
    assert linear.axes[0].get_yscale() == "linear" and linear.axes[0].get_ylabel() == "m"
    np.testing.assert_array_equal(linear.axes[0].lines[0].get_data()[0], [1, 2, 3])


def test_plot_layer_profiles_bad_column():
    tables = {"a": pd.DataFrame({"depth": [1, 2], "std": [1.0, 0.5]}, index=["hidden_1", "output"])}
    with pytest.raises(ValueError) as info:
        plots.plot_layer_profiles(tables, "sdt")
    assert "'sdt'" in str(info.value) and "std" in str(info.value)


def test_plot_activation_histograms():
    rng = np.random.default_rng(0)
    outputs = {"hidden_1": rng.random((20, 5)), "hidden_2": rng.random((20, 5)),
               "output": rng.random((20, 3))}
    fig = plots.plot_activation_histograms(outputs, ["hidden_1", "output"], bins=10,
                                           value_range=(0, 1))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, ["hidden_1", "output"]):
        assert ax.get_title() == name
        heights = [patch.get_height() for patch in ax.patches]
        assert len(heights) == 10
        assert sum(heights) == pytest.approx(1.0)  # fractions of outputs
        expected, _ = np.histogram(outputs[name].ravel(), bins=10, range=(0, 1))
        np.testing.assert_allclose(heights, expected / outputs[name].size)


def test_plot_activation_histograms_single_layer():
    fig = plots.plot_activation_histograms({"a": np.zeros((3, 2))}, ["a"], bins=4)
    assert len(fig.axes) == 1


def test_plot_activation_histograms_unknown_layer():
    with pytest.raises(ValueError, match="hidden_9"):
        plots.plot_activation_histograms({"hidden_1": np.zeros((2, 2))}, ["hidden_9"])


@pytest.mark.parametrize("kind", ["dict", "series"])
def test_plot_relative_updates(kind):
    updates = {"hidden_1": 0.1, "hidden_2": 0.01, "output": 0.001}
    if kind == "series":
        updates = pd.Series(updates)
    fig = plots.plot_relative_updates(updates, title="u")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, [0.1, 0.01, 0.001])
    assert ax.get_yscale() == "log"


def _result(values):
    history = pd.DataFrame({"val_accuracy": values, "loss": values[::-1],
                            "seconds": [1.0] * len(values)})
    history.index = pd.RangeIndex(1, len(values) + 1, name="epoch")
    return TrainingResult(model=None, history=history, test={})


def test_plot_histories():
    results = {"a": _result([0.5, 0.6, 0.7]), "b": _result([0.4, 0.45, 0.5])}
    fig = plots.plot_histories(results)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.lines) == 2
    x, y = ax.lines[1].get_data()
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_array_equal(y, [0.4, 0.45, 0.5])
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    fig = plots.plot_histories(results, metric="loss")
    assert fig.axes[0].get_ylabel() == "loss"


def test_plot_histories_target_line_and_whole_epochs():
    fig = plots.plot_histories({"a": _result([0.5, 0.6, 0.7])}, target=0.65)
    ax = fig.axes[0]
    target = [line for line in ax.lines if line.get_label() == "target"]
    assert len(target) == 1
    np.testing.assert_array_equal(target[0].get_ydata(), [0.65, 0.65])
    assert all(float(tick).is_integer() for tick in ax.get_xticks())


def test_plot_histories_bad_metric():
    with pytest.raises(ValueError) as info:
        plots.plot_histories({"a": _result([0.5])}, metric="val_acc")
    assert "'val_acc'" in str(info.value) and "val_accuracy" in str(info.value)
