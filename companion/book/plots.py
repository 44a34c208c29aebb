"""The book's figures, drawn in one style and size."""

import types

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from companion.book.style import STYLE
from companion.lab.activations import activation_and_derivative
from companion.lab.models import resolve_activation
from companion.lab.seeds import seed_summary
from companion.tools.checks import (
    check_array, check_attributes, check_bool, check_choice, check_columns, check_int,
    check_list, check_mapping, check_names, check_range, check_real)
from companion.tools.optim import Landscape
from companion.tools.schedules import RangeTestResult, schedule_values


def _check_activations(activations):
    """A non-empty list of activation names or functions; a bare string is refused."""
    activations = check_list("activations", activations, what="names or functions",
                             single=(types.FunctionType, types.BuiltinFunctionType))
    if not activations:
        raise ValueError("activations is empty: give at least one")
    for activation in activations:
        resolve_activation(activation, within="activations")
    return activations


def _check_results(results, what="names to TrainingResults"):
    check_mapping("results", results, what=what)
    for name, result in results.items():
        check_attributes(f"results[{name!r}]", result, ("history",),
                         what="a TrainingResult")
    return results


def _check_optional_real(name, value, **bounds):
    return None if value is None else check_real(name, value, **bounds)


def plot_activations(activations, *, x_range=(-6.0, 6.0), points=601):
    """Plot each activation (left) and its derivative (right).

    Args:
        activations: names or callables, e.g. ``["sigmoid", "tanh"]``.

    Returns:
        The Matplotlib figure.

    Example:
        >>> fig = plot_activations(["sigmoid"])
    """
    activations = _check_activations(activations)
    x = np.linspace(*check_range("x_range", x_range), check_int("points", points, minimum=2))
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
        >>> table = pd.DataFrame({"depth": [1, 2], "std": [1.0, 0.1]},
        ...                      index=["hidden_1", "hidden_2"])
        >>> fig = plot_layer_profiles({"a": table}, "std")
    """
    check_mapping("tables", tables, what="configuration names to per-layer tables")
    for name, table in tables.items():
        check_columns(f"tables[{name!r}]", table, ("depth",),
                      what="a per-layer table such as layer_statistics returns")
        if column not in table:
            raise ValueError(f"table {name!r} has no column {column!r}; "
                             f"valid choices: {[c for c in table.columns if c != 'depth']}")
    log = check_bool("log", log)
    hidden_only = check_bool("hidden_only", hidden_only)
    fig, ax = plt.subplots()
    for name, table in tables.items():
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
    check_mapping("outputs", outputs, what="layer names to outputs (layer_outputs)")
    layers = check_names("layers", layers, choices=list(outputs))
    bins = check_int("bins", bins, minimum=1)
    if value_range is not None:
        value_range = check_range("value_range", value_range)
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
    if not hasattr(updates, "items") or isinstance(updates, str):
        raise TypeError(f"updates must be a mapping (or a pandas Series) from layer names to "
                        f"relative updates, got {type(updates).__name__}")
    updates = dict(updates.items())
    if not updates:
        raise ValueError("updates is empty: give at least one layer")
    # a log axis: a zero (a layer that did not move) is left out of the picture, not an error
    values = [check_real(f"updates[{n!r}]", v, low=0) for n, v in updates.items()]
    names = list(updates)
    fig, ax = plt.subplots()
    ax.bar(range(1, len(names) + 1), values)
    ax.set(yscale="log", xlabel="layer (1 = nearest the input)",
           ylabel=r"$\|\Delta W\| \,/\, \|W\|$", title=title)
    return fig


def plot_histories(results, metric="val_accuracy", *, target=None, title=None):
    """Learning curves: ``metric`` per epoch for each training result.

    Args:
        results: a mapping from name to :class:`companion.lab.training.TrainingResult`.
        metric: a column of the results' histories.
        target: if given, a dashed horizontal line at this value (the target
            of an epochs-to-target comparison).
    """
    _check_results(results)
    target = _check_optional_real("target", target)
    for name, result in results.items():
        if metric not in result.history:
            raise ValueError(f"{name!r} has no metric {metric!r}; "
                             f"valid choices: {list(result.history.columns)}")
    fig, ax = plt.subplots()
    for name, result in results.items():
        ax.plot(result.history.index, result.history[metric], marker="o", label=name)
    if target is not None:
        ax.axhline(target, color="0.3", linestyle="--", linewidth=1, label="target")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel=metric.replace("_", " "), title=title)
    ax.legend()
    return fig


def _one_network_per(sweep, keys, what):
    """The sweep's rows for each ``keys`` combination, checked to hold one network each."""
    check_columns("sweep", sweep, (*keys, "layer", "ratio"), what="what companion.depth_sweep returns")
    if sweep.empty:
        raise ValueError("sweep is empty: it holds no network to draw")
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
    vmin = check_real("vmin", vmin, low=0, closed="neither")
    vmax = check_real("vmax", vmax, low=0, closed="neither")
    if not vmin < vmax:
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
    fig, ax = plt.subplots(figsize=(STYLE["figure.figsize"][0], 1.3 + 0.26 * len(labels)))
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
    check_columns("sweep", sweep, (), what="what companion.depth_sweep returns")
    check_choice("panel", panel, list(sweep.columns))
    check_choice("line", line, list(sweep.columns))
    if band is not None:
        band = check_range("band", band, low=0)
    ylim = check_range("ylim", ylim, low=0)
    if ylim[0] == 0:
        raise ValueError(f"ylim must be (low, high) with 0 < low < high (a log axis), got {ylim!r}")
    legend = check_bool("legend", legend)
    _one_network_per(sweep, (panel, line), f"{panel} and {line}")
    panels = list(dict.fromkeys(sweep[panel]))
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False,
                             figsize=(STYLE["figure.figsize"][0], 0.6 + 2.6 * nrows))
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
            :func:`companion.tools.schedules.schedule_values`, or to a number (a
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
    check_mapping("schedules", schedules, what="names to schedules or rates")
    for name, schedule in schedules.items():
        if not callable(schedule):
            check_real(f"schedules[{name!r}]", schedule, low=0, closed="neither")
    steps = check_int("steps", steps, minimum=1)
    if steps_per_epoch is not None:
        steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, minimum=1)
    log = check_bool("log", log)
    momentum = check_bool("momentum", momentum)
    cycled = {name: s for name, s in schedules.items() if callable(getattr(s, "momentum", None))}
    if momentum and not cycled:
        raise ValueError("momentum=True, but no schedule has a momentum(step) method")
    fig, axes = plt.subplots(1, 2 if momentum else 1, squeeze=False)
    x = np.arange(steps)
    scale = 1.0 if steps_per_epoch is None else float(steps_per_epoch)
    for name, schedule in schedules.items():
        values = (schedule_values(schedule, steps) if callable(schedule)
                  else np.full(steps, float(schedule)))
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
        result: a :class:`companion.tools.schedules.RangeTestResult`.
    """
    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be what lr_range_test returns (a RangeTestResult), got "
                        f"{type(result).__name__}")
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


def plot_seed_points(per_seed, metric, *, by="configuration", confidence=0.95,
                     reference=None, ylabel=None, title=None):
    """Per-seed values as points, with each group's mean and t confidence interval.

    Each group of ``per_seed`` (a table such as :func:`companion.run_seeds` or
    :func:`companion.paired_differences` returns) gets a column of points, one
    per seed, spread sideways so that equal values stay visible, and beside
    them its mean (a bar) and confidence interval (a vertical line), computed
    by :func:`companion.seed_summary`.

    Args:
        metric: the column to plot, e.g. ``"test_accuracy"`` or ``"difference"``.
        by: the column naming the groups.
        reference: a value to draw a horizontal dashed line at (``0`` for
            differences); ``None`` for none.

    Example:
        >>> import pandas as pd
        >>> fig = plot_seed_points(pd.DataFrame({"configuration": ["a", "a", "b", "b"],
        ...                                      "acc": [0.9, 0.92, 0.91, 0.95]}), "acc")
    """
    summary = seed_summary(per_seed, metric, by=by, confidence=confidence)
    reference = _check_optional_real("reference", reference)
    fig, ax = plt.subplots(figsize=(STYLE["figure.figsize"][0], 3.4))
    offsets = np.random.default_rng(0)
    for i, (name, row) in enumerate(summary.iterrows()):
        values = per_seed.loc[per_seed[by] == name, metric].to_numpy(dtype=float)
        jitter = offsets.uniform(-0.12, 0.12, size=values.size)
        ax.scatter(i - 0.15 + jitter, values, s=18, alpha=0.7, color=f"C{i}",
                   label="one seed" if i == 0 else None)
        ax.errorbar(i + 0.2, row["mean"], yerr=[[row["mean"] - row["ci_low"]],
                                                [row["ci_high"] - row["mean"]]],
                    fmt="D", color="black", capsize=4, markersize=5,
                    label=f"mean, {confidence:.0%} interval" if i == 0 else None)
    if reference is not None:
        ax.axhline(reference, color="#7f7f7f", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(summary)), [str(n) for n in summary.index])
    ax.set_xlim(-0.6, len(summary) - 0.4)
    ax.set(ylabel=ylabel or metric, title=title)
    ax.legend()
    _tilt_crowded_tick_labels(fig, ax)
    return fig


def _tilt_crowded_tick_labels(fig, ax, *, gap_px=4.0):
    """Tilt the x tick labels by 45 degrees when, drawn level, neighbours would touch."""
    fig.canvas.draw()  # lays the figure out, so the labels sit where they will be shown
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in ax.get_xticklabels()]
    if any(left.x1 + gap_px > right.x0 for left, right in zip(boxes, boxes[1:])):
        plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")


def plot_trajectories(landscapes, paths, *, levels=20, title=None):
    """Optimizer paths drawn over the contours of 2-D landscapes, one panel each.

    Args:
        landscapes: a list of :class:`companion.tools.optim.Landscape`.
        paths: a mapping from a landscape's name to a mapping from optimizer
            name to its path, an array ``(steps + 1, 2)`` such as
            :func:`companion.tools.optim.trajectory` returns.
        levels: number of contour levels (spaced logarithmically).

    Example:
        >>> import keras
        >>> from companion.tools import optim
        >>> bowl = optim.ill_conditioned_quadratic()
        >>> path = optim.trajectory(keras.optimizers.SGD(0.03), bowl, steps=20)
        >>> fig = plot_trajectories([bowl], {bowl.name: {"SGD": path}})
    """
    if isinstance(landscapes, Landscape) or not isinstance(landscapes, (list, tuple)):
        raise TypeError(f"landscapes must be a list of Landscape, got "
                        f"{type(landscapes).__name__}")
    if not landscapes:
        raise ValueError("landscapes is empty: give at least one Landscape")
    for i, land in enumerate(landscapes):
        if not isinstance(land, Landscape):
            raise TypeError(f"landscapes[{i}] must be a Landscape, got {type(land).__name__}")
    check_mapping("paths", paths, what="landscape names to {optimizer name: path}")
    missing = [land.name for land in landscapes if land.name not in paths]
    if missing:
        raise ValueError(f"no paths for {missing}; paths has {sorted(paths)}")
    levels = check_int("levels", levels, minimum=2)
    for land in landscapes:
        check_mapping(f"paths[{land.name!r}]", paths[land.name], what="optimizer names to paths")
        for name, path in paths[land.name].items():
            path = check_array(f"paths[{land.name!r}][{name!r}]", path, finite=False)
            if path.ndim != 2 or path.shape[1] != 2:
                raise ValueError(f"paths[{land.name!r}][{name!r}] must have shape (steps, 2), "
                                 f"got {path.shape}")
    fig, axes = plt.subplots(1, len(landscapes), squeeze=False,
                             figsize=(STYLE["figure.figsize"][0], 3.8))
    for ax, land in zip(axes[0], landscapes):
        x = np.linspace(*land.xlim, 300)
        y = np.linspace(*land.ylim, 300)
        grid = np.stack(np.meshgrid(x, y))
        z = land(grid) - land(np.array(land.minimum, dtype=np.float64))
        ax.contour(x, y, z, levels=np.geomspace(max(z.max() * 1e-5, 1e-9), z.max(), levels),
                   colors="#b0b0b0", linewidths=0.6)
        for name, path in paths[land.name].items():
            path = np.asarray(path)
            ax.plot(path[:, 0], path[:, 1], linewidth=1.2, label=name)
        ax.plot(*land.start, "o", color="black", markersize=4)
        ax.plot(*land.minimum, "*", color="black", markersize=10)
        ax.set(xlim=land.xlim, ylim=land.ylim, xlabel="$x$", ylabel="$y$", title=land.name)
        ax.grid(False)
    axes[0, -1].legend(loc="best", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_learning_curves(results, metric="loss", *, marks=None, title=None):
    """Training (dashed) and validation (solid) ``metric`` per epoch, one colour per run.

    Args:
        results: a mapping from name to :class:`companion.lab.training.TrainingResult`.
        metric: a metric logged for both splits, e.g. ``"loss"`` (plots ``loss``
            and ``val_loss``).
        marks: optional mapping from a run's name to an epoch to mark with a
            dotted vertical line (e.g. the epoch early stopping restored).
    """
    _check_results(results)
    if marks is not None:
        check_mapping("marks", marks, min_size=0, what="run names to epochs")
        for name, epoch in marks.items():
            if epoch is not None:
                check_real(f"marks[{name!r}]", epoch)
    crowded = len(results) >= 3  # then the legend goes below the axes, in two columns
    width, height = STYLE["figure.figsize"]
    fig, ax = plt.subplots(figsize=(width, height + (0.3 * len(results) if crowded else 0)),
                           layout="constrained")  # makes room for the legend below
    colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, result) in enumerate(results.items()):
        history = result.history
        for column in (metric, f"val_{metric}"):
            if column not in history:
                raise ValueError(f"{name!r} has no metric {column!r}; "
                                 f"valid choices: {list(history.columns)}")
        color = colors[index % len(colors)]
        ax.plot(history.index, history[metric], linestyle="--", color=color,
                label=f"{name} (training)")
        ax.plot(history.index, history[f"val_{metric}"], color=color,
                label=f"{name} (validation)")
        if marks and name in marks and marks[name] is not None:
            ax.axvline(marks[name], color=color, linestyle=":", linewidth=1.2)
    ax.set(xlabel="epoch", ylabel=metric, title=title)
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
    if crowded:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2)
    else:
        ax.legend()
    return fig


def plot_reliability(tables, *, title=None):
    """Reliability diagram: accuracy against confidence per bin, one line per model.

    Args:
        tables: a mapping from a model's name to the DataFrame that
            :func:`companion.tools.calibration.reliability_data` returns.

    The top panel plots each non-empty bin's accuracy against its mean
    confidence, with the diagonal of perfect calibration; the bottom panel the
    fraction of examples in each bin (log scale).
    """
    check_mapping("tables", tables, what="model names to reliability_data tables")
    for name, table in tables.items():
        check_columns(f"tables[{name!r}]", table,
                      ("lower", "upper", "count", "confidence", "accuracy"),
                      what="what companion.tools.calibration.reliability_data returns")
    fig, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(5.5, 5.2), gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="#7f7f7f", linestyle="--", linewidth=1,
             label="perfect calibration")
    for name, table in tables.items():
        missing = {"lower", "upper", "count", "confidence", "accuracy"} - set(table)
        if missing:
            raise ValueError(f"{name!r} lacks columns {sorted(missing)}; pass what "
                             "companion.tools.calibration.reliability_data returns")
        full = table[table["count"] > 0]
        top.plot(full["confidence"], full["accuracy"], marker="o", label=name)
        centres = (table["lower"] + table["upper"]) / 2
        bottom.plot(centres, table["count"] / table["count"].sum(), marker=".", label=name)
    top.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.02), title=title)
    top.legend()
    bottom.set(xlabel="confidence (largest predicted probability)",
               ylabel="fraction", yscale="log")
    return fig


def plot_uncertain_examples(images, mean, std, labels, indices, *, class_names=None,
                            columns=4):
    """Images and their MC mean probabilities with +-1 std bars (the row below each).

    Args:
        images: the inputs, e.g. 28x28 grey-scale images.
        mean, std: per-example arrays ``(n, n_classes)`` from
            :func:`companion.tools.uncertainty.mc_predict`.
        labels: true labels, to colour the true class's bar green.
        indices: which examples to show, one column each, ``columns`` to a row
            (more would be too small to read on a phone).
        class_names: optional names for the titles.

    Example:
        >>> images, probs = np.zeros((2, 28, 28)), np.full((2, 10), 0.1)
        >>> fig = plot_uncertain_examples(images, probs, 0 * probs, [0, 1], [0, 1])
    """
    mean = check_array("mean", mean, ndim=2)
    std = check_array("std", std, ndim=2)
    if std.shape != mean.shape:
        raise ValueError(f"std must have the shape of mean {mean.shape}, got {std.shape}")
    n_examples, n_classes = mean.shape
    images = check_array("images", images, finite=False)
    if len(images) != n_examples or images[0].size != 28 * 28:
        raise ValueError(f"images must hold {n_examples} images of 28x28 pixels (one per row "
                         f"of mean), got shape {images.shape}")
    labels = check_array("labels", labels, ndim=1, dtype=None)
    if labels.shape != (n_examples,) or not np.issubdtype(labels.dtype, np.integer) \
            or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must hold {n_examples} class indices in [0, {n_classes - 1}], "
                         f"got {labels!r}")
    if class_names is not None:
        class_names = check_names("class_names", class_names)
        if len(class_names) != n_classes:
            raise ValueError(f"class_names must name the {n_classes} classes, got "
                             f"{len(class_names)}")
    if isinstance(indices, (str, bytes)):
        raise TypeError(f"indices must be a list of example indices, got the string {indices!r}")
    indices = [check_int(f"indices[{j}]", i, minimum=0, maximum=n_examples - 1)
               for j, i in enumerate(indices)]
    if not indices:
        raise ValueError("indices is empty: give at least one example to show")
    columns = min(check_int("columns", columns, minimum=1), len(indices))
    rows = -(-len(indices) // columns)
    fig, axes = plt.subplots(2 * rows, columns, figsize=(STYLE["figure.figsize"][0], 3.6 * rows),
                             squeeze=False, gridspec_kw={"height_ratios": [1.1, 1] * rows})
    for column in range(len(indices) - (rows - 1) * columns, columns):
        fig.delaxes(axes[-2, column])  # the places after the last example
        fig.delaxes(axes[-1, column])
    for k, i in enumerate(indices):
        row, column = divmod(k, columns)
        image_ax, bar_ax = axes[2 * row, column], axes[2 * row + 1, column]
        image_ax.imshow(np.asarray(images[i]).reshape(28, 28), cmap="gray_r")
        image_ax.set_axis_off()
        guess = int(np.argmax(mean[i]))
        name = class_names[labels[i]] if class_names is not None else str(labels[i])
        image_ax.set_title(f"{name}\np={mean[i, guess]:.2f}\nsd={std[i, guess]:.2f}",
                           fontsize="small")
        colors = ["#2ca02c" if c == labels[i] else "#1f77b4" for c in range(n_classes)]
        bar_ax.bar(range(n_classes), mean[i], yerr=std[i], color=colors,
                   error_kw={"elinewidth": 0.8})
        bar_ax.set(ylim=(0, 1.05), xticks=range(n_classes))
        bar_ax.tick_params(labelsize="x-small")
        if column:
            bar_ax.set_yticklabels([])
        else:
            bar_ax.set_ylabel("MC mean prob.", fontsize="small")
    return fig


def plot_image_grid(images, *, row_labels=None, cmap="gray_r"):
    """A grid of grey-scale images, ``images[row][column]``.

    Args:
        images: an array ``(rows, columns, height, width[, 1])``.
        row_labels: optional text for the first image of each row.
    """
    images = check_array("images", images, min_size=0, finite=False)
    if images.ndim not in (4, 5) or images.size == 0:
        raise ValueError(f"images must have shape (rows, columns, height, width[, 1]), "
                         f"got {images.shape}")
    rows, columns = images.shape[:2]
    if row_labels is not None:
        row_labels = check_names("row_labels", row_labels)
        if len(row_labels) != rows:
            raise ValueError(f"row_labels must label the {rows} rows, got {len(row_labels)}")
    if isinstance(cmap, str):
        check_choice("cmap", cmap, sorted(mpl.colormaps))
    fig, axes = plt.subplots(rows, columns, figsize=(1.1 * columns, 1.15 * rows),
                             squeeze=False)
    for r in range(rows):
        for c in range(columns):
            axes[r, c].imshow(images[r, c].squeeze(), cmap=cmap, vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            for spine in axes[r, c].spines.values():
                spine.set_visible(False)
        if row_labels is not None:
            axes[r, 0].set_ylabel(row_labels[r], fontsize="small")
    return fig


def plot_clipped_gradients(gradient, clipped, *, threshold=None, title=None):
    """2-D gradient vectors before and after clipping, drawn as arrows from the origin.

    Args:
        gradient: the original gradient, an array of 2 components.
        clipped: a mapping from a label (e.g. ``"clipvalue=0.5"``) to the
            clipped gradient, also of 2 components.
        threshold: when given, the square ``|g_i| <= threshold`` (clipvalue's
            box) and the circle of radius ``threshold`` (clipnorm's ball) are drawn.

    Example:
        >>> fig = plot_clipped_gradients(np.array([0.9, 0.1]),  # doctest: +SKIP
        ...                              {"clipnorm=0.5": np.array([0.5, 0.06])})
    """
    check_mapping("clipped", clipped, what="labels to clipped gradients")
    threshold = _check_optional_real("threshold", threshold, low=0, closed="neither")
    vectors = {"original": check_array("gradient", gradient)}
    vectors.update({name: check_array(f"clipped[{name!r}]", v) for name, v in clipped.items()})
    for name, v in vectors.items():
        if v.shape != (2,):
            label = "gradient" if name == "original" else f"clipped[{name!r}]"
            raise ValueError(f"{label} must have 2 components to be drawn, got shape {v.shape}")
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    if threshold is not None:
        ax.add_patch(mpl.patches.Rectangle((-threshold, -threshold), 2 * threshold,
                                           2 * threshold, fill=False, ls="--", color="0.5",
                                           label="|component| <= threshold"))
        ax.add_patch(mpl.patches.Circle((0, 0), threshold, fill=False, ls=":",
                                        color="0.3", label="norm <= threshold"))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (name, v), color in zip(vectors.items(), colors):
        ax.annotate("", xy=v, xytext=(0, 0),
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 2})
        ax.plot([], [], color=color, label=f"{name} ({v[0]:.2f}, {v[1]:.2f})")
    extent = 1.15 * max(float(np.abs(v).max()) for v in vectors.values())
    ax.set(xlim=(-0.1 * extent, extent), ylim=(-0.1 * extent, extent), aspect="equal",
           xlabel="component 1", ylabel="component 2", title=title)
    ax.legend(loc="upper left")
    return fig


def plot_activation_grid(activations, *, x_range=(-4.0, 4.0), points=401, ncols=4):
    """Small multiples: each activation (solid) and its derivative (dashed) in its own panel.

    The derivative is computed with ``tf.GradientTape`` by
    :func:`companion.activation_and_derivative`, as in :func:`plot_activations`, which
    overlays a few functions in two panels; this grid suits a whole catalogue.

    Args:
        activations: a mapping from label to activation (name or callable), or a
            list of Keras activation names.
        ncols: panels per row.

    Example:
        >>> fig = plot_activation_grid(["relu", "tanh"])
    """
    if not isinstance(activations, dict):
        activations = {(a if isinstance(a, str) else a.__name__): a
                       for a in _check_activations(activations)}
    if not activations:
        raise ValueError("activations is empty: give at least one")
    for label, activation in activations.items():
        resolve_activation(activation, argument=f"activations[{label!r}]")
    ncols = check_int("ncols", ncols, minimum=1)
    x = np.linspace(*check_range("x_range", x_range), check_int("points", points, minimum=2))
    ncols = min(ncols, len(activations))
    nrows = -(-len(activations) // ncols)
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False,
                             figsize=(STYLE["figure.figsize"][0], 0.4 + 1.75 * nrows))
    for ax, (label, activation) in zip(axes.flat, activations.items()):
        y, dy = activation_and_derivative(activation, x)
        ax.plot(x, y, label="$f(z)$")
        ax.plot(x, dy, linestyle="--", label="$f'(z)$")
        ax.axhline(0, color="0.5", linewidth=0.6)
        ax.set_title(label)
    for ax in axes.flat[len(activations):]:
        ax.set_visible(False)
    for column in range(ncols):  # label the lowest panel of every column
        lowest = axes[(len(activations) - 1 - column) // ncols, column]
        lowest.tick_params(labelbottom=True)
        lowest.set_xlabel("$z$")
    axes.flat[0].set_ylim(-2.0, 4.0)
    # whole numbers, few enough not to run into each other in a narrow panel
    axes.flat[0].xaxis.set_major_locator(mpl.ticker.MaxNLocator(nbins=3, integer=True))
    axes.flat[0].legend(loc="upper left")
    return fig


def plot_self_normalization(tables, *, mean_tolerance=None, std_tolerance=None,
                            std_range=(0.2, 20.0), title=None):
    """Mean (left) and standard deviation (right, log scale) of the signal at every layer.

    Args:
        tables: a mapping from condition to a DataFrame with ``depth``, ``mean``
            and ``std`` columns, such as :func:`companion.lab.activations.signal_moments`
            returns.
        mean_tolerance: shade ``|mean| <= mean_tolerance``.
        std_tolerance: shade ``|std - 1| <= std_tolerance``.
        std_range: the std axis's limits; values beyond are clipped to its edges
            (drawn at the edge, not left out), so an exploding stack stays visible.

    Example:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"depth": [1, 2], "mean": [0.0, 0.1], "std": [1.0, 1.1]})
        >>> fig = plot_self_normalization({"a": table}, mean_tolerance=0.1)
    """
    check_mapping("tables", tables, what="conditions to signal_moments tables")
    low, high = check_range("std_range", std_range, low=0)
    if not 0 < low < 1 < high:
        raise ValueError(f"std_range must be (low, high) with 0 < low < 1 < high, "
                         f"got {std_range!r}")
    mean_tolerance = _check_optional_real("mean_tolerance", mean_tolerance, low=0,
                                          closed="neither")
    std_tolerance = _check_optional_real("std_tolerance", std_tolerance, low=0,
                                         closed="neither")
    for name, table in tables.items():
        check_columns(f"tables[{name!r}]", table, ("depth", "mean", "std"),
                      what="what signal_moments returns")
    fig, (left, right) = plt.subplots(1, 2, sharex=True)
    for i, (name, table) in enumerate(tables.items()):
        style = LINESTYLES[i % len(LINESTYLES)]
        left.plot(table["depth"], np.clip(table["mean"], -1.0, 1.0), linestyle=style,
                  label=name)
        right.plot(table["depth"], np.clip(table["std"], low, high), linestyle=style,
                   label=name)
    if mean_tolerance is not None:
        left.axhspan(-mean_tolerance, mean_tolerance, color="0.85", zorder=0)
    if std_tolerance is not None:
        right.axhspan(1 - std_tolerance, 1 + std_tolerance, color="0.85", zorder=0)
    left.set(ylim=(-1.05, 1.05), xlabel="layer", ylabel="mean of the outputs",
             title="mean (clipped to [-1, 1])")
    right.set(yscale="log", ylim=(0.9 * low, 1.1 * high), xlabel="layer",
              ylabel="std of the outputs", title="standard deviation")
    right.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_bake_off(results, *, metrics=("loss", "val_accuracy"), target=None, title=None):
    """Learning curves of many optimizers side by side, one panel per metric.

    Ten or more curves outrun the colour cycle, so the line style changes with
    every pass through it (solid, then dashed, then dotted).

    Args:
        results: a mapping from an optimizer's name to its
            :class:`companion.lab.training.TrainingResult` (as
            :func:`companion.lab.sweeps.bake_off` returns).
        metrics: history columns, one panel each.
        target: draw a horizontal line at this value in the ``val_accuracy`` panel.

    Example:
        >>> import pandas as pd, types
        >>> h = pd.DataFrame({"loss": [1.0, 0.5], "val_accuracy": [0.7, 0.8]}, index=[1, 2])
        >>> fig = plot_bake_off({"sgd": types.SimpleNamespace(history=h)})
    """
    _check_results(results)
    metrics = check_names("metrics", metrics)
    target = _check_optional_real("target", target)
    fig, axes = plt.subplots(1, len(metrics), squeeze=False)
    colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":"]
    for index, (name, result) in enumerate(results.items()):
        for ax, metric in zip(axes[0], metrics):
            if metric not in result.history:
                raise ValueError(f"unknown metrics entry {metric!r}: results[{name!r}] does not "
                                 f"log it; valid choices: {list(result.history.columns)}")
            ax.plot(result.history.index, result.history[metric], label=name,
                    color=colors[index % len(colors)],
                    linestyle=styles[(index // len(colors)) % len(styles)], marker=".")
    for ax, metric in zip(axes[0], metrics):
        ax.set(xlabel="epoch", ylabel=metric.replace("_", " "))
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        if target is not None and metric == "val_accuracy":
            ax.axhline(target, color="black", linewidth=0.8, linestyle="--")
    axes[0, -1].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        fig.suptitle(title)
    return fig


def plot_time_to_accuracy(runs, *, metric="seconds", target=None, title=None):
    """Seconds (or epochs) to a target accuracy per configuration, one point per seed.

    ``runs`` is the per-run table of :func:`companion.lab.bench.time_to_accuracy`
    (``BenchResult.runs``). A filled point is a run that reached the target,
    at its time to target; a hollow point is a run that never did, at the
    time it ran before the epoch cap (a lower bound). A black bar marks each
    configuration's median, counting hollow points at their lower bound.

    Args:
        metric: ``"seconds"`` or ``"epochs"``.
        target: the target accuracy, for the axis label.

    Example:
        >>> import pandas as pd
        >>> fig = plot_time_to_accuracy(pd.DataFrame({
        ...     "configuration": ["a", "a", "b"], "reached": [True, False, True],
        ...     "seconds_counted": [1.0, 3.0, 2.0]}))
    """
    check_choice("metric", metric, ("seconds", "epochs"))
    check_columns("runs", runs, ("configuration", "reached", f"{metric}_counted"),
                  what="BenchResult.runs")
    if runs.empty:
        raise ValueError("runs is empty: there is no run to draw")
    target = _check_optional_real("target", target)
    fig, ax = plt.subplots(figsize=(STYLE["figure.figsize"][0], 3.4))
    names = list(dict.fromkeys(runs["configuration"]))
    jitter = np.random.default_rng(0)
    labelled = set()
    for i, name in enumerate(names):
        group = runs[runs["configuration"] == name]
        reached = group["reached"].to_numpy(dtype=bool)
        values = group[f"{metric}_counted"].to_numpy(dtype=float)
        x = i + jitter.uniform(-0.12, 0.12, size=values.size)
        for mask, face, label in ((reached, f"C{i}", "reached the target"),
                                  (~reached, "none", "never reached (time at the cap)")):
            if mask.any():
                ax.scatter(x[mask], values[mask], s=30, facecolors=face, edgecolors=f"C{i}",
                           label=None if label in labelled else label)
                labelled.add(label)
        ax.hlines(np.median(values), i - 0.3, i + 0.3, color="black", linewidth=2,
                  label=None if "median" in labelled else "median over seeds")
        labelled.add("median")
    ax.set_xticks(range(len(names)), names)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(bottom=0)
    what = "wall seconds" if metric == "seconds" else "epochs"
    suffix = f" to validation accuracy {target:g}" if target is not None else " to target"
    ax.set(ylabel=what + suffix, title=title)
    ax.legend()
    return fig
