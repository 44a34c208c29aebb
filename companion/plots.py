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


def _one_network_per(sweep, keys, what):
    """The sweep's rows for each ``keys`` combination, checked to hold one network each."""
    missing = [c for c in (*keys, "layer", "ratio") if c not in sweep]
    if missing:
        raise ValueError(f"sweep lacks columns {missing}; pass what companion.depth_sweep returns")
    if sweep.duplicated([*keys, "layer"]).any():
        raise ValueError(f"the sweep holds several networks per {what}; select one seed and "
                         "one width first, e.g. sweep[sweep.seed == 42]")
    return sweep.groupby(list(keys), sort=False)


def plot_std_heatmap(sweep, *, vmin=1e-2, vmax=1e2, title=None):
    """Heat map of the activation-std ratio by layer, one row per activation x initializer.

    Args:
        sweep: a :func:`companion.depth_sweep` result with one network per
            (activation, initializer).
        vmin, vmax: the colour scale's range (log scale); values beyond are
            drawn in the end colours. Layers whose outputs overflowed float32
            are drawn in black.

    Returns:
        The Matplotlib figure; rows are labelled ``"activation · initializer"``.
    """
    if not 0 < vmin < vmax:
        raise ValueError(f"need 0 < vmin < vmax, got vmin={vmin!r}, vmax={vmax!r}")
    groups = _one_network_per(sweep, ("activation", "initializer"), "activation and initializer")
    labels, rows = [], []
    for (activation, initializer), frame in groups:
        frame = frame.sort_values("layer")
        labels.append(f"{activation} · {initializer}")
        rows.append(frame["ratio"].to_numpy(dtype=float))
    if len({len(r) for r in rows}) != 1:
        raise ValueError("every network of the sweep must have the same depth")
    values = np.array(rows)
    values[np.isinf(values)] = np.nan  # overflow: drawn as "bad"
    values[values <= 0] = vmin / 10  # a layer of dead units: below the scale, not "bad"
    layers = np.sort(sweep["layer"].unique())
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="black")
    fig, ax = plt.subplots(figsize=(7.0, 1.3 + 0.26 * len(labels)))
    image = ax.imshow(values, aspect="auto", cmap=cmap, interpolation="nearest",
                      norm=mpl.colors.LogNorm(vmin=vmin, vmax=vmax),
                      extent=(layers[0] - 0.5, layers[-1] + 0.5, len(labels) - 0.5, -0.5))
    ax.set_yticks(range(len(labels)), labels)
    activations = [label.split(" · ")[0] for label in labels]
    for i in range(1, len(labels)):
        if activations[i] != activations[i - 1]:
            ax.axhline(i - 0.5, color="white", linewidth=2)
    ax.grid(False)
    ax.set(xlabel="layer (1 = nearest the input)", title=title)
    bar = fig.colorbar(image, ax=ax, extend="both")
    bar.set_label("std of outputs / std of input")
    return fig


LINESTYLES = ("-", "--", "-.", ":")


def plot_std_ratios(sweep, *, panel="activation", line="initializer", band=(0.5, 2.0),
                    ylim=(1e-3, 1e3), title=None, legend=True):
    """Line plots of the activation-std ratio against depth, one panel per ``panel`` value.

    Args:
        sweep: a :func:`companion.depth_sweep` result.
        panel: the column whose values get a panel each, e.g. ``"activation"``
            or ``"width"``.
        line: the column whose values get a line each, e.g. ``"initializer"``
            or ``"seed"``.
        band: ``(low, high)``, shaded; ``None`` for no band.
        ylim: the y range (log scale); overflowed layers (``inf``) are not drawn.

    Returns:
        The Matplotlib figure.
    """
    for column in (panel, line):
        if column not in sweep:
            raise ValueError(f"unknown column {column!r}; valid choices: {list(sweep.columns)}")
    _one_network_per(sweep, (panel, line), f"{panel} and {line}")
    panels = list(dict.fromkeys(sweep[panel]))
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False,
                             figsize=(7.0, 0.6 + 2.6 * nrows))
    for ax, value in zip(axes.flat, panels):
        frame = sweep[sweep[panel] == value]
        for i, name in enumerate(dict.fromkeys(frame[line])):
            rows = frame[frame[line] == name].sort_values("layer")
            ratio = rows["ratio"].to_numpy(dtype=float)
            # Styles alternate so that lines lying on top of each other stay visible.
            ax.plot(rows["layer"], np.where(np.isinf(ratio), np.nan, ratio), label=str(name),
                    linestyle=LINESTYLES[i % len(LINESTYLES)])
        if band is not None:
            ax.axhspan(*band, color="0.85", zorder=0)
        ax.set(yscale="log", ylim=ylim, title=f"{panel} = {value}")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("layer")
    for ax in axes[:, 0]:
        ax.set_ylabel("std / input std")
    if legend:
        axes.flat[0].legend(title=line)
    if title:
        fig.suptitle(title)
    return fig


def plot_schedules(schedules, steps, *, steps_per_epoch=None, log=True, momentum=False,
                   title=None):
    """Learning rate against the step, computed from each schedule object itself.

    Args:
        schedules: a mapping from name to a ``LearningRateSchedule`` (or any
            function of the step), evaluated with
            :func:`companion.schedules.schedule_values`, or to a number (a
            constant rate).
        steps: the number of steps to draw, from 0.
        steps_per_epoch: when given, the horizontal axis counts epochs.
        log: a logarithmic learning-rate axis.
        momentum: add a right panel with the momentum of the schedules that
            have one (such as :class:`companion.OneCycleSchedule`).

    Example:
        >>> import keras
        >>> fig = plot_schedules({"exp": keras.optimizers.schedules.ExponentialDecay(
        ...     0.1, 100, 0.1)}, 200)
    """
    from companion.schedules import schedule_values

    if not schedules:
        raise ValueError("schedules is empty: give at least one name -> schedule")
    cycled = {name: s for name, s in schedules.items() if callable(getattr(s, "momentum", None))}
    if momentum and not cycled:
        raise ValueError("momentum=True, but no schedule has a momentum(step) method")
    fig, axes = plt.subplots(1, 2 if momentum else 1, squeeze=False)
    x = np.arange(steps)
    scale = 1.0 if steps_per_epoch is None else float(steps_per_epoch)
    for name, schedule in schedules.items():
        values = (np.full(steps, float(schedule)) if isinstance(schedule, (int, float))
                  else schedule_values(schedule, steps))
        axes[0, 0].plot(x / scale, values, label=name)
    axes[0, 0].set(ylabel="learning rate", yscale="log" if log else "linear", title=title)
    if momentum:
        for name, schedule in cycled.items():
            axes[0, 1].plot(x / scale, schedule_values(schedule.momentum, steps), label=name,
                            color="#2ca02c")
        axes[0, 1].set(ylabel="momentum")
    for ax in axes[0]:
        ax.set_xlabel("step" if steps_per_epoch is None else "epoch")
    axes[0, 0].legend()
    return fig


def plot_lr_range_test(result, *, title=None):
    """Loss against learning rate (log axis) from :func:`companion.lr_range_test`.

    Draws each batch's loss (faint), its smoothed curve, and vertical lines at
    the rate of the smoothed minimum and at the suggested rate.

    Args:
        result: a :class:`companion.schedules.RangeTestResult`.
    """
    history = result.history
    fig, ax = plt.subplots()
    ax.plot(history["learning_rate"], history["loss"], alpha=0.3, linewidth=1,
            label="loss of each batch")
    ax.plot(history["learning_rate"], history["smoothed"], label="smoothed")
    ax.axvline(result.min_loss_rate, color="#7f7f7f", linestyle="--",
               label=f"minimum, {result.min_loss_rate:.3g}")
    ax.axvline(result.suggestion, color="#2ca02c", linestyle="--",
               label=f"suggestion, {result.suggestion:.3g}")
    smoothed = history["smoothed"].dropna()
    top = 1.25 * max(smoothed.iloc[: max(len(smoothed) // 10, 1)].max(), smoothed.min())
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss", title=title,
           ylim=(0.9 * np.nanmin(history["loss"]), top))
    ax.legend()
    return fig
