"""Comparisons repeated over seeds, summarised by mean, spread and a t confidence interval.

One training run is one draw from a distribution: of initial weights, of
batch orders, of training samples. A comparison is only as good as the number
of draws behind it, so :func:`run_seeds` runs every configuration with every
seed, and :func:`seed_summary` and :func:`paired_differences` say how large a
difference is *and* how sure we can be of its sign.
"""

import numbers

import numpy as np
import pandas as pd
from scipy import stats

from companion.lab.seeding import reseed, seed_list
from companion.tools.checks import (
    check_array, check_bool, check_callable, check_columns, check_int, check_mapping,
    check_real, check_string)


def _check_confidence(confidence):
    return check_real("confidence", confidence, low=0, high=1, closed="neither")


def run_seeds(configurations, *, seeds):
    """Run every configuration once per seed and collect the metrics in a tidy table.

    Before each run, :func:`companion.lab.seeding.reseed` is called with the
    seed, so a configuration's run is reproducible and all configurations of
    one seed start from the same random state.

    Args:
        configurations: a mapping from a configuration's name to a function
            ``run(seed)`` that returns a dict of metrics (or a single number,
            stored as ``"value"``).
        seeds: the seeds, an iterable of distinct non-negative integers, or a
            count ``n``: the seed of :func:`companion.setup` and the ``n - 1``
            after it (:func:`companion.lab.seeding.seed_list`).

    Returns:
        A DataFrame with one row per (seed, configuration) and one column per
        metric.

    Example:
        >>> run_seeds({"a": lambda seed: {"score": seed * 1.0}}, seeds=[0, 1])
           seed configuration  score
        0     0             a    0.0
        1     1             a    1.0
    """
    check_mapping("configurations", configurations, what="names to functions run(seed)")
    for name, run in configurations.items():
        check_callable(f"configurations[{name!r}]", run)
    seeds = seed_list(seeds)
    rows = []
    for seed in seeds:
        for name, run in configurations.items():
            reseed(seed)
            metrics = run(seed)
            if isinstance(metrics, numbers.Real):
                metrics = {"value": metrics}
            if not isinstance(metrics, dict):
                raise ValueError(f"configuration {name!r} returned {type(metrics).__name__}; "
                                 "it must return a dict of metrics or a number")
            rows.append({"seed": seed, "configuration": name,
                         **{k: float(v) for k, v in metrics.items()}})
    return pd.DataFrame(rows)


def summarize(values, *, confidence=0.95):
    """Mean, sample standard deviation, standard error and a t confidence interval.

    The interval is ``mean ± t * std / sqrt(n)`` with ``t`` the
    ``(1 + confidence) / 2`` quantile of Student's t distribution with ``n - 1``
    degrees of freedom: the interval that would contain the true mean in that
    fraction of repeated experiments, if the values were independent draws
    from a normal distribution.

    Args:
        values: at least two finite numbers.
        confidence: the interval's confidence level, in (0, 1).

    Returns:
        A dict with ``n``, ``mean``, ``std`` (``ddof=1``), ``sem``,
        ``ci_low`` and ``ci_high``.

    Example:
        >>> s = summarize([1.0, 2.0, 3.0])
        >>> s["mean"], s["std"], round(s["ci_high"], 3)
        (2.0, 1.0, 4.484)
    """
    confidence = _check_confidence(confidence)
    values = check_array("values", values, min_size=2).ravel()
    n = values.size
    mean = float(values.mean())
    std = float(values.std(ddof=1))
    sem = float(std / np.sqrt(n))
    half = float(stats.t.ppf((1 + confidence) / 2, df=n - 1)) * sem
    return {"n": n, "mean": mean, "std": std, "sem": sem,
            "ci_low": mean - half, "ci_high": mean + half}


def seed_summary(per_seed, metric, *, by="configuration", confidence=0.95):
    """:func:`summarize` ``metric`` for each group of a per-seed table.

    Args:
        per_seed: a tidy table such as :func:`run_seeds` or
            :func:`paired_differences` returns.
        metric: the column to summarise.
        by: the column that names the groups.

    Returns:
        A DataFrame indexed by group, with the columns of :func:`summarize`.

    Example:
        >>> table = pd.DataFrame({"configuration": ["a"] * 3, "score": [1.0, 2.0, 3.0]})
        >>> seed_summary(table, "score").loc["a", ["n", "mean", "std"]].tolist()
        [3.0, 2.0, 1.0]
    """
    _check_table(per_seed, metric=metric, by=by)
    rows = {name: summarize(group[metric], confidence=confidence)
            for name, group in per_seed.groupby(by, sort=False)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = by
    return table


def _check_table(per_seed, **columns):
    """``per_seed`` is a non-empty table; each named column (``metric=...``) is in it."""
    check_columns("per_seed", per_seed, (), what="a table such as run_seeds returns")
    for argument, column in columns.items():
        if column not in per_seed.columns:
            raise ValueError(f"unknown {argument} {column!r}; valid choices: "
                             f"{list(per_seed.columns)}")
    if per_seed.empty:
        raise ValueError("per_seed is empty: it holds no run")


def paired_differences(per_seed, metric, *, baseline, by="configuration"):
    """Per seed, each configuration's ``metric`` minus the baseline's.

    Pairing by seed removes what a seed does to both configurations alike
    (here: which training images were drawn), so the differences vary less
    than the metrics themselves and their interval is tighter.

    Returns:
        A tidy DataFrame with columns ``seed``, ``by`` (the configurations
        other than the baseline) and ``difference``.

    Example:
        >>> table = pd.DataFrame({"seed": [0, 0, 1, 1], "configuration": ["a", "b"] * 2,
        ...                       "score": [1.0, 1.5, 2.0, 2.25]})
        >>> paired_differences(table, "score", baseline="a")
           seed configuration  difference
        0     0             b        0.50
        1     1             b        0.25
    """
    _check_table(per_seed, metric=metric, by=by)
    check_columns("per_seed", per_seed, ("seed",), what="a table such as run_seeds returns")
    names = list(dict.fromkeys(per_seed[by]))
    if baseline not in names:
        raise ValueError(f"unknown baseline {baseline!r}; valid choices: {names}")
    wide = per_seed.pivot(index="seed", columns=by, values=metric)
    others = [n for n in names if n != baseline]
    if not others:
        raise ValueError(f"nothing to compare with the baseline {baseline!r}")
    if wide[[baseline, *others]].isna().any().any():
        raise ValueError("every configuration needs a value for every seed to be paired")
    rows = [{"seed": int(seed), by: name,
             "difference": float(wide.loc[seed, name] - wide.loc[seed, baseline])}
            for name in others for seed in wide.index]
    return pd.DataFrame(rows)


def verdict(summary, *, name, baseline, what="accuracy", higher_is_better=True):
    """A sentence for the page, decided by where the interval of a difference lies.

    Args:
        summary: a row (or dict) of :func:`seed_summary` over
            :func:`paired_differences` (``name`` minus ``baseline``).
        name, baseline: the two configurations, as the sentence names them.
        what: the metric, as the sentence names it.
        higher_is_better: the metric's direction.

    Returns:
        The sentence. One configuration is better when the whole confidence
        interval of the difference lies on one side of zero; otherwise the
        data do not tell them apart.

    Example:
        >>> verdict({"ci_low": -0.01, "ci_high": 0.02}, name="transfer", baseline="scratch")
        'these seeds show no reliable accuracy difference between transfer and scratch (the interval contains zero)'
    """
    try:
        low, high = summary["ci_low"], summary["ci_high"]
    except (KeyError, TypeError, IndexError):
        raise TypeError(f"summary must be a row of seed_summary (with ci_low and ci_high), "
                        f"got {type(summary).__name__} {summary!r}") from None
    low = check_real("summary['ci_low']", low)
    high = check_real("summary['ci_high']", high)
    if not low <= high:
        raise ValueError(f"summary needs ci_low <= ci_high, got {low!r} and {high!r}")
    higher_is_better = check_bool("higher_is_better", higher_is_better)
    for label, text in (("name", name), ("baseline", baseline), ("what", what)):
        check_string(label, text)
    if low > 0 or high < 0:
        better = name if (low > 0) == bool(higher_is_better) else baseline
        worse = baseline if better == name else name
        side = "above" if low > 0 else "below"
        return (f"{better} gives a better {what} than {worse} on these seeds "
                f"(the whole interval lies {side} zero)")
    return (f"these seeds show no reliable {what} difference between {name} and "
            f"{baseline} (the interval contains zero)")


def seed_range_reading(value, per_seed, *, decimals=None):
    """Where one more run falls against the runs of several seeds, as words for the page.

    A single run of a changed set-up (more data, a longer schedule) cannot give an
    interval of its own, but it can be set against the spread of the seeds of the
    original set-up. Inside their range it shows no change. Outside it, it is lower or
    higher than for any seed, but that alone is weak evidence: by chance, one more run
    of the *unchanged* set-up lands outside the range of ``n`` seeds 2 times in
    ``n + 1`` (every order of the ``n + 1`` values being equally likely), and the
    phrase says so.

    Args:
        value: the single run's value.
        per_seed: the seeds' values of the same quantity (at least two, finite).
        decimals: round ``value`` and ``per_seed`` to this many decimals before
            comparing, so that the reading agrees with the numbers as the page prints
            them (``None``: compare as given).

    Returns:
        ``(low, high, reading)``: the seeds' smallest and largest value (rounded
        where ``decimals`` is given), and a phrase that completes "the run fell ...".

    Example:
        >>> seed_range_reading(0.5, [0.2, 0.4, 0.6])
        (0.2, 0.6, 'within that range, so this one run does not show a change')
        >>> seed_range_reading(0.1, [0.2, 0.4, 0.6])[2]
        'below that range, lower than for any seed; by chance alone, one more run of the unchanged set-up would fall outside the range of 3 seeds 2 times in 4'
        >>> seed_range_reading(0.60004, [0.2, 0.4, 0.6], decimals=3)[2]
        'within that range, so this one run does not show a change'
    """
    value = check_real("value", value)
    values = check_array("per_seed", per_seed, ndim=1, min_size=2)
    if decimals is not None:
        decimals = check_int("decimals", decimals, minimum=0)
        value, values = round(value, decimals), np.round(values, decimals)
    low, high = float(values.min()), float(values.max())
    if low <= value <= high:
        return low, high, "within that range, so this one run does not show a change"
    side = "below that range, lower" if value < low else "above that range, higher"
    return low, high, (f"{side} than for any seed; by chance alone, one more run of the "
                       f"unchanged set-up would fall outside the range of {values.size} "
                       f"seeds 2 times in {values.size + 1}")
