"""Wall-clock measurements that survive a noisy machine: medians of repeated runs."""

import dataclasses
import statistics
import time

import numpy as np


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


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def time_call(fn, *, repeats=7, warmup=1, number=1):
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` timed rounds.

    Each round calls ``fn`` ``number`` times and records the mean seconds per
    call, so short functions can be timed above the clock's resolution.

    Example:
        >>> timing = time_call(lambda: sum(range(1000)), repeats=5, number=10)
        >>> len(timing.runs), timing.best <= timing.median <= timing.worst
        (5, True)
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    _check_count("repeats", repeats, 1)
    _check_count("warmup", warmup, 0)
    _check_count("number", number, 1)
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return Timing(runs=tuple(runs))


def inference_time(model, x, *, repeats=7, warmup=2, number=1):
    """Seconds for one inference-mode forward pass of ``model`` on the batch ``x``.

    Calls the model directly (``training=False``) on one tensor, which avoids
    ``predict``'s per-call data-pipeline overhead, and converts the result to
    NumPy so the measurement waits for the computation (on a GPU as on a CPU).

    Example:
        >>> inference_time(build_mlp(depth=2), x_batch).median  # doctest: +SKIP
        0.0031
    """
    x = np.asarray(x)
    return time_call(lambda: np.asarray(model(x, training=False)), repeats=repeats,
                     warmup=warmup, number=number)
