"""The chapter 7 figures: schedules drawn from the schedule objects, and the range test."""

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from companion import plots
from companion.schedules import OneCycleSchedule, RangeTestResult


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


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
