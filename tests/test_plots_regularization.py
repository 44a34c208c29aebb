"""Chapter 8's figures: learning curves, reliability diagram, uncertain examples, image grid."""

import types

import numpy as np
import pandas as pd
import pytest

from companion import plots
from companion.calibration import reliability_data


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
    assert fig.get_size_inches()[0] == plots.STYLE["figure.figsize"][0]
