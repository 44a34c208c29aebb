"""The book's figures, drawn in one style and size."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from companion._quiet import tf
from companion.models import resolve_activation

STYLE = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": mpl.cycler(color=["#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                         "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]),
}


def use_book_style():
    """Apply the book's Matplotlib settings (called by :func:`companion.setup`).

    In a notebook, figures are also rendered at twice their pixel density
    ("retina"), so they stay sharp on high-DPI screens and in the website.
    """
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # a plain Python process: nothing is displayed inline
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def activation_and_derivative(activation, x):
    """Values of ``activation`` and of its derivative at ``x``, the derivative by ``tf.GradientTape``.

    Example:
        >>> y, dy = activation_and_derivative("sigmoid", np.array([0.0]))
        >>> float(y[0]), float(dy[0])
        (0.5, 0.25)
    """
    fn = resolve_activation(activation)
    x = tf.constant(np.asarray(x, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def plot_activations(activations, *, x_range=(-6.0, 6.0), points=601):
    """Plot each activation (left) and its derivative (right).

    Args:
        activations: names or callables, e.g. ``["sigmoid", "tanh"]``.

    Returns:
        The Matplotlib figure.

    Example:
        >>> fig = plot_activations(["sigmoid"])
    """
    x = np.linspace(*x_range, points)
    fig, (left, right) = plt.subplots(1, 2, sharex=True)
    for activation in activations:
        label = activation if isinstance(activation, str) else activation.__name__
        y, dy = activation_and_derivative(activation, x)
        left.plot(x, y, label=label)
        right.plot(x, dy, label=label)
    left.set(title="activation $f(z)$", xlabel="$z$")
    right.set(title="derivative $f'(z)$", xlabel="$z$")
    left.legend()
    return fig


def plot_layer_profiles(tables, column, *, ylabel=None, log=True, title=None,
                        hidden_only=True):
    """Plot one column of per-layer tables against depth, one line per configuration.

    Args:
        tables: a mapping from configuration name to a DataFrame with a
            ``depth`` column, such as :func:`companion.layer_statistics` or
            :func:`companion.gradient_norms` return.
        column: the column to plot, e.g. ``"std"`` or ``"gradient_norm"``.
        hidden_only: plot only the rows named ``hidden_*`` (the hidden layers of
            :func:`companion.build_mlp`), leaving out the output layer, whose
            softmax is on another scale.

    Example:
        >>> import pandas as pd
        >>> fig = plot_layer_profiles({"a": pd.DataFrame({"depth": [1, 2], "std": [1.0, 0.1]})}, "std")
    """
    fig, ax = plt.subplots()
    for name, table in tables.items():
        if column not in table:
            raise ValueError(f"table {name!r} has no column {column!r}; "
                             f"valid choices: {[c for c in table.columns if c != 'depth']}")
        if hidden_only:
            table = table[table.index.str.startswith("hidden_")]
        ax.plot(table["depth"], table[column], marker="o", markersize=3, label=name)
    ax.set(xlabel="layer (1 = nearest the input)", ylabel=ylabel or column, title=title)
    if log:
        ax.set_yscale("log")
    ax.legend()
    return fig


def plot_activation_histograms(outputs, layers, *, bins=50, value_range=None):
    """Histograms of the outputs of a few layers, side by side.

    Args:
        outputs: the dict :func:`companion.layer_outputs` returns.
        layers: the layer names to show.
        value_range: ``(low, high)`` of the histogram, e.g. ``(0, 1)`` for the sigmoid.
    """
    missing = [name for name in layers if name not in outputs]
    if missing:
        raise ValueError(f"unknown layers {missing}; valid choices: {list(outputs)}")
    fig, axes = plt.subplots(1, len(layers), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], layers):
        values = outputs[name].ravel()
        ax.hist(values, bins=bins, range=value_range,
                weights=np.full(values.shape, 1.0 / values.size))
        ax.set(title=name, xlabel="output")
    axes[0][0].set_ylabel("fraction of outputs")
    return fig


def plot_relative_updates(updates, *, title=None):
    """Bar chart of the relative update ``||dW|| / ||W||`` of each layer (log scale).

    Args:
        updates: a mapping (or pandas Series) from layer name to relative update.
    """
    names = list(updates.keys())
    fig, ax = plt.subplots()
    ax.bar(range(1, len(names) + 1), [updates[n] for n in names])
    ax.set(yscale="log", xlabel="layer (1 = nearest the input)",
           ylabel=r"$\|\Delta W\| \,/\, \|W\|$", title=title)
    return fig


def plot_histories(results, metric="val_accuracy", *, title=None):
    """Learning curves: ``metric`` per epoch for each training result.

    Args:
        results: a mapping from name to :class:`companion.training.TrainingResult`.
        metric: a column of the results' histories.
    """
    fig, ax = plt.subplots()
    for name, result in results.items():
        if metric not in result.history:
            raise ValueError(f"{name!r} has no metric {metric!r}; "
                             f"valid choices: {list(result.history.columns)}")
        ax.plot(result.history.index, result.history[metric], marker="o", label=name)
    ax.set(xlabel="epoch", ylabel=metric, title=title)
    ax.legend()
    return fig
