"""The chapter 2 figures: the std-ratio heat map and line plots draw the sweep's numbers."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from companion import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


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
    with pytest.raises(ValueError, match="unknown column"):
        plots.plot_std_ratios(make_sweep(), panel="depth")
    with pytest.raises(ValueError, match="several networks"):
        plots.plot_std_ratios(make_sweep(seeds=(1, 2)))
