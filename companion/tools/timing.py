"""Wall-clock measurements that survive a noisy machine: medians of repeated runs."""

import dataclasses
import functools
import statistics
import time

import numpy as np

from companion._quiet import tf
from companion.tools.checks import (
    check_bool, check_callable, check_choice, check_inputs, check_int, check_mapping, check_model)


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds per call over repeated runs; quote :attr:`median`, show the range."""

    runs: tuple

    @property
    def median(self):
        """Median seconds per call, the figure to quote."""
        return statistics.median(self.runs)

    @property
    def best(self):
        """Fewest seconds per call."""
        return min(self.runs)

    @property
    def worst(self):
        """Most seconds per call."""
        return max(self.runs)

    def ratio_to(self, other):
        """Median over rounds of ``self.runs[i] / other.runs[i]``.

        For timings taken in interleaved rounds (:func:`interleaved_times`), a
        change in the machine's load within a round hits both alike, so the
        round-by-round ratio is far steadier than the ratio of two medians.

        Example:
            >>> Timing(runs=(2.0, 3.0, 9.0)).ratio_to(Timing(runs=(1.0, 1.0, 3.0)))
            3.0
        """
        if not isinstance(other, Timing):
            raise TypeError(f"other must be a Timing, got {type(other).__name__} {other!r}")
        if len(other.runs) != len(self.runs):
            raise ValueError(f"other must have as many rounds as this Timing ({len(self.runs)}), "
                             f"got {len(other.runs)}")
        if not all(b > 0 for b in other.runs):
            raise ValueError(f"other has a run of {min(other.runs)} s: a ratio to it is undefined")
        return statistics.median(a / b for a, b in zip(self.runs, other.runs))


def time_call(fn, *, repeats=7, warmup=1, number=1):
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` timed rounds.

    Each round calls ``fn`` ``number`` times and records the mean seconds per
    call, so short functions can be timed above the clock's resolution.

    Example:
        >>> timing = time_call(lambda: sum(range(1000)), repeats=5, number=10)
        >>> len(timing.runs), timing.best <= timing.median <= timing.worst
        (5, True)
    """
    check_callable("fn", fn)
    check_int("repeats", repeats, minimum=1)
    return interleaved_times({"fn": fn}, rounds=repeats, warmup=warmup, number=number)["fn"]


def inference_time(model, x, *, repeats=7, warmup=2, number=1):
    """Seconds for one inference-mode forward pass of ``model`` on the batch ``x``.

    Calls the model directly (``training=False``) on one tensor, which avoids
    ``predict``'s per-call data-pipeline overhead, and converts the result to
    NumPy so the measurement waits for the computation (on a GPU as on a CPU).

    Example:
        >>> inference_time(build_mlp(depth=2), x_batch).median  # doctest: +SKIP
        0.0031
    """
    check_model("model", model)
    x = check_inputs("x", x, model)
    return time_call(functools.partial(_forward, model, x), repeats=repeats,
                     warmup=warmup, number=number)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def interleaved_times(calls, *, rounds=5, warmup=0, number=1, clock="wall"):
    """Time several functions in interleaved rounds: each round calls every one in turn.

    On a shared machine the load drifts; timing one function after the other
    lets a drift favour one of them. Here every round times ``number`` calls of
    each function in turn, so a drift hits all alike, and
    :meth:`Timing.ratio_to` compares two of them round by round.

    Args:
        calls: a mapping from a name to a function of no argument.
        rounds: timed rounds, >= 1.
        warmup: untimed calls of each function before the first round.
        number: calls per function per round (the mean is recorded).
        clock: ``"wall"`` (elapsed seconds, what a user waits) or ``"cpu"``
            (CPU seconds of this process, all its threads: the work done).
            Beside busy neighbours the wall clock also counts the time spent
            waiting for a core, which varies from call to call; CPU seconds do
            not count waiting, so a ratio of CPU seconds is much steadier under
            load (chapter 4: the 10-90% range of per-round ratios 1.32-1.66 in
            CPU seconds against 1.01-2.12 in wall seconds, at load 5 on 2 cores).

    Returns:
        A dict from name to :class:`Timing` (seconds per call).

    Example:
        >>> times = interleaved_times({"short": lambda: sum(range(10)),
        ...                            "long": lambda: sum(range(10_000))}, rounds=3)
        >>> times["long"].ratio_to(times["short"]) > 1
        True
    """
    check_mapping("calls", calls, what="names to functions")
    for name, fn in calls.items():
        check_callable(f"calls[{name!r}]", fn)
    check_int("rounds", rounds, minimum=1)
    check_int("warmup", warmup, minimum=0)
    check_int("number", number, minimum=1)
    now = CLOCKS[check_choice("clock", clock, tuple(CLOCKS))]
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    runs = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            start = now()
            for _ in range(number):
                fn()
            runs[name].append((now() - start) / number)
    return {name: Timing(runs=tuple(values)) for name, values in runs.items()}


def interleaved_inference_time(models, x, *, rounds=15, number=3, warmup=2, compiled=False,
                               clock="wall"):
    """Inference seconds per batch for several models, timed in alternation.

    Each round times ``number`` forward passes (``training=False``) of every
    model in turn, so that a change in the machine's load hits all models
    alike; dividing two models' times round by round then gives ratios that
    are robust to that load. ``warmup`` untimed passes per model come first.

    With ``compiled=False`` each pass is an eager Keras call, ``model(x)``,
    which pays a fixed Python and dispatch cost per layer; with ``compiled=True``
    the call is traced once into a ``tf.function`` graph (during the warm-up, so
    give ``warmup >= 1``), as ``predict`` and a deployed model run it.
    ``clock`` is ``"wall"`` or ``"cpu"``, as for :func:`interleaved_times`.

    Returns:
        A dict from name to :class:`~companion.tools.timing.Timing` (seconds per pass).

    Example:
        >>> times = interleaved_inference_time(  # doctest: +SKIP
        ...     {"bn": model, "folded": fold_batch_norm(model)}, x_batch)
        >>> np.median(np.array(times["bn"].runs) / times["folded"].runs)  # doctest: +SKIP
        1.9
    """
    check_mapping("models", models, what="names to models")
    for name, model in models.items():
        check_model(f"models[{name!r}]", model)
    x = check_inputs("x", x, next(iter(models.values())))
    compiled = check_bool("compiled", compiled)
    if compiled:
        check_int("warmup", warmup, minimum=1)  # the first call traces the graph
        x = tf.convert_to_tensor(x)
    return interleaved_times(
        {name: _forward_call(model, x, compiled) for name, model in models.items()},
        rounds=rounds, warmup=warmup, number=number, clock=clock)


def _forward_call(model, x, compiled):
    """A function of no argument that runs one inference pass of ``model`` on ``x``."""
    if not compiled:
        return functools.partial(_forward, model, x)
    graph = tf.function(lambda inputs: model(inputs, training=False))
    return lambda: np.asarray(graph(x))


def _forward(model, x):
    # Converting to NumPy makes the measurement wait for the computation.
    return np.asarray(model(x, training=False))
