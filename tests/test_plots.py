"""The chapter 7 figures: schedules drawn from the schedule objects, and the range test."""


import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import re
import types
from matplotlib.figure import Figure

from companion.book import plots
from companion.book.style import STYLE
from companion.lab.training import TrainingResult
from companion.tools.calibration import reliability_data
from companion.tools.schedules import OneCycleSchedule, RangeTestResult


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


def test_plot_schedules_draws_each_schedule_from_its_formula():
    exponential = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.1)
    cycle = OneCycleSchedule(0.1, total_steps=200, warmup_fraction=0.5, annealing="linear")
    fig = plots.plot_schedules({"exponential": exponential, "1cycle": cycle, "constant": 0.05},
                               200)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["exponential", "1cycle", "constant"]
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), np.full(200, 0.05))
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(200))
    np.testing.assert_allclose(y, 0.1 * 0.1 ** (np.arange(200) / 100), rtol=1e-5)
    _, y = ax.lines[1].get_data()
    assert y[100] == pytest.approx(0.1) and y[0] == pytest.approx(0.1 / 25)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "step"


def test_plot_schedules_in_epochs_with_momentum():
    cycle = OneCycleSchedule(0.1, total_steps=300)
    fig = plots.plot_schedules({"1cycle": cycle}, 300, steps_per_epoch=100, momentum=True,
                               log=False)
    left, right = fig.axes
    x, _ = left.lines[0].get_data()
    assert x[-1] == pytest.approx(2.99) and left.get_xlabel() == "epoch"
    _, momentum = right.lines[0].get_data()
    assert momentum[0] == pytest.approx(0.95) and momentum[90] == pytest.approx(0.85)
    assert right.get_ylabel() == "momentum" and left.get_yscale() == "linear"


def test_plot_schedules_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        plots.plot_schedules({}, 10)
    exponential = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.1)
    with pytest.raises(ValueError, match="momentum"):
        plots.plot_schedules({"exp": exponential}, 10, momentum=True)


def test_plot_lr_range_test_marks_minimum_and_suggestion():
    rates = np.logspace(-4, 0, 50)
    loss = 2.0 - np.exp(-((np.log10(rates) + 1.5) ** 2))
    loss[-1] = np.inf
    history = pd.DataFrame({"learning_rate": rates, "loss": loss,
                            "smoothed": np.where(np.isfinite(loss), loss, np.nan)})
    result = RangeTestResult(history=history, min_loss_rate=rates[31], suggestion=rates[31] / 10,
                             stopped_early=True, planned_steps=60)
    fig = plots.plot_lr_range_test(result, title="range test")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "range test"
    assert len(ax.lines) == 4
    assert ax.lines[2].get_xdata()[0] == pytest.approx(rates[31])
    assert ax.lines[3].get_xdata()[0] == pytest.approx(rates[31] / 10)
    low, high = ax.get_ylim()
    assert np.isfinite(high) and low < loss.min() < high


def make_sweep(depth=4, seeds=(1,)):
    """A hand-made sweep: 2 activations x 2 initializers, with a known ratio per cell."""
    rows = []
    for a, activation in enumerate(["tanh", "relu"]):
        for i, initializer in enumerate(["A", "B"]):
            for seed in seeds:
                for layer in range(1, depth + 1):
                    ratio = (10.0 * a + i + 1) * 0.5**layer
                    if activation == "relu" and initializer == "B" and layer >= 3:
                        ratio = np.inf  # an overflow
                    rows.append({"activation": activation, "initializer": initializer,
                                 "seed": seed, "width": 8, "layer": layer, "ratio": ratio})
    return pd.DataFrame(rows)


def test_heatmap_draws_ratios_row_by_row():
    sweep = make_sweep()
    fig = plots.plot_std_heatmap(sweep, vmin=1e-2, vmax=1e2, title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["tanh · A", "tanh · B", "relu · A", "relu · B"]
    data = ax.images[0].get_array()
    expected = np.array([[(10.0 * a + i + 1) * 0.5**layer for layer in range(1, 5)]
                         for a in range(2) for i in range(2)])
    np.testing.assert_allclose(data[:3], expected[:3])
    np.testing.assert_allclose(data[3, :2], expected[3, :2])
    assert np.ma.getmaskarray(data)[3, 2:].all()  # the overflowed cells are "bad" (black)
    assert ax.images[0].norm.vmin == 1e-2 and ax.images[0].norm.vmax == 1e2
    assert len(ax.lines) == 1  # one separator between the two activations
    assert len(fig.axes) == 2 and ax.get_title() == "t"  # the plot and its colour bar


def test_heatmap_dead_layer_is_below_scale_not_bad():
    sweep = make_sweep()
    sweep.loc[(sweep.activation == "tanh") & (sweep.initializer == "A"), "ratio"] = 0.0
    data = plots.plot_std_heatmap(sweep).axes[0].images[0].get_array()
    assert not np.ma.getmaskarray(data)[0].any() and (data[0] < 1e-2).all()


def test_heatmap_errors():
    with pytest.raises(ValueError, match="several networks"):
        plots.plot_std_heatmap(make_sweep(seeds=(1, 2)))
    with pytest.raises(ValueError, match="lacks"):
        plots.plot_std_heatmap(make_sweep().drop(columns="ratio"))
    with pytest.raises(ValueError, match="vmin"):
        plots.plot_std_heatmap(make_sweep(), vmin=1.0, vmax=0.5)


def test_line_plots_one_panel_per_value():
    sweep = make_sweep()
    fig = plots.plot_std_ratios(sweep, band=(0.5, 2.0), ylim=(1e-3, 1e3))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["activation = tanh", "activation = relu"]
    tanh, relu = axes
    assert [line.get_label() for line in tanh.lines] == ["A", "B"]
    x, y = tanh.lines[1].get_data()
    np.testing.assert_array_equal(x, [1, 2, 3, 4])
    np.testing.assert_allclose(y, 2 * 0.5 ** np.arange(1, 5))
    _, overflowed = relu.lines[1].get_data()
    assert np.isnan(overflowed[2:]).all() and np.isfinite(overflowed[:2]).all()
    assert tanh.get_yscale() == "log" and tanh.get_ylim() == pytest.approx((1e-3, 1e3))
    assert len(tanh.patches) == 1  # the shaded band
    assert tanh.lines[0].get_linestyle() != tanh.lines[1].get_linestyle()


def test_line_plots_other_grouping_and_hidden_spare_axis():
    sweep = make_sweep(seeds=(1, 2, 3))
    sweep = sweep[(sweep.activation == "relu") & (sweep.initializer == "A")]
    fig = plots.plot_std_ratios(sweep, panel="seed", line="initializer", band=None,
                                legend=False, title="spread")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 4 and len(visible) == 3  # 2 x 2 grid, one spare
    assert all(not ax.patches for ax in visible)
    assert visible[0].get_legend() is None
    assert fig._suptitle.get_text() == "spread"


def test_line_plots_errors():
    with pytest.raises(ValueError, match="unknown panel .depth.; valid choices"):
        plots.plot_std_ratios(make_sweep(), panel="depth")
    with pytest.raises(ValueError, match="several networks"):
        plots.plot_std_ratios(make_sweep(seeds=(1, 2)))


def fake_result(losses, val_losses):
    history = pd.DataFrame({"loss": losses, "val_loss": val_losses},
                           index=pd.RangeIndex(1, len(losses) + 1, name="epoch"))
    return types.SimpleNamespace(history=history)


def test_learning_curves_draw_two_lines_per_run_and_the_marks():
    runs = {"a": fake_result([1.0, 0.5, 0.3], [1.1, 0.9, 1.0]),
            "b": fake_result([1.0, 0.7, 0.6], [1.0, 0.8, 0.7])}
    fig = plots.plot_learning_curves(runs, "loss", marks={"a": 2})
    ax = fig.axes[0]
    solid = [line for line in ax.lines if line.get_linestyle() == "-"]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(solid) == 2 and len(dashed) == 2
    np.testing.assert_allclose(dashed[0].get_ydata(), [1.0, 0.5, 0.3])
    marks = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == 2


def test_learning_curves_whole_epoch_ticks_and_a_legend_off_the_axes_for_many_runs():
    runs = {name: fake_result([1.0, 0.5, 0.3], [1.1, 0.9, 1.0]) for name in "abcd"}
    fig = plots.plot_learning_curves(runs, "loss")
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert ax.get_legend() is None and len(fig.legends) == 1
    renderer = fig.canvas.get_renderer()
    legend_box = fig.legends[0].get_window_extent(renderer)
    assert legend_box.y1 <= ax.get_window_extent(renderer).y0  # wholly below the axes
    assert len(fig.legends[0].get_texts()) == 8
    few = plots.plot_learning_curves(dict(list(runs.items())[:2]), "loss")
    assert few.axes[0].get_legend() is not None and not few.legends


def test_learning_curves_reject_a_missing_metric():
    with pytest.raises(ValueError, match="no metric .accuracy."):
        plots.plot_learning_curves({"a": fake_result([1.0], [1.0])}, "accuracy")


def test_reliability_diagram_plots_the_non_empty_bins():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    table = reliability_data(probs, [0, 1, 1, 0], n_bins=5)
    fig = plots.plot_reliability({"model": table})
    top = fig.axes[0]
    line = top.lines[1]  # after the diagonal
    full = table[table["count"] > 0]
    np.testing.assert_allclose(line.get_xdata(), full["confidence"])
    np.testing.assert_allclose(line.get_ydata(), full["accuracy"])


def test_reliability_diagram_rejects_other_tables():
    with pytest.raises(ValueError, match="lacks columns"):
        plots.plot_reliability({"model": pd.DataFrame({"count": [1]})})


def test_uncertain_examples_one_column_per_index():
    rng = np.random.default_rng(0)
    images = rng.random((5, 28, 28))
    mean = np.full((5, 10), 0.1)
    fig = plots.plot_uncertain_examples(images, mean, np.zeros((5, 10)),
                                        np.arange(5), [0, 3])
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="indices"):
        plots.plot_uncertain_examples(images, mean, mean, np.arange(5), [])


def test_image_grid_shape():
    fig = plots.plot_image_grid(np.zeros((2, 3, 28, 28, 1)), row_labels=["a", "b"])
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="rows, columns"):
        plots.plot_image_grid(np.zeros((28, 28)))


def test_uncertain_examples_wrap_into_rows_of_at_most_four():
    rng = np.random.default_rng(0)
    images, mean = rng.random((9, 28, 28)), np.full((9, 10), 0.1)
    fig = plots.plot_uncertain_examples(images, mean, np.zeros((9, 10)), np.arange(9),
                                        range(9))
    # one image and one bar chart per example; the three unused places are removed
    assert len(fig.axes) == 18
    lefts = {round(ax.get_position().x0, 3) for ax in fig.axes}
    assert len(lefts) == 4
    assert fig.get_size_inches()[0] == STYLE["figure.figsize"][0]


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

PER_SEED = pd.DataFrame({"configuration": ["a", "a", "b", "b"], "score": [0.8, 0.9, 0.7, 0.75]})


@pytest.mark.parametrize("call, error, message", [
    (lambda: plots.plot_activations("relu"), TypeError,
     "activations must be a list of names or functions, got the string 'relu'; write ['relu']"),
    (lambda: plots.plot_activations(["bogus"]), ValueError, "unknown activation 'bogus' in activations"),
    (lambda: plots.plot_activations(["relu"], points=0), ValueError,
     "points must be an integer >= 2, got 0"),
    (lambda: plots.plot_activation_grid(["relu"], x_range=(1.0, float("nan"))), ValueError,
     "x_range must be (low, high) with low < high"),
    (lambda: plots.plot_activation_histograms({"h": np.ones(3)}, "h"), TypeError,
     "layers must be a list of names, got the string 'h'"),
    (lambda: plots.plot_relative_updates({"a": float("nan")}), ValueError,
     "updates['a'] must be a finite number in [0, inf), got nan"),
    (lambda: plots.plot_histories({"a": 3}), TypeError, "results['a'] must have history (a TrainingResult)"),
    (lambda: plots.plot_schedules({"a": OneCycleSchedule(0.1, 100)}, 0), ValueError,
     "steps must be an integer >= 1, got 0"),
    (lambda: plots.plot_schedules({"a": "x"}, 10), ValueError,
     "schedules['a'] must be a finite number in (0, inf), got 'x'"),
    (lambda: plots.plot_lr_range_test(None), TypeError,
     "result must be what lr_range_test returns (a RangeTestResult), got NoneType"),
    (lambda: plots.plot_seed_points(PER_SEED, "score", reference="x"), ValueError,
     "reference must be a finite number in (-inf, inf), got 'x'"),
    (lambda: plots.plot_std_heatmap(make_sweep(), vmin=float("nan")), ValueError,
     "vmin must be a finite number in (0, inf), got nan"),
    (lambda: plots.plot_std_ratios(make_sweep(), ylim=(0.0, 1.0)), ValueError,
     "ylim must be (low, high) with 0 < low < high (a log axis), got (0.0, 1.0)"),
    (lambda: plots.plot_trajectories("abc", {}), TypeError, "landscapes must be a list of Landscape, got str"),
    (lambda: plots.plot_image_grid(np.zeros((1, 1, 2, 2)), cmap="bogus"), ValueError,
     "unknown cmap 'bogus'; valid choices"),
    (lambda: plots.plot_image_grid(np.zeros((2, 1, 2, 2)), row_labels=["a"]), ValueError,
     "row_labels must label the 2 rows, got 1"),
    (lambda: plots.plot_clipped_gradients(np.ones(2), {}), ValueError, "clipped is empty"),
    (lambda: plots.plot_clipped_gradients(np.ones(2), {"c": np.ones(2)}, threshold=-1.0),
     ValueError, "threshold must be a finite number in (0, inf), got -1.0"),
    (lambda: plots.plot_self_normalization({"a": 3}), TypeError, "tables['a'] must be a DataFrame"),
    (lambda: plots.plot_bake_off({"a": fake_result([1.0], [1.0])}, metrics="loss"), TypeError,
     "metrics must be a list of names, got the string 'loss'"),
    (lambda: plots.plot_time_to_accuracy(pd.DataFrame(columns=["configuration", "reached",
                                                               "seconds_counted"])),
     ValueError, "runs is empty"),
    (lambda: plots.plot_uncertain_examples(np.zeros((2, 28, 28)), np.full((2, 3), 1 / 3),
                                           np.zeros((2, 3)), np.array([0, 1]), [5]),
     ValueError, "indices[0] must be an integer in [0, 1], got 5"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
    plt.close("all")


def test_numpy_counts_are_accepted():
    fig = plots.plot_schedules({"a": OneCycleSchedule(0.1, 100)}, np.int64(10),
                               steps_per_epoch=np.int64(5))
    assert len(fig.axes[0].lines[0].get_xdata()) == 10
    plt.close("all")
