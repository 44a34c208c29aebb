"""Probe: feed bad inputs to every public function of ``companion`` and count what happens.

Run it from the repository root (it is a script, not a test)::

    python tests/probe_bad_inputs.py            # counts per outcome and per module
    python tests/probe_bad_inputs.py -v         # and one line per case that is not clear
    python tests/probe_bad_inputs.py --json out.json

Every case calls one public name of ``companion.__all__`` with valid arguments except one,
which gets a bad value: NaN or infinite rates and norms, non-positive counts, empty or zero
shapes, a string where a list of names is expected, a non-model where a model is expected,
a bool for a number, a wrong type. Each outcome is one of:

* ``clear``: a ValueError or TypeError (or a subclass) that names the argument and,
  for a number or a string, shows the bad value or its type;
* ``internal``: an exception raised inside the package that is not a clear one (an
  AttributeError, a ZeroDivisionError, a ValueError that names nothing, ...);
* ``raw``: an exception raised inside TensorFlow, Keras, NumPy, pandas, Matplotlib or
  the standard library, which the package let through;
* ``accepted``: no exception at all (a NaN result, garbage, a silent no-op);
* ``hang``: still running after the per-case time limit.

A second set of cases passes *valid* NumPy scalars (``np.int64(3)``, ``np.float32(0.5)``)
where a Python number is accepted; each must be accepted (``numpy ok``), else it counts
as ``numpy rejected``.

``activation=None`` is not a bad value: Keras reads it as the linear activation.

Not probed: constants (``ACTIVATIONS``, ``NAMED_INITIALIZERS``, ``RECIPES``,
``STEPS_PER_EXECUTION``, ``TRUNCATION_STD``), the exception classes (``ClaimError``,
``DataError``), functions of no argument (``course_seed``, ``optimizer_names``,
``selu_constants``), the callbacks without arguments (``EpochTimer``,
``RelativeUpdateRecorder``) and the constructors of the plain records (``BenchResult``,
``Claim``, ``FashionMNIST``, ``Landscape``, ``RangeTestResult``, ``Recipe``, ``Timing``,
``TrainingResult``) and the warning class ``DataWarning``, whose methods that take
arguments are probed instead.
"""

import argparse
import collections
import contextlib
import json
import math
import os
import pathlib
import re
import signal
import sys
import traceback
import types
import warnings

os.environ.setdefault("MPLBACKEND", "Agg")

NAN, INF = math.nan, math.inf
TIME_LIMIT = 60  # seconds per case
LIBRARIES = ("tensorflow", "keras", "numpy", "pandas", "matplotlib", "scipy")


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


@contextlib.contextmanager
def time_limit(seconds):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _origin(error):
    """``"companion"``, ``"probe"`` or ``"library"``: where ``error`` was raised."""
    frames = traceback.extract_tb(error.__traceback__)
    filename = frames[-1].filename if frames else ""
    parts = pathlib.Path(filename).parts
    if "companion" in parts and "site-packages" not in parts:
        return "companion"
    if pathlib.Path(filename).resolve() == pathlib.Path(__file__).resolve():
        return "probe"
    return "library"


def _shows_value(message, value):
    if isinstance(value, str):
        return repr(value) in message or value in message or "str" in message
    if isinstance(value, (bool, int, float)) or type(value).__module__ == "numpy" \
            and getattr(value, "ndim", 1) == 0:
        if re.search(rf"\b{type(value).__name__}\b", message):
            return True  # a number where something else is expected: its type says it
        text = {repr(value), str(value)}
        if isinstance(value, float) and math.isnan(value):
            text.add("nan")
        if isinstance(value, float) and math.isinf(value):
            text.add("inf")
        return any(t in message for t in text)
    return True  # arrays, models, mappings: naming the argument (and its type) suffices


def classify(thunk, argument, value):
    """The outcome of ``thunk()`` and, for an exception, its type and message."""
    import matplotlib.pyplot as plt

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with time_limit(TIME_LIMIT):
                thunk()
    except Hang:
        return "hang", "", ""
    except Exception as error:  # the probe's whole point: any exception is classified
        message = str(error)
        kind = type(error).__name__
        origin = _origin(error)
        if origin == "probe":
            return "probe error", kind, message + "\n" + traceback.format_exc()
        if origin == "library":
            return "raw", kind, message
        named = argument in message
        if isinstance(error, (ValueError, TypeError)) and named and _shows_value(message, value):
            return "clear", kind, message
        return "internal", kind, message
    finally:
        plt.close("all")
    return "accepted", "", ""


# --- valid inputs ------------------------------------------------------------------

class Inputs:
    """Valid arguments, built once (models are rebuilt per case: cases may train them)."""

    def __init__(self):
        import numpy as np
        import pandas as pd

        import companion as cp
        from companion._quiet import keras

        self.np, self.pd, self.cp, self.keras = np, pd, cp, keras
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(16, 8)).astype(np.float32)
        self.y = rng.integers(0, 3, size=16).astype(np.uint8)
        self.data = self.tiny_data()
        self.probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4],
                                       [0.5, 0.25, 0.25]])
        self.labels = np.array([0, 1, 1, 2])
        self.per_seed = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2],
                                      "configuration": ["a", "b"] * 3,
                                      "score": [0.8, 0.85, 0.81, 0.84, 0.79, 0.86]})
        self.landscape = cp.ill_conditioned_quadratic()
        self.path = cp.trajectory(keras.optimizers.SGD(0.05), self.landscape, steps=5)
        self.schedule = cp.OneCycleSchedule(0.1, total_steps=100)
        self.sweep = cp.depth_sweep(["relu"], ["he_normal"], self.x, depth=3, width=8,
                                    seeds=[0])
        self.moments = cp.signal_moments(cp.selu_stack(8, depth=3, width=8), self.x)
        self.result = cp.train(self.mlp(), self.data, epochs=2)
        self.range_result = cp.lr_range_test(self.mlp(), self.data, steps=12, batch_size=8,
                                             seed=0)
        self.runs = pd.DataFrame({
            "configuration": ["a", "a", "b"], "seed": [0, 1, 0], "reached": [True, False, True],
            "epochs": [2.0, NAN, 1.0], "seconds": [1.5, NAN, 1.0], "epochs_run": [2, 5, 1],
            "seconds_run": [1.5, 4.0, 1.0], "epochs_counted": [2.0, 5.0, 1.0],
            "seconds_counted": [1.5, 4.0, 1.0], "best_val_accuracy": [0.9, 0.7, 0.88]})
        self.bench = cp.BenchResult(runs=self.runs, summary=cp.summarize_runs(self.runs),
                                    target=0.85, max_epochs=5, settings={})
        self.reliability = cp.reliability_data(self.probabilities, self.labels, n_bins=4)
        self.fashion = cp.FashionMNIST(
            x_train=np.zeros((40, 28, 28), np.float32), y_train=np.arange(40) % 10,
            x_valid=np.zeros((10, 28, 28), np.float32), y_valid=np.arange(10) % 10,
            x_test=np.zeros((10, 28, 28), np.float32), y_test=np.arange(10) % 10,
            source=None, scaling="unit")

    def tiny_data(self, n_features=8, n_classes=3):
        np = self.np
        rng = np.random.default_rng(1)
        centers = rng.normal(scale=3.0, size=(n_classes, n_features))

        def split(n):
            y = rng.integers(0, n_classes, size=n)
            return (centers[y] + rng.normal(size=(n, n_features))).astype(np.float32), \
                y.astype(np.uint8)

        x_train, y_train = split(64)
        x_valid, y_valid = split(32)
        x_test, y_test = split(32)
        return types.SimpleNamespace(x_train=x_train, y_train=y_train, x_valid=x_valid,
                                     y_valid=y_valid, x_test=x_test, y_test=y_test)

    def mlp(self, **kwargs):
        settings = dict(depth=2, width=8, example_shape=(8,), n_classes=3)
        settings.update(kwargs)
        return self.cp.build_mlp(**settings)

    def compiled(self):
        model = self.mlp()
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model


# --- the cases -----------------------------------------------------------------------

def cases(inp):
    """Yield ``(name, argument, value, thunk, expect)``; ``expect`` is "bad" or "good"."""
    np, pd, cp, keras = inp.np, inp.pd, inp.cp, inp.keras
    data, x, y = inp.data, inp.x, inp.y

    def probe(name, fn, base, bad=(), good=(), aliases=None):
        """``fn(**base)`` with one argument replaced by each bad (or good) value.

        ``aliases`` maps an argument to the name a clear message uses instead (the
        checks of companion.tools.checks name the argument they are told to).
        """
        for argument, values in dict(bad).items():
            shown = (aliases or {}).get(argument, argument)
            for value in values:
                yield name, shown, value, _call(fn, base, argument, value), "bad"
        for argument, values in dict(good).items():
            for value in values:
                yield name, argument, value, _call(fn, base, argument, value), "good"

    def _call(fn, base, argument, value):
        def thunk():
            kwargs = base() if callable(base) else dict(base)
            kwargs[argument] = value
            return fn(**kwargs)
        return thunk

    numbers_bad = [NAN, INF, True, "1"]
    counts_bad = [0, -1, 2.5, True, "3"]
    P, L = inp.probabilities, inp.labels

    # tools/calibration
    for name in ("calibration_summary", "expected_calibration_error", "reliability_data"):
        yield from probe(name, getattr(cp, name), {"probabilities": P, "labels": L},
                         bad={"n_bins": counts_bad, "probabilities": [[], "abc", P[:, :1]],
                              "labels": ["abc", L[:2], L + 0.5]},
                         good={"n_bins": [np.int64(4)]})
    yield from probe("negative_log_likelihood", cp.negative_log_likelihood,
                     {"probabilities": P, "labels": L},
                     bad={"probabilities": [np.where(P == 0.7, NAN, P), -P],
                          "labels": [L + 5, np.array(["a"] * 4)]})
    # tools/callbacks
    yield from probe("StopAtTarget", cp.StopAtTarget, {"target": 0.8},
                     bad={"target": [NAN, INF, True, "0.8", None], "mode": ["bogus", None],
                          "monitor": [3, ""]},
                     good={"target": [np.float32(0.8), 1]})
    # tools/checks
    yield from probe("check_int", cp.check_int, {"name": "n", "value": 3},
                     bad={"value": [0.5, "3", True], "minimum": ["1", NAN],
                          "name": [3]}, aliases={"value": "n"})
    yield from probe("check_real", cp.check_real, {"name": "r", "value": 0.5},
                     bad={"value": [NAN, "x"], "low": [NAN, "0"], "closed": ["open"],
                          "high": [NAN]}, aliases={"value": "r"})
    yield from probe("check_choice", cp.check_choice,
                     {"name": "mode", "value": "a", "choices": ("a", "b")},
                     bad={"value": ["c"], "choices": [5, None]}, aliases={"value": "mode"})
    yield from probe("check_array", cp.check_array, {"name": "x", "value": [1.0]},
                     bad={"value": ["abc", [], [NAN]], "ndim": ["1", -1],
                          "min_size": [NAN, "1"]}, aliases={"value": "x"})
    yield from probe("check_model", cp.check_model, {"name": "model", "value": inp.mlp()},
                     bad={"value": ["mlp", None]}, aliases={"value": "model"})
    # tools/clipping
    yield from probe("clip_with_optimizer", cp.clip_with_optimizer,
                     {"gradients": np.array([3.0, 4.0]), "clipnorm": 1.0},
                     bad={"clipnorm": [NAN, INF, 0, -1.0, True, "1"],
                          "gradients": ["abc", [], np.zeros(0), [np.ones(2), "a"]]},
                     good={"clipnorm": [np.float32(1.0), np.int64(1)]})
    yield from probe("clip_with_optimizer", cp.clip_with_optimizer,
                     {"gradients": np.array([3.0, 4.0]), "clipvalue": 1.0},
                     bad={"clipvalue": [NAN, INF]})
    yield from probe("clip_with_optimizer", cp.clip_with_optimizer,
                     {"gradients": np.array([3.0, 4.0]), "global_clipnorm": 1.0},
                     bad={"global_clipnorm": [NAN, INF]})
    yield from probe("cosine_similarity", cp.cosine_similarity,
                     {"a": np.array([1.0, 0.0]), "b": np.array([1.0, 1.0])},
                     bad={"a": ["abc", [], np.array([NAN, 1.0])], "b": [np.ones(3), None]})
    # tools/diagnostics
    model_bad = ["mlp", None, 3]
    yield from probe("dead_units", cp.dead_units, lambda: {"model": inp.mlp(), "x": x},
                     bad={"model": model_bad, "x": [np.zeros((0, 8)), np.ones((4, 5)), "abc"],
                          "batch_size": [0, True, 2.5]},
                     good={"batch_size": [np.int64(8)]})
    yield from probe("gradient_norms", cp.gradient_norms,
                     lambda: {"model": inp.mlp(), "x": x, "y": y},
                     bad={"model": model_bad, "with_respect_to": ["bogus"],
                          "y": [y[:3], "abc"], "x": [np.zeros((0, 8))], "loss": ["bogus"]})
    yield from probe("kernel_snapshot", cp.kernel_snapshot, {"model": inp.mlp()},
                     bad={"model": model_bad + [keras.Sequential([keras.Input((3,)),
                                                                  keras.layers.Flatten()])]})
    yield from probe("layer_outputs", cp.layer_outputs, lambda: {"model": inp.mlp(), "x": x},
                     bad={"model": model_bad, "x": ["abc", np.zeros((0, 8))],
                          "batch_size": [0, -1, True]})
    yield from probe("layer_report", cp.layer_report,
                     lambda: {"model": inp.mlp(), "x": x, "y": y},
                     bad={"tolerance": [NAN, -1.0, "0.1"], "saturation": [(1, 0), "ab", (NAN, 1)],
                          "model": model_bad})
    yield from probe("layer_statistics", cp.layer_statistics,
                     lambda: {"model": inp.mlp(), "x": x},
                     bad={"tolerance": [NAN, INF, -1.0, True],
                          "saturation": [(NAN, 1.0), (0.0, INF), 5], "batch_size": [0, "8"]},
                     good={"tolerance": [np.float32(0.1)]})
    snap = {"a": np.ones((2, 2))}
    yield from probe("relative_updates", cp.relative_updates, {"before": snap, "after": snap},
                     bad={"before": ["abc", {"a": np.zeros((2, 2))}, {"b": np.ones((2, 2))}],
                          "after": [{"a": np.ones((3, 3))}, None]})
    yield from probe("saturated_units", cp.saturated_units,
                     lambda: {"model": inp.mlp(activation="sigmoid"), "x": x, "bounds": (0, 1)},
                     bad={"bounds": [(1, 0), "ab", (NAN, 1), (0, INF)],
                          "tolerance": [-1.0, NAN, "0.1"], "share": [0, 1.5, NAN, True],
                          "model": model_bad},
                     good={"share": [np.float32(0.9)], "tolerance": [np.float64(0.1)]})
    # tools/folding
    bn = keras.layers.BatchNormalization()
    yield from probe("batch_norm_affine", cp.batch_norm_affine, {"layer": bn},
                     bad={"layer": ["bn", keras.layers.Dense(3), None]})
    yield from probe("count_batch_norm", cp.count_batch_norm, {"model": inp.mlp()},
                     bad={"model": model_bad + [[inp.mlp()]]})
    yield from probe("fold_batch_norm", cp.fold_batch_norm,
                     lambda: {"model": inp.mlp(batch_norm="before")},
                     bad={"model": model_bad + [keras.Sequential([keras.layers.Dense(3)])],
                          "merge_activations": ["yes", None]})
    # tools/layers
    for name in ("MCDropout", "MCAlphaDropout"):
        yield from probe(name, getattr(cp, name), {"rate": 0.5},
                         bad={"rate": [NAN, INF, 1.5, -0.1, 1.0, True, "0.5"],
                              "seed": ["a", -1, 2.5]},
                         good={"rate": [np.float32(0.5)], "seed": [np.int64(3)]})
    yield from probe("RReLU", cp.RReLU, {},
                     bad={"lower": [NAN, -0.1, True, "0.1"], "upper": [INF, NAN],
                          "seed": ["a", -1, 2.5]},
                     good={"lower": [np.float32(0.1)], "seed": [np.int64(1)]})
    # tools/monitor
    yield from probe("TrainingMonitor", cp.TrainingMonitor, {"every": 5, "sample": x},
                     bad={"every": counts_bad + [NAN], "sample": [None, "abc", np.zeros(5),
                                                                 (x, y[:3]), {"a": x}],
                          "log_dir": [5], "histograms": ["yes"], "training": [1, None]},
                     good={"every": [np.int64(5)]})
    # tools/optim
    yield from probe("agreement_table", cp.agreement_table, {"settings": {"sgd": [{}]},
                                                              "steps": 3},
                     bad={"steps": counts_bad, "seed": [-1, "a", 2.5],
                          "settings": ["adam", {"bogus": [{}]}, {"sgd": {}},
                                       {"sgd": [{"learning_rate": NAN}]},
                                       {"sgd": [{"bogus": 1}]}]},
                     good={"steps": [np.int64(3)]})
    yield from probe("compare_with_keras", cp.compare_with_keras, {"name": "adam", "steps": 3},
                     bad={"name": ["bogus", 3], "steps": counts_bad, "size": [0, 2.5],
                          "dtype": ["float16"], "learning_rate": [NAN, -1.0, "0.1"],
                          "seed": [-1, "a"]},
                     good={"steps": [np.int64(3)], "size": [np.int32(4)]})
    yield from probe("decay_versus_l2", cp.decay_versus_l2, {"steps": 5},
                     bad={"learning_rate": [NAN, -1.0, 0.0, "0.1"],
                          "weight_decay": [NAN, -1.0, INF], "scales": [[], [NAN], "abc", [0.0]],
                          "steps": [0, 2.5, True]},
                     good={"steps": [np.int64(5)], "learning_rate": [np.float32(0.01)]})
    yield from probe("distance_to_minimum", cp.distance_to_minimum,
                     {"path": inp.path, "landscape": inp.landscape},
                     bad={"landscape": ["bowl", None], "path": ["abc", np.ones((3, 3)), []]})
    yield from probe("ill_conditioned_quadratic", cp.ill_conditioned_quadratic, {},
                     bad={"condition": [NAN, INF, 0.5, "25", True]},
                     good={"condition": [np.float32(25), np.int64(25)]})
    yield from probe("rosenbrock", cp.rosenbrock, {},
                     bad={"a": [NAN, INF, "1"], "b": [0, NAN, INF, "1", True]},
                     good={"b": [np.float32(100)]})
    yield from probe("trajectory", cp.trajectory,
                     lambda: {"optimizer": keras.optimizers.SGD(0.05),
                              "landscape": inp.landscape, "steps": 3},
                     bad={"optimizer": ["sgd", None], "landscape": ["bowl"],
                          "steps": counts_bad, "start": [(1.0,), "ab", (NAN, 0.0)]},
                     good={"steps": [np.int64(3)]})
    yield from probe("make_optimizer", cp.make_optimizer, {"optimizer": "adam"},
                     bad={"optimizer": ["bogus", 3, None],
                          "learning_rate": [NAN, INF, -1.0, 0.0, "0.1", True]},
                     good={"learning_rate": [np.float32(0.01), np.float64(0.01)]})
    # tools/schedules
    yield from probe("cycle_momentum", cp.cycle_momentum,
                     lambda: {"optimizer": keras.optimizers.Adam(), "schedule": inp.schedule},
                     bad={"optimizer": ["adam", None, keras.optimizers.Adagrad()],
                          "schedule": ["1cycle", None]})
    yield from probe("lr_range_test", cp.lr_range_test,
                     lambda: {"model": inp.mlp(), "data": data, "steps": 12, "batch_size": 8},
                     bad={"model": model_bad, "data": ["d", None],
                          "min_learning_rate": [NAN, 0.0, -1.0],
                          "max_learning_rate": [INF, NAN], "steps": [5, 2.5, True],
                          "batch_size": [0, True], "divergence": [NAN, 0.0, INF],
                          "window": [0, 2.5], "seed": [-1, "a"], "optimizer": ["bogus"]},
                     good={"steps": [np.int64(12)], "batch_size": [np.int64(8)],
                           "min_learning_rate": [np.float32(1e-4)]})
    yield from probe("OneCycleSchedule", cp.OneCycleSchedule,
                     {"max_learning_rate": 0.1, "total_steps": 100},
                     bad={"max_learning_rate": [NAN, INF, 0, "0.1", True],
                          "total_steps": [1, 2.5, True, "100"],
                          "warmup_fraction": [NAN, 1.0, 0.0], "annealing": ["bogus"],
                          "initial_divisor": [INF, 0], "final_divisor": [NAN],
                          "min_momentum": [NAN, 0.99], "max_momentum": [1.0, INF]},
                     good={"total_steps": [np.int64(100)], "max_learning_rate": [np.float32(0.1)],
                           "warmup_fraction": [np.float32(0.25)]})
    yield from probe("schedule_values", cp.schedule_values,
                     {"schedule": inp.schedule, "steps": 5},
                     bad={"schedule": ["s", None],
                          "steps": [0, -1, True, [[1, 2]], "abc", [], [0.5, 1.5], [-1, 2]]},
                     good={"steps": [np.int64(5)]})
    # tools/timing
    yield from probe("inference_time", cp.inference_time,
                     lambda: {"model": inp.mlp(), "x": x, "repeats": 2},
                     bad={"model": model_bad, "repeats": [0, True], "warmup": [-1],
                          "number": [0, 2.5], "x": ["abc", np.zeros((0, 8))]},
                     good={"repeats": [np.int64(2)]})
    yield from probe("interleaved_inference_time", cp.interleaved_inference_time,
                     lambda: {"models": {"a": inp.mlp()}, "x": x, "rounds": 2},
                     bad={"models": ["m", {"a": "m"}, [inp.mlp()]], "rounds": [0, True],
                          "number": [0], "warmup": [-1]},
                     good={"rounds": [np.int64(2)]})
    yield from probe("interleaved_times", cp.interleaved_times,
                     {"calls": {"a": lambda: None}, "rounds": 2},
                     bad={"calls": ["f", {"a": 3}, [lambda: None]], "rounds": [0, True, 2.5],
                          "warmup": [-1], "number": [0]},
                     good={"rounds": [np.int64(2)]})
    yield from probe("time_call", cp.time_call, {"fn": lambda: None, "repeats": 2},
                     bad={"fn": [3, None], "repeats": [0, True], "number": [2.5, 0],
                          "warmup": [-1, "1"]},
                     good={"repeats": [np.int64(2)]})
    yield from probe("Timing.ratio_to", cp.Timing(runs=(1.0, 2.0)).ratio_to,
                     {"other": cp.Timing(runs=(1.0, 1.0))},
                     bad={"other": ["t", cp.Timing(runs=(1.0,)), cp.Timing(runs=(0.0, 1.0))]})
    # tools/uncertainty
    yield from probe("mc_dropout_model", cp.mc_dropout_model, {"model": inp.mlp(dropout=0.5)},
                     bad={"model": model_bad + [keras.Sequential([keras.layers.Dropout(0.5)])]})
    for name in ("mc_predict", "mc_samples"):
        yield from probe(name, getattr(cp, name),
                         lambda: {"model": inp.mlp(dropout=0.5), "x": x, "n_samples": 3},
                         bad={"model": model_bad, "x": [np.zeros((0, 8)), "abc", np.ones((4, 5))],
                              "n_samples": counts_bad, "batch_size": [0, True, 2.5]},
                         good={"n_samples": [np.int64(3)], "batch_size": [np.int32(64)]})

    # lab/activations
    yield from probe("activation_and_derivative", cp.activation_and_derivative,
                     {"activation": "relu", "x": np.linspace(-1, 1, 5)},
                     bad={"activation": ["bogus", 3], "x": ["abc"]})
    yield from probe("activation_functions", cp.activation_functions, {},
                     bad={"names": ["relu", ["bogus"], 3]})
    yield from probe("activation_latency", cp.activation_latency,
                     {"activations": ["relu"], "shape": (4, 4), "repeats": 1, "number": 1},
                     bad={"activations": ["relu", [], {"a": 3}],
                          "shape": [(0, 4), (4, -1), "ab", (2.5, 4)],
                          "repeats": [0, True], "number": [0], "seed": [-1, "a"]},
                     good={"shape": [(np.int64(4), 4)], "repeats": [np.int64(1)]})
    yield from probe("activation_mlp", cp.activation_mlp,
                     {"activation": "relu", "depth": 1, "width": 4},
                     bad={"activation": ["bogus", 3], "depth": [0, 2.5, True],
                          "width": [0, "4"], "n_classes": [0, True],
                          "example_shape": ["ab", (0,), (2.5,)], "initializer": ["bogus"],
                          "name": [3]},
                     good={"width": [np.int64(4)], "depth": [np.int32(1)]})
    table = pd.DataFrame({"depth": [1, 2], "mean": [0.0, 0.0], "std": [0.5, 1.0]})
    yield from probe("first_normalized_layer", cp.first_normalized_layer,
                     {"table": table, "tolerance": 0.1},
                     bad={"tolerance": [NAN, 0.0, "0.1", True],
                          "table": ["abc", pd.DataFrame(columns=["depth", "mean", "std"])]},
                     good={"tolerance": [np.float32(0.1)]})
    yield from probe("learned_slopes", cp.learned_slopes,
                     {"model": cp.activation_mlp(keras.layers.PReLU(), depth=1, width=4)},
                     bad={"model": model_bad + [inp.mlp()]})
    yield from probe("normalization_error", cp.normalization_error, {"table": table},
                     bad={"table": ["abc", pd.DataFrame(columns=["mean", "std"]),
                                    pd.DataFrame({"mean": [NAN], "std": [1.0]})]})
    scores = {"a": 0.9, "b": 0.8, "c": 0.85}
    yield from probe("pair_agreement", cp.pair_agreement, {"scores": scores, "rule": ["a", "b"]},
                     bad={"rule": ["ab", ["a"], ["a", "z"]], "scores": ["abc", {"a": NAN, "b": 1}],
                          "higher_is_better": ["yes", None]})
    yield from probe("ranking", cp.ranking, {"scores": scores},
                     bad={"scores": ["abc", {"a": NAN, "b": 1.0}, {}],
                          "higher_is_better": ["no", None]})
    yield from probe("selu_stack", cp.selu_stack, {"n_inputs": 4, "depth": 2, "width": 4},
                     bad={"n_inputs": [0, 2.5], "depth": [0, True], "width": ["4"],
                          "dropout": [NAN, 1.0, -0.1], "dropout_kind": ["x"],
                          "residual": ["yes"], "initializer": ["bogus"]},
                     good={"n_inputs": [np.int64(4)], "dropout": [np.float32(0.1)]})
    yield from probe("signal_moments", cp.signal_moments,
                     lambda: {"model": cp.selu_stack(8, depth=2, width=4), "x": x},
                     bad={"model": model_bad, "x": ["abc", np.zeros((0, 8)), np.ones((3, 5))],
                          "training": ["yes"]})
    # lab/bench
    yield from probe("run_once", cp.run_once,
                     {"builder": cp.default_recipe, "data": data, "max_epochs": 1,
                      "example_shape": (8,), "n_classes": 3},
                     bad={"builder": ["default", None], "max_epochs": [0, 2.5, True],
                          "target": [1.5, NAN, "0.8"], "batch_size": [0, True],
                          "data": ["d"], "schedule_epochs": [0, 2.5, True]},
                     good={"max_epochs": [np.int64(1)], "batch_size": [np.int64(32)],
                           "schedule_epochs": [np.int64(2)]})
    yield from probe("summarize_runs", cp.summarize_runs, {"runs": inp.runs},
                     bad={"runs": ["abc", inp.runs.drop(columns="seconds"),
                                   inp.runs.iloc[:0], None]})
    tiny = {"standard": data, "unit": data}
    yield from probe("time_to_accuracy", cp.time_to_accuracy,
                     {"configs": ["default"], "target": 0.5, "seeds": [0], "max_epochs": 1,
                      "data": tiny, "recipe_kwargs": {"default": {"example_shape": (8,),
                                                                  "n_classes": 3}}},
                     bad={"configs": ["default", [], ["bogus"]], "target": [NAN, 0.0, "0.5"],
                          "seeds": [0, "abc", [0, 0], [-1]], "max_epochs": [0, True],
                          "batch_size": [0, True], "recipe_kwargs": ["x", {"naive": {}}],
                          "data": ["d", {"standard": "d"}]},
                     good={"max_epochs": [np.int64(1)], "seeds": [np.int64(1)]})
    yield from probe("BenchResult.from_json", cp.BenchResult.from_json,
                     {"text_or_path": inp.bench.to_json()},
                     bad={"text_or_path": ["{not json", 3, None, "{}"]})
    # lab/data
    yield from probe("load_fashion_mnist", cp.load_fashion_mnist,
                     {"train_size": 100, "download": False},
                     bad={"scaling": ["bogus", None], "train_size": [0, 2.5, True, "100"],
                          "valid_size": [0, 60_000, True], "flatten": ["yes"],
                          "download": ["no"], "data_dir": [123]},
                     good={"train_size": [np.int64(100)], "valid_size": [np.int64(5000)]})
    yield from probe("split_task_a_b", cp.split_task_a_b,
                     {"data": inp.fashion, "b_train_size": 4, "seed": 0},
                     bad={"data": ["d", None], "b_train_size": [1, 2.5, True, 10_000],
                          "seed": [-1, "a", 2.5]},
                     good={"b_train_size": [np.int64(4)], "seed": [np.int64(0)]})
    # lab/initialization
    yield from probe("depth_sweep", cp.depth_sweep,
                     {"activations": ["relu"], "initializers": ["he_normal"], "x": x,
                      "depth": 2, "width": 4, "seeds": [0]},
                     bad={"activations": ["relu", [], [3]], "initializers": ["he_normal", []],
                          "x": [np.zeros((0, 8)), "abc", np.ones((1, 8)), np.ones((4, 8))],
                          "depth": [0, 2.5], "width": [0, True], "seeds": [0, [-1]],
                          "tolerance": [NAN, -1.0], "batch_size": [0]},
                     good={"depth": [np.int64(2)], "width": [np.int64(4)]})
    yield from probe("initializer_spec", cp.initializer_spec,
                     {"initializer": "he_normal", "shape": (4, 3)},
                     bad={"initializer": ["bogus", 3, None], "shape": [(0, 3), "ab", (2.5, 3), 5]},
                     good={"shape": [(np.int64(4), np.int32(3))]})
    yield from probe("named_initializers", cp.named_initializers, {},
                     bad={"names": ["he_normal", ["bogus"], [], 3]})
    yield from probe("summarize_sweep", cp.summarize_sweep, {"sweep": inp.sweep},
                     bad={"band": [(2.0, 0.5), (NAN, 2.0), "ab", (0.5, INF)],
                          "sweep": ["abc", inp.sweep.iloc[:0]]})
    yield from probe("unit_differences", cp.unit_differences, {"model": inp.mlp()},
                     bad={"model": model_bad})
    yield from probe("variance_check", cp.variance_check,
                     {"initializers": ["he_normal"], "shape": (4, 3)},
                     bad={"initializers": ["he_normal", [], ["bogus"]], "shape": [(0, 3), "ab"],
                          "seed": [-1, "a", 2.5]},
                     good={"seed": [np.int64(1)]})
    yield from probe("variance_table", cp.variance_table, {},
                     bad={"shape": [(0, 3), "ab", 5]})
    # lab/models
    yield from probe("build_autoencoder", cp.build_autoencoder,
                     {"depth": 1, "width": 4, "coding_size": 2, "example_shape": (4, 4)},
                     bad={"depth": [-1, 2.5], "width": [0, True], "coding_size": [0, "2"],
                          "example_shape": [(0, 4), "ab", (2.5, 4), 16],
                          "activation": ["bogus"], "initializer": ["bogus"], "name": [3]},
                     good={"width": [np.int64(4)], "coding_size": [np.int32(2)],
                           "example_shape": [(np.int64(4), 4)]})
    yield from probe("build_mlp", cp.build_mlp, {"depth": 1, "width": 4, "example_shape": (8,)},
                     bad={"depth": [-1, 2.5, True], "width": [0, "4"], "n_classes": [0, True],
                          "dropout": [NAN, 1.0, -0.1, "0.1", True], "batch_norm": ["x", True],
                          "activation": ["bogus", 3], "output_activation": ["bogus"],
                          "example_shape": [(0,), "ab", 8, (2.5,)], "dropout_kind": ["x"],
                          "initializer": ["bogus"], "kernel_regularizer": ["bogus"],
                          "kernel_constraint": ["bogus"], "name": [3]},
                     good={"width": [np.int64(4)], "depth": [np.int32(1)],
                           "dropout": [np.float32(0.2), np.float64(0.2)],
                           "example_shape": [(np.int64(8),)]})
    # lab/recipes
    recipe_bad = {"total_steps": [1, 2.5, True, "100"], "learning_rate": [NAN, INF, 0.0, "0.1"],
                  "steps_per_execution": [0, -1, True, 2.5], "optimizer": ["bogus"],
                  "schedule": ["x"], "example_shape": ["ab"], "depth": [-1]}
    recipe_good = {"total_steps": [np.int64(100)], "learning_rate": [np.float32(0.01)],
                   "steps_per_execution": [np.int64(4)]}
    yield from probe("default_recipe", cp.default_recipe, {"total_steps": 100, "width": 4},
                     bad={**recipe_bad, "l2": [NAN, INF, -1.0], "dropout": [NAN, 1.0],
                          "scaling": ["x"], "batch_norm": ["x"],
                          "weight_decay": [NAN, -1.0, "0.1"], "batch_size": [0, True]},
                     good={**recipe_good, "dropout": [np.float32(0.1)], "l2": [np.float32(1e-4)],
                           "weight_decay": [np.float32(1e-4)]})
    yield from probe("naive_recipe", cp.naive_recipe, {"width": 4},
                     bad={**recipe_bad, "scaling": ["x"], "initializer": ["bogus"]},
                     good=recipe_good)
    yield from probe("self_normalizing_recipe", cp.self_normalizing_recipe,
                     {"total_steps": 100, "width": 4},
                     bad={**recipe_bad, "dropout": [NAN, 1.0]}, good=recipe_good)
    for name in ("keras_defaults_recipe", "sgd_1cycle_recipe"):
        yield from probe(name, getattr(cp, name), {"total_steps": 100, "width": 4},
                         bad={**recipe_bad, "scaling": ["x"], "batch_size": [0, True, 2.5]},
                         good={**recipe_good, "batch_size": [np.int64(64)]})
    yield from probe("recipe_table", cp.recipe_table, {},
                     bad={"names": ["bogus", ["bogus"], 3, []]})
    # lab/seeding
    yield from probe("derive_seeds", cp.derive_seeds, {"count": 2},
                     bad={"count": [0, 2.5, True, "2"], "seed": [-1, "a", NAN]},
                     good={"count": [np.int64(2)], "seed": [np.int64(1)]})
    yield from probe("reseed", cp.reseed, {}, bad={"seed": [-1, 2.5, "a", NAN, True]},
                     good={"seed": [np.int64(3)]})
    # lab/seeds
    yield from probe("paired_differences", cp.paired_differences,
                     {"per_seed": inp.per_seed, "metric": "score", "baseline": "a"},
                     bad={"metric": ["bogus"], "baseline": ["z"], "per_seed": ["abc", None],
                          "by": ["bogus"]})
    yield from probe("run_seeds", cp.run_seeds,
                     {"configurations": {"a": lambda seed: 1.0}, "seeds": [0]},
                     bad={"seeds": [0, "abc", [1, 1], [-1], 2.5],
                          "configurations": ["abc", {"a": 3}, {}]},
                     good={"seeds": [np.int64(2), [np.int64(0)]]})
    yield from probe("seed_range_reading", cp.seed_range_reading,
                     {"value": 0.5, "per_seed": [0.2, 0.6]},
                     bad={"value": [NAN, "a", None], "per_seed": [[], "abc", [NAN], None]})
    yield from probe("seed_summary", cp.seed_summary, {"per_seed": inp.per_seed, "metric": "score"},
                     bad={"confidence": [NAN, 1.0, 0.0, "0.9", True], "metric": ["bogus"],
                          "per_seed": ["abc"], "by": ["bogus"]},
                     good={"confidence": [np.float32(0.9)]})
    yield from probe("summarize", cp.summarize, {"values": [1.0, 2.0, 3.0]},
                     bad={"values": [[1.0], "abc", [NAN, 1.0], [], None],
                          "confidence": [0, NAN, 1.5, "0.95", True]},
                     good={"confidence": [np.float64(0.9)]})
    yield from probe("verdict", cp.verdict,
                     {"summary": {"ci_low": 0.1, "ci_high": 0.2}, "name": "a", "baseline": "b"},
                     bad={"summary": ["abc", {"ci_low": NAN, "ci_high": 1.0}, {}, None],
                          "higher_is_better": ["no"]})
    # lab/sweeps
    yield from probe("bake_off", cp.bake_off,
                     lambda: {"optimizers": {"sgd": keras.optimizers.SGD(0.05)}, "data": data,
                              "epochs": 1, "target": 0.5,
                              "build": lambda: inp.mlp()},
                     bad={"target": [NAN, "0.8", 0.0, True], "epochs": [0, 2.5],
                          "optimizers": ["adam", {"a": "adam"}, {}], "build": ["mlp"],
                          "batch_size": [0], "seed": [-1]},
                     good={"epochs": [np.int64(1)], "target": [np.float32(0.5)]})
    # lab/training
    yield from probe("compare", cp.compare,
                     {"builders": {"a": lambda: inp.mlp()}, "data": data, "epochs": 1},
                     bad={"builders": ["abc", {"a": 3}, {}], "seed": [-1, "a"],
                          "epochs": [0, 2.5], "data": ["d"]},
                     good={"epochs": [np.int64(1)]})
    yield from probe("epoch_seconds", cp.epoch_seconds,
                     lambda: {"models": {"a": inp.compiled()}, "data": data, "rounds": 1},
                     bad={"rounds": [0, True, 2.5], "models": ["m", {"a": inp.mlp()}, {}],
                          "batch_size": [0, True], "data": ["d"]},
                     good={"rounds": [np.int64(1)], "batch_size": [np.int64(16)]})
    yield from probe("target_table", cp.target_table,
                     {"results": {"a": inp.result}, "target": 0.5},
                     bad={"target": [NAN, "0.8"], "mode": ["x"], "monitor": ["bogus"],
                          "results": [{"a": 3}, "abc", {}], "skip_first": ["no"]},
                     good={"target": [np.float32(0.5)]})
    yield from probe("train", cp.train, lambda: {"model": inp.mlp(), "data": data, "epochs": 1},
                     bad={"model": model_bad, "data": ["d", None], "epochs": [0, 2.5, True],
                          "batch_size": [0, True], "learning_rate": [NAN, -1.0, "0.1"],
                          "target": [NAN, 1.5], "steps_per_execution": [0, -1, 2.5, True],
                          "metrics": ["accuracy"], "callbacks": ["abc", [3]],
                          "optimizer": ["bogus"], "validate": ["yes"], "evaluate": ["no"]},
                     good={"epochs": [np.int64(1)], "batch_size": [np.int64(16)],
                           "learning_rate": [np.float32(0.01)],
                           "steps_per_execution": [np.int64(4)]})
    yield from probe("TrainingResult.time_to_target", inp.result.time_to_target,
                     {"target": 0.5},
                     bad={"target": [NAN, "0.8", None], "mode": ["x"], "monitor": ["bogus"]},
                     good={"target": [np.float32(0.5)]})
    # lab/transfer
    yield from probe("clone_with_weights", cp.clone_with_weights, {"model": inp.mlp()},
                     bad={"model": model_bad, "name": [3]})
    yield from probe("fine_tune", cp.fine_tune,
                     lambda: {"model": inp.mlp(), "data": data, "epochs": 2,
                              "frozen_layers": 2, "frozen_epochs": 1},
                     bad={"epochs": [0, 2.5, True], "frozen_epochs": [5, -1],
                          "frozen_layers": ["hidden_1", -1], "learning_rate": [NAN, -1.0],
                          "fine_tune_learning_rate": [NAN], "batch_size": [0],
                          "steps_per_execution": [0, 2.5], "optimizer": [3, "bogus"],
                          "model": model_bad},
                     good={"epochs": [np.int64(2)], "frozen_epochs": [np.int64(1)],
                           "frozen_layers": [np.int64(2)], "learning_rate": [np.float32(1e-3)]})
    yield from probe("FineTuner", cp.FineTuner, lambda: {"model": inp.mlp(), "frozen_layers": 2},
                     bad={"frozen_layers": ["hidden_1", -1, 99], "optimizer": [3, "bogus"],
                          "loss": [3, None, "bogus"], "metrics": ["accuracy", [3]],
                          "model": model_bad},
                     good={"frozen_layers": [np.int64(2)]})

    def tuned(**kwargs):
        return cp.FineTuner(inp.mlp(), frozen_layers=2).run(**kwargs)
    yield from probe("FineTuner.run", tuned,
                     lambda: {"data": data, "epochs": 2, "frozen_epochs": 1, "seed": 1},
                     bad={"epochs": [0, 2.5, True], "frozen_epochs": [5, -1],
                          "seed": [-1, 2.5, "1"], "learning_rate": [NAN, -1.0],
                          "fine_tune_learning_rate": [NAN], "batch_size": [0],
                          "steps_per_execution": [0, 2.5], "validate": ["no"], "data": [3]},
                     good={"seed": [np.int64(1)], "epochs": [np.int64(2)]})
    weights = inp.mlp().get_weights()
    yield from probe("max_weight_change", cp.max_weight_change,
                     lambda: {"before": weights, "model": inp.mlp()},
                     bad={"before": ["abc", weights[:2], None], "model": model_bad})
    yield from probe("replace_head", cp.replace_head, lambda: {"model": inp.mlp()},
                     bad={"drop": [-1, 2.5, True, 99], "head": ["dense", 3],
                          "clone": ["no"], "model": model_bad, "name": [3]},
                     good={"drop": [np.int64(1)]})
    yield from probe("rotation_task", cp.rotation_task, {"images": np.zeros((3, 4, 4))},
                     bad={"images": [np.zeros((3, 4, 5)), "abc", np.zeros((4, 4))],
                          "seed": [-1, "a", 2.5]},
                     good={"seed": [np.int64(1)]})
    yield from probe("set_trainable", cp.set_trainable,
                     lambda: {"model": inp.compiled(), "trainable": False},
                     bad={"trainable": ["no", 0, None], "layers": ["hidden_1", 99, -1, ["bogus"]],
                          "learning_rate": [NAN, -1.0, "0.1"], "model": model_bad},
                     good={"layers": [np.int64(1)], "learning_rate": [np.float32(0.01)]})
    yield from probe("trainable_table", cp.trainable_table, {"model": inp.mlp()},
                     bad={"model": model_bad})

    # book
    yield from probe("claim", cp.claim, {"statement": "s", "measured": 2.0, "at_least": 1.0},
                     bad={"at_least": [NAN, "1"], "measured": ["2"], "statement": ["", 3]})
    yield from probe("glue", cp.glue, {"name": "x", "value": 1},
                     bad={"name": ["1abc", 3, ""]})
    yield from probe("glue_values", lambda values: cp.glue_values(**values), {"values": {"x": 1}},
                     bad={"values": [{"1abc": 1}, {"": 1}]}, aliases={"values": "name"})
    yield from probe("profile", cp.profile, {}, bad={"name": ["bogus", 3]})
    yield from probe("setup", cp.setup, {"announce": False},
                     bad={"seed": [-1, 2.5, "a", True], "deterministic": ["no"],
                          "announce": ["no"], "mixed_precision": ["yes"]},
                     good={"seed": [np.int64(3)]})
    yield from probe("strategy", cp.strategy, {}, bad={"devices": ["cpu:0", ["gpu:9"], 3, []]})
    yield from probe("plot_activation_grid", cp.plot_activation_grid,
                     {"activations": ["relu"], "points": 11},
                     bad={"activations": ["relu", [], ["bogus"]], "x_range": [(NAN, 1.0), (1.0, 1.0),
                                                                                "ab"],
                          "points": [0, 2.5], "ncols": [0, True]},
                     good={"points": [np.int64(11)], "ncols": [np.int64(2)]})
    outputs = {"hidden_1": np.ones((4, 3))}
    yield from probe("plot_activation_histograms", cp.plot_activation_histograms,
                     {"outputs": outputs, "layers": ["hidden_1"]},
                     bad={"layers": ["hidden_1", []], "bins": [0, 2.5], "outputs": ["abc"],
                          "value_range": [(1, 0), (NAN, 1)]},
                     good={"bins": [np.int64(5)]})
    yield from probe("plot_activations", cp.plot_activations,
                     {"activations": ["relu"], "points": 11},
                     bad={"activations": ["relu", [], ["bogus"]], "points": [0, 2.5],
                          "x_range": [(NAN, 1.0), "ab"]},
                     good={"points": [np.int64(11)]})
    yield from probe("plot_bake_off", cp.plot_bake_off, {"results": {"a": inp.result}},
                     bad={"metrics": ["loss", [], ["bogus"]], "results": [{"a": 3}, "abc"],
                          "target": ["x", NAN]})
    yield from probe("plot_clipped_gradients", cp.plot_clipped_gradients,
                     {"gradient": np.array([0.9, 0.1]), "clipped": {"c": np.array([0.5, 0.1])}},
                     bad={"threshold": [-1.0, NAN, "1"], "gradient": [[1, 2, 3], "ab", [NAN, 1]],
                          "clipped": ["abc", {"c": [1, 2, 3]}]})
    yield from probe("plot_histories", cp.plot_histories, {"results": {"a": inp.result}},
                     bad={"metric": ["bogus"], "results": [{"a": 3}, "abc"],
                          "target": ["x", NAN]})
    yield from probe("plot_image_grid", cp.plot_image_grid, {"images": np.zeros((2, 2, 4, 4))},
                     bad={"images": [np.zeros((2, 2)), "abc", np.zeros((0, 2, 4, 4))],
                          "row_labels": [["a"], "ab"], "cmap": ["bogus"]})
    profiles = pd.DataFrame({"depth": [1, 2], "std": [1.0, 0.1]}, index=["hidden_1", "hidden_2"])
    yield from probe("plot_layer_profiles", cp.plot_layer_profiles,
                     {"tables": {"a": profiles}, "column": "std"},
                     bad={"column": ["bogus"], "tables": ["abc", {"a": 3}, {}]})
    yield from probe("plot_learning_curves", cp.plot_learning_curves,
                     {"results": {"a": inp.result}},
                     bad={"metric": ["bogus"], "marks": ["abc", {"a": "x"}],
                          "results": [{"a": 3}, {}]})
    yield from probe("plot_lr_range_test", cp.plot_lr_range_test, {"result": inp.range_result},
                     bad={"result": ["abc", None]})
    yield from probe("plot_relative_updates", cp.plot_relative_updates,
                     {"updates": {"a": 0.1, "b": 0.01}},
                     bad={"updates": ["abc", {}, {"a": NAN}, {"a": -1.0}]})
    yield from probe("plot_reliability", cp.plot_reliability, {"tables": {"a": inp.reliability}},
                     bad={"tables": ["abc", {"a": 3}, {}]})
    yield from probe("plot_schedules", cp.plot_schedules,
                     {"schedules": {"a": inp.schedule}, "steps": 10},
                     bad={"steps": [0, -1, "10", 2.5, True], "steps_per_epoch": [0, NAN, -1],
                          "schedules": [{"a": "x"}, "abc", {}], "momentum": ["yes"]},
                     good={"steps": [np.int64(10)], "steps_per_epoch": [np.int64(5)]})
    yield from probe("plot_seed_points", cp.plot_seed_points,
                     {"per_seed": inp.per_seed, "metric": "score"},
                     bad={"confidence": [NAN, 1.0], "metric": ["bogus"], "by": ["bogus"],
                          "reference": ["x"]})
    yield from probe("plot_self_normalization", cp.plot_self_normalization,
                     {"tables": {"a": inp.moments}},
                     bad={"std_range": [(NAN, 2.0), "ab", (0.5, INF)],
                          "mean_tolerance": [-1.0, NAN], "std_tolerance": [-1.0],
                          "tables": [{"a": 3}, "abc"]})
    yield from probe("plot_std_heatmap", cp.plot_std_heatmap, {"sweep": inp.sweep},
                     bad={"vmin": [NAN, 0.0, "x"], "vmax": [INF], "sweep": ["abc", inp.sweep.iloc[:0]]})
    yield from probe("plot_std_ratios", cp.plot_std_ratios, {"sweep": inp.sweep},
                     bad={"panel": ["bogus"], "line": [3], "band": [(2.0, 1.0), "ab"],
                          "ylim": [(0.0, 1.0), (1.0, NAN)], "sweep": ["abc", inp.sweep.iloc[:0]]})
    yield from probe("plot_time_to_accuracy", cp.plot_time_to_accuracy, {"runs": inp.runs},
                     bad={"metric": ["bogus"], "runs": ["abc", inp.runs.drop(columns="reached"),
                                                        inp.runs.iloc[:0]],
                          "target": ["x", NAN]})
    yield from probe("plot_trajectories", cp.plot_trajectories,
                     {"landscapes": [inp.landscape], "paths": {inp.landscape.name: {"s": inp.path}}},
                     bad={"levels": [0, 2.5, True], "landscapes": ["abc", [3]],
                          "paths": [{inp.landscape.name: {"s": [[1.0]]}}, "abc"]},
                     good={"levels": [np.int64(5)]})
    mean = np.full((4, 3), 1 / 3)
    yield from probe("plot_uncertain_examples", cp.plot_uncertain_examples,
                     {"images": np.zeros((4, 28, 28)), "mean": mean, "std": mean * 0,
                      "labels": np.array([0, 1, 2, 0]), "indices": [0, 1]},
                     bad={"indices": [[99], "ab", []], "images": [np.zeros((4, 5))],
                          "mean": [mean[:, :2], "abc"], "std": [mean[:2]],
                          "labels": [np.array([5, 5, 5, 5])], "class_names": [["a"]]})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="one line per case that is not clear (or numpy rejected)")
    parser.add_argument("--json", help="write every case and its outcome here")
    parser.add_argument("--only", help="probe only the names containing this text")
    args = parser.parse_args(argv)

    from companion._quiet import keras, tf  # noqa: F401  (quiet start-up)
    import companion as cp

    cp.setup(seed=0, announce=False)
    inp = Inputs()
    records = []
    for name, argument, value, thunk, expect in cases(inp):
        if args.only and args.only not in name:
            continue
        keras.utils.set_random_seed(0)
        outcome, kind, message = classify(thunk, argument, value)
        keras.mixed_precision.set_global_policy("float32")
        if expect == "good":
            outcome = "numpy ok" if outcome == "accepted" else "numpy rejected"
        records.append({"name": name, "argument": argument, "value": _show(value),
                        "outcome": outcome, "error": kind, "message": message.split("\n")[0][:200]})
        if args.verbose and outcome not in ("clear", "numpy ok"):
            print(f"{outcome:15s} {name}({argument}={_show(value)}): {kind} {message[:160]!r}",
                  flush=True)

    probed = sorted({r["name"] for r in records})
    totals = collections.Counter(r["outcome"] for r in records)
    print(f"\n{len(records)} cases, {len(probed)} public names probed")
    for outcome in ("clear", "internal", "raw", "accepted", "hang", "probe error",
                    "numpy ok", "numpy rejected"):
        print(f"  {outcome:15s} {totals.get(outcome, 0):4d}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(records, indent=1) + "\n")
    return 0


def _show(value):
    text = repr(value)
    if len(text) > 40:
        text = f"<{type(value).__name__}>"
    return text


if __name__ == "__main__":
    sys.exit(main())
