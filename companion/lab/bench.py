"""The time-to-accuracy benchmark: how long each recipe takes to reach a validation accuracy.

Final accuracy after a fixed number of epochs hides how long a user waits. A
time-to-accuracy benchmark asks instead: starting from scratch, after how many
epochs and how many wall-clock seconds does the validation accuracy first
reach a target? :func:`time_to_accuracy` trains every configuration of
:data:`companion.lab.recipes.RECIPES` once per seed, seeds interleaved so that a
drift in the machine's load hits all configurations alike, stops each run at
the target (:class:`~companion.StopAtTarget`) or at an epoch cap, and
tabulates the runs. A run that never reached the target is kept and marked:
its elapsed time, up to the cap, is a lower bound on its time to target.
"""

import dataclasses
import inspect
import json
import pathlib

import numpy as np
import pandas as pd

from companion.lab.data import load_fashion_mnist
from companion.lab.recipes import get_recipe, recipe_defaults
from companion.lab.seeding import reseed, seed_list
from companion.lab.training import train
from companion.tools.checks import (
    check_attributes, check_callable, check_columns, check_int, check_mapping, check_names,
    check_real)
from companion.tools.layers import reinitialize
from companion.lab.recipes import RECIPES

#: The columns of a benchmark's table of runs, one row per configuration and seed.
RUN_COLUMNS = ("configuration", "seed", "reached", "epochs", "seconds", "epochs_run",
               "seconds_run", "epochs_counted", "seconds_counted", "best_val_accuracy")
#: The columns of a benchmark's summary, one row per configuration.
SUMMARY_COLUMNS = ("runs", "reached", "epochs_median", "epochs_min", "epochs_max",
                   "seconds_median", "seconds_min", "seconds_max", "best_val_accuracy")


@dataclasses.dataclass
class BenchResult:
    """What :func:`time_to_accuracy` returns.

    Attributes:
        runs: one row per (seed, configuration), columns :data:`RUN_COLUMNS`:
            ``reached`` (bool), ``epochs`` and ``seconds`` to the target (NaN
            when not reached), ``epochs_run`` and ``seconds_run`` (what the run
            took in all), ``epochs_counted`` and ``seconds_counted`` (to the
            target, or, for a run that missed it, what it took up to the cap: a
            lower bound, the one rule by which every table and figure counts a
            miss) and the best validation accuracy seen.
        summary: :func:`summarize_runs` of ``runs``.
        target: the validation accuracy to reach.
        max_epochs: the epoch cap.
        settings: train size, batch size and the like, for the JSON file.
    """

    runs: pd.DataFrame
    summary: pd.DataFrame
    target: float
    max_epochs: int
    settings: dict

    def to_json(self, path=None):
        """The result as a JSON string, also written to ``path`` when given."""
        text = json.dumps({
            "target": self.target, "max_epochs": self.max_epochs, "settings": self.settings,
            "runs": json.loads(self.runs.to_json(orient="records")),
            "summary": json.loads(self.summary.reset_index().to_json(orient="records")),
        }, indent=2)
        if path is not None:
            pathlib.Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path):
        """Read a result written by :meth:`to_json` (a JSON string or a file path)."""
        if not isinstance(text_or_path, (str, pathlib.PurePath)):
            raise TypeError(f"text_or_path must be a JSON string or a file path, got "
                            f"{type(text_or_path).__name__} {text_or_path!r}")
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = pathlib.Path(text_or_path).read_text()
        shown = repr(text if len(text) <= 40 else text[:40] + "...")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"text_or_path {shown} is not valid JSON ({error})") from None
        missing = [key for key in ("runs", "summary", "target", "max_epochs", "settings")
                   if not isinstance(raw, dict) or key not in raw]
        if missing:
            raise ValueError(f"text_or_path {shown} is not what BenchResult.to_json writes: "
                             f"it lacks {missing}")
        runs = pd.DataFrame(raw["runs"], columns=list(RUN_COLUMNS))
        runs["reached"] = runs["reached"].astype(bool)
        for column in ("epochs", "seconds"):  # JSON null -> NaN
            runs[column] = runs[column].astype(float)
        summary = pd.DataFrame(raw["summary"]).set_index("configuration")
        return cls(runs=runs, summary=summary, target=raw["target"],
                   max_epochs=raw["max_epochs"], settings=raw["settings"])

    def table(self):
        """:func:`format_table` of the summary."""
        return format_table(self.summary, target=self.target, max_epochs=self.max_epochs)


def run_once(builder, data, *, max_epochs, target=None, batch_size=None, callbacks=(),
             schedule_epochs=None, seed=None, reuse=None, **recipe_kwargs):
    """Train one fresh recipe for ``max_epochs``, or until validation accuracy reaches ``target``.

    The recipe's schedule is laid out over ``schedule_epochs`` epochs: the
    length of training the recipe is meant for, which need not be the
    benchmark's cap. By default it is the recipe's own (its ``schedule_epochs``
    keyword, as for :func:`~companion.default_recipe`) when it has one and
    ``max_epochs`` is not shorter, else ``max_epochs``, the longest the run
    may last. After ``schedule_epochs`` the schedule stays at its final rate.
    ``batch_size`` defaults to the recipe's own (its ``batch_size`` keyword
    default); ``callbacks`` go to ``fit``.

    **Repeating a recipe over seeds.** Every fresh recipe makes ``fit`` trace its
    train step again, seconds for a deep network. Pass a dict as ``reuse`` and the
    seed as ``seed``: the first call for a given builder and arguments builds the
    recipe and keeps it in the dict; a later call with the same builder and
    arguments re-initialises the kept model with ``seed``
    (:func:`companion.reinitialize`: fresh weights, the optimizer and its schedule
    back at step 0) and trains it again without a new trace, in place: a recipe or
    result returned earlier for the same arguments shares that model. With a
    ``seed``, a fresh build is re-drawn the same way after it is built, so a run
    is the same whether its recipe was kept or new.

    Args:
        builder: a recipe function such as :func:`~companion.default_recipe`.
        data: the data set, scaled as the recipe expects.
        max_epochs: the epochs to train, >= 1 (the cap, with ``target``).
        target: stop after the first epoch whose validation accuracy reaches it.
        batch_size: the batch size; ``None`` for the recipe's own.
        callbacks: Keras callbacks for ``fit``.
        schedule_epochs: the epochs the schedule is laid over; ``None`` as above.
        seed: seeds the run (an integer >= 0); ``None`` leaves the random state as
            the caller set it. Needed with ``reuse``.
        reuse: ``None``, or a dict in which to keep and find compiled recipes.
        **recipe_kwargs: the recipe's keywords.

    Returns:
        ``(recipe, TrainingResult)``.

    Example:
        >>> recipe, result = run_once(default_recipe, data, target=0.8,  # doctest: +SKIP
        ...                           max_epochs=5)
        >>> result.time_to_target(0.8)  # doctest: +SKIP
        {'epochs': 2, 'seconds': 3.9}
        >>> kept = {}
        >>> runs = [run_once(default_recipe, data, max_epochs=2, seed=s,  # doctest: +SKIP
        ...                  reuse=kept)[1] for s in (1, 2, 3)]  # one trace, not three
    """
    check_callable("builder", builder)
    check_attributes("data", data, ("x_train", "y_train", "x_valid", "y_valid"),
                     what="a data set such as load_fashion_mnist returns")
    max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    if batch_size is None:
        batch_size = _own_batch_size(builder, recipe_kwargs)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if target is not None:
        target = check_real("target", target, low=0, high=1, closed="right")
    steps_per_epoch = -(-len(data.x_train) // batch_size)
    if schedule_epochs is None:
        schedule_epochs = _default_schedule_epochs(builder, recipe_kwargs, max_epochs)
    schedule_epochs = check_int("schedule_epochs", schedule_epochs, minimum=1)
    parameters = inspect.signature(builder).parameters
    if "batch_size" in parameters:
        recipe_kwargs = {**recipe_kwargs, "batch_size": batch_size}
    if "schedule_epochs" in parameters:  # recorded in the recipe's settings
        recipe_kwargs = {**recipe_kwargs, "schedule_epochs": schedule_epochs}
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    if reuse is not None:
        check_mapping("reuse", reuse, what="keys to the recipes run_once kept",
                      min_size=0)
        if seed is None:
            raise ValueError("reuse needs seed=, an integer >= 0 (got seed=None): a kept "
                             "model is re-drawn with it")
    total_steps = max(2, schedule_epochs * steps_per_epoch)
    key = (builder, total_steps, repr(sorted(recipe_kwargs.items())))
    if reuse is not None and key in reuse:
        recipe = reuse[key]
        reinitialize(recipe.model, seed=seed)
    else:
        if seed is not None:
            reseed(seed)
        recipe = builder(total_steps=total_steps, **recipe_kwargs)
        if seed is not None:  # the draw a kept recipe gets: one run per seed either way
            reinitialize(recipe.model, seed=seed)
        if reuse is not None:
            reuse[key] = recipe
    given = getattr(data, "scaling", None)
    if isinstance(given, str) and given != recipe.scaling:
        raise ValueError(f"data is scaled {given!r} but recipe {recipe.name!r} expects "
                         f"scaling={recipe.scaling!r}: load it with "
                         f"load_fashion_mnist(scaling={recipe.scaling!r})")
    return recipe, train(recipe.model, data, epochs=max_epochs, batch_size=batch_size,
                         target=target, compile=False, evaluate=False, callbacks=callbacks)


def _own(builder, recipe_kwargs, key, fallback):
    """``recipe_kwargs[key]``, else the builder's default for ``key``, else ``fallback``."""
    if key in recipe_kwargs:
        return recipe_kwargs[key]
    parameter = inspect.signature(builder).parameters.get(key)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return fallback
    return parameter.default


def _own_batch_size(builder, recipe_kwargs):
    """The batch size in ``recipe_kwargs``, else the builder's default, else 32."""
    return _own(builder, recipe_kwargs, "batch_size", 32)


def _default_schedule_epochs(builder, recipe_kwargs, max_epochs):
    """The recipe's own ``schedule_epochs`` (``recipe_kwargs`` first), capped at ``max_epochs``."""
    own = _own(builder, recipe_kwargs, "schedule_epochs", None)
    if own is None:
        return max_epochs
    return min(check_int("schedule_epochs", own, minimum=1), max_epochs)


def time_to_accuracy(configs=("keras_defaults", "sgd_1cycle", "default"), *, target,
                     seeds=3, max_epochs=10, train_size=None, data=None, batch_size=None,
                     recipe_kwargs=None, schedule_epochs=None, progress=None):
    """Epochs and wall seconds until each configuration first reaches ``target``, per seed.

    For every seed, and within it every configuration in turn (the order
    rotating by one from seed to seed), the global
    random seed is set, the recipe is built (a fresh model and optimizer),
    and it trains until its validation accuracy reaches ``target`` or for
    ``max_epochs`` epochs. The seconds are whole epochs, validation and the
    first epoch's graph tracing included: what a user waits.

    Args:
        configs: recipe names, keys of :data:`companion.lab.recipes.RECIPES`.
        target: the validation accuracy to reach, in (0, 1].
        seeds: a count ``n`` (the seed of :func:`companion.setup` and the
            ``n - 1`` after it) or a list of distinct seeds.
        max_epochs: the epoch cap, >= 1.
        train_size: training images of Fashion-MNIST (all when ``None``).
        data: instead of loading Fashion-MNIST, a mapping from a scaling
            (``"unit"``, ``"standard"``) to a dataset with ``x_train, y_train,
            x_valid, y_valid``.
        batch_size: examples per step, for every configuration; ``None`` (the
            default) trains each with its recipe's own batch size (32 for
            ``keras_defaults``, 128 for ``sgd_1cycle``...), or the ``batch_size``
            of its ``recipe_kwargs``.
        recipe_kwargs: a mapping from a configuration's name to extra keyword
            arguments for its recipe (e.g. ``{"default": {"depth": 2}}``).
        schedule_epochs: a mapping from a configuration's name to the epochs
            its schedule is laid over; a configuration not named gets
            :func:`run_once`'s default: its recipe's own ``schedule_epochs``
            (the default recipe's 8) if ``max_epochs`` is not shorter, else
            ``max_epochs``.
        progress: ``None``, or a function called after every run as
            ``progress(done, total, configuration, seed)`` (the command line's
            progress bar).

    Returns:
        A :class:`BenchResult`.

    Example:
        >>> bench = time_to_accuracy(["sgd_1cycle", "default"], target=0.8,  # doctest: +SKIP
        ...                          seeds=3, max_epochs=10, train_size=10_000)
        >>> print(bench.table())  # doctest: +SKIP
    """
    configs = check_names("configs", configs, choices=list(RECIPES))
    builders = {name: get_recipe(name) for name in configs}
    if len(set(configs)) != len(configs):
        raise ValueError(f"configs must be distinct, got {configs}")
    target = check_real("target", target, low=0, high=1, closed="right")
    check_int("max_epochs", max_epochs, minimum=1)
    if batch_size is not None:
        check_int("batch_size", batch_size, minimum=1)
    if progress is not None:
        check_callable("progress", progress)
    seeds = seed_list(seeds)
    recipe_kwargs = dict(check_mapping("recipe_kwargs", recipe_kwargs or {}, min_size=0,
                                       what="configuration names to keyword dicts"))
    unknown = sorted(set(recipe_kwargs) - set(configs))
    if unknown:
        raise ValueError(f"recipe_kwargs names {unknown}, which are not among configs {configs}")
    schedule_epochs = dict(check_mapping("schedule_epochs", schedule_epochs or {},
                                         min_size=0, what="configuration names to epochs"))
    unknown = sorted(set(schedule_epochs) - set(configs))
    if unknown:
        raise ValueError(f"schedule_epochs names {unknown}, which are not among configs "
                         f"{configs}")
    for name, epochs in schedule_epochs.items():
        check_int(f"schedule_epochs[{name!r}]", epochs, minimum=1)
    for name, kwargs in recipe_kwargs.items():
        check_mapping(f"recipe_kwargs[{name!r}]", kwargs, min_size=0,
                      what="keyword names to values")
    datasets = {}
    if data is not None:
        datasets = dict(check_mapping("data", data, what="scalings to data sets"))

    def dataset(scaling):
        if scaling not in datasets:
            if data is not None:
                raise ValueError(f"data has no dataset for scaling {scaling!r}; "
                                 f"it has {sorted(datasets)}")
            datasets[scaling] = load_fashion_mnist(scaling=scaling, train_size=train_size)
        return check_attributes(f"data[{scaling!r}]", datasets[scaling],
                                ("x_train", "y_train", "x_valid", "y_valid"),
                                what="a data set such as load_fashion_mnist returns")

    for name in configs:  # a configuration not named: its recipe's own, or the cap
        schedule_epochs.setdefault(name, _default_schedule_epochs(
            builders[name], recipe_kwargs.get(name, {}), max_epochs))
    batch_sizes = {name: int(check_int(f"batch_size of {name!r}", batch_size or _own_batch_size(
        builders[name], recipe_kwargs.get(name, {})), minimum=1)) for name in configs}
    rows = []
    for index, seed in enumerate(seeds):
        # the order rotates from seed to seed, so that a drift of the machine does not
        # always hit the same configuration; the first run of the process (a one-off
        # warm-up) is configs[0] in the first seed: put first the one claimed to be faster
        turn = index % len(configs)
        for name in configs[turn:] + configs[:turn]:
            builder = builders[name]
            scaling = recipe_kwargs.get(name, {}).get(
                "scaling", recipe_defaults(name).get("scaling", "standard"))
            reseed(seed)
            kwargs = {key: value for key, value in recipe_kwargs.get(name, {}).items()
                      if key not in ("batch_size", "schedule_epochs")}
            _, result = run_once(builder, dataset(scaling), target=target,
                                 max_epochs=max_epochs, batch_size=batch_sizes[name],
                                 schedule_epochs=schedule_epochs[name], **kwargs)
            hit = result.time_to_target(target)
            reached = hit["epochs"] is not None
            epochs_run = int(len(result.history))
            seconds_run = float(result.history["seconds"].sum())
            rows.append({"configuration": name, "seed": seed, "reached": reached,
                         "epochs": float(hit["epochs"]) if reached else np.nan,
                         "seconds": hit["seconds"] if reached else np.nan,
                         "epochs_run": epochs_run, "seconds_run": seconds_run,
                         "epochs_counted": float(hit["epochs"] if reached else epochs_run),
                         "seconds_counted": hit["seconds"] if reached else seconds_run,
                         "best_val_accuracy": float(result.history["val_accuracy"].max())})
            if progress is not None:
                progress(len(rows), len(seeds) * len(configs), name, seed)
    order = {name: i for i, name in enumerate(configs)}
    rows.sort(key=lambda row: (seeds.index(row["seed"]),
                               order[row["configuration"]]))
    runs = pd.DataFrame(rows, columns=list(RUN_COLUMNS))
    some = next(iter(datasets.values()))
    settings = {"train_size": int(len(some.x_train)), "valid_size": int(len(some.x_valid)),
                "batch_sizes": batch_sizes, "seeds": [int(s) for s in seeds],
                "schedule_epochs": {name: int(schedule_epochs[name]) for name in configs},
                "configs": configs}
    return BenchResult(runs=runs, summary=summarize_runs(runs), target=float(target),
                       max_epochs=int(max_epochs), settings=settings)


def summarize_runs(runs):
    """Median and range over seeds of the epochs and seconds to target, per configuration.

    A run that never reached the target counts with what it took in all
    (``epochs_counted``, ``seconds_counted``): a lower bound on its time to target,
    so a configuration that misses the target never looks faster than it
    is. The column ``reached`` says how many of the ``runs`` did reach it;
    read the other columns as lower bounds when it is below ``runs``.

    Returns:
        A DataFrame indexed by configuration (in order of first appearance)
        with columns :data:`SUMMARY_COLUMNS`; ``best_val_accuracy`` is the
        median over seeds.

    Example:
        >>> runs = pd.DataFrame({"configuration": ["a", "a"], "seed": [0, 1],
        ...     "reached": [True, False], "epochs": [2.0, np.nan],
        ...     "seconds": [1.5, np.nan], "epochs_run": [2, 5],
        ...     "seconds_run": [1.5, 4.0], "epochs_counted": [2.0, 5.0],
        ...     "seconds_counted": [1.5, 4.0], "best_val_accuracy": [0.9, 0.7]})
        >>> summarize_runs(runs).loc["a", ["seconds_median", "seconds_max"]].tolist()
        [2.75, 4.0]
    """
    check_columns("runs", runs, RUN_COLUMNS, what="BenchResult.runs")
    if runs.empty:
        raise ValueError("runs is empty: there is no run to summarise")
    rows = {}
    for name, group in runs.groupby("configuration", sort=False):
        reached = group["reached"].astype(bool)
        epochs = group["epochs_counted"].to_numpy(dtype=float)
        seconds = group["seconds_counted"].to_numpy(dtype=float)
        rows[name] = {"runs": int(len(group)), "reached": int(reached.sum()),
                      "epochs_median": float(np.median(epochs)),
                      "epochs_min": float(epochs.min()), "epochs_max": float(epochs.max()),
                      "seconds_median": float(np.median(seconds)),
                      "seconds_min": float(seconds.min()), "seconds_max": float(seconds.max()),
                      "best_val_accuracy": float(np.median(group["best_val_accuracy"]))}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY_COLUMNS))
    table.index.name = "configuration"
    return table


def format_table(summary, *, target, max_epochs):
    """The summary as plain text: median [min, max] over seeds, ``>=`` for lower bounds.

    Example:
        >>> summary = pd.DataFrame({"runs": [2], "reached": [0], "epochs_median": [5.0],
        ...     "epochs_min": [5.0], "epochs_max": [5.0], "seconds_median": [4.0],
        ...     "seconds_min": [3.9], "seconds_max": [4.1], "best_val_accuracy": [0.7]},
        ...     index=pd.Index(["naive"], name="configuration"))
        >>> print(format_table(summary, target=0.85, max_epochs=5).splitlines()[-1])
        naive              0/2    >=5 [5, 5]      >=4.0 [3.9, 4.1]      0.700
    """
    lines = [f"time to validation accuracy {target:g} (cap {max_epochs} epochs); "
             "median [min, max] over seeds; >= : some runs never reached it",
             f"{'configuration':16s} {'reached':>7s}  {'epochs':14s}  {'seconds':18s}  "
             f"{'best acc':>7s}"]
    for name, row in summary.iterrows():
        bound = ">=" if row["reached"] < row["runs"] else ""
        epochs = (f"{bound}{row['epochs_median']:g} "
                  f"[{row['epochs_min']:g}, {row['epochs_max']:g}]")
        seconds = (f"{bound}{row['seconds_median']:.1f} "
                   f"[{row['seconds_min']:.1f}, {row['seconds_max']:.1f}]")
        lines.append(f"{name:16s} {int(row['reached']):>3d}/{int(row['runs']):<3d}  "
                     f"{epochs:14s}  {seconds:18s}  {row['best_val_accuracy']:7.3f}")
    return "\n".join(lines)
