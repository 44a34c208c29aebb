import re
import time

import keras
import numpy as np
import pytest

from companion.tools import timing as timing_module
from companion.tools.timing import (
    inference_time, interleaved_inference_time, interleaved_times, time_call, Timing)


def test_timing_statistics_are_the_median_and_range():
    timing = Timing(runs=(0.3, 0.1, 0.2, 0.5))
    assert timing.median == pytest.approx(0.25)
    assert (timing.best, timing.worst) == (0.1, 0.5)


def test_time_call_counts_calls_and_measures_sleeps():
    calls = []

    def sleepy():
        calls.append(1)
        time.sleep(0.01)

    timing = time_call(sleepy, repeats=3, warmup=2, number=2)
    assert len(calls) == 2 + 3 * 2
    assert len(timing.runs) == 3
    assert all(run >= 0.01 for run in timing.runs)


def test_inference_time_runs_the_model_in_inference_mode():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    model = keras.Sequential([keras.Input((3,)), Probe()])
    seen.clear()  # building the model traced it once, symbolically
    timing = inference_time(model, np.zeros((4, 3), dtype="float32"), repeats=2, warmup=1)
    assert len(timing.runs) == 2
    assert seen and all(flag is False for flag in seen)


def test_compiled_inference_traces_once_and_computes_the_same_function():
    traced = []

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            traced.append(training)  # Python runs only while tracing in graph mode
            return 2.0 * x

    model = keras.Sequential([keras.Input((3,)), Probe()])
    traced.clear()
    x = np.arange(12, dtype="float32").reshape(4, 3)
    times = interleaved_inference_time({"a": model}, x, rounds=4, number=2, warmup=1,
                                       compiled=True)
    assert len(times["a"].runs) == 4
    assert traced == [False]  # one trace for 1 + 4 * 2 calls, in inference mode
    call = timing_module._forward_call(model, x, True)
    np.testing.assert_array_equal(call(), 2.0 * x)


def test_compiled_inference_needs_a_warmup_call():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="warmup must be an integer >= 1, got 0"):
        interleaved_inference_time({"a": model}, np.ones((2, 3)), warmup=0, compiled=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, "repeats must be an integer >= 1, got 0"),
    ({"warmup": -1}, "warmup must be an integer >= 0, got -1"),
    ({"number": 1.5}, "number must be an integer >= 1, got 1.5"),
])
def test_time_call_rejects_bad_counts(kwargs, message):
    with pytest.raises(ValueError, match=message):
        time_call(lambda: None, **kwargs)


def test_time_call_rejects_a_non_callable():
    with pytest.raises(TypeError, match="fn must be callable, got int 3"):
        time_call(3)


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

def tiny_model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


@pytest.mark.parametrize("call, error, message", [
    (lambda: time_call(lambda: None, repeats=0), ValueError, "repeats must be an integer >= 1, got 0"),
    (lambda: time_call(lambda: None, number=2.5), ValueError, "number must be an integer >= 1, got 2.5"),
    (lambda: inference_time("mlp", np.ones((2, 3))), TypeError, "model must be a Keras model, got str"),
    (lambda: inference_time(tiny_model(), np.ones((2, 5))), ValueError,
     "x holds examples of shape (5,), but the model expects (3,)"),
    (lambda: interleaved_times("f"), TypeError,
     "calls must be a mapping (a dict) from names to functions, got str"),
    (lambda: interleaved_times({"a": 3}), TypeError, "calls['a'] must be callable, got int 3"),
    (lambda: interleaved_inference_time({"a": "m"}, np.ones((2, 3))), TypeError,
     "models['a'] must be a Keras model, got str"),
    (lambda: Timing(runs=(1.0,)).ratio_to("t"), TypeError, "other must be a Timing, got str"),
    (lambda: Timing(runs=(1.0,)).ratio_to(Timing(runs=(0.0,))), ValueError,
     "other has a run of 0.0 s: a ratio to it is undefined"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_numpy_counts_are_accepted():
    assert len(time_call(lambda: None, repeats=np.int64(2), number=np.int32(3)).runs) == 2


def test_cpu_clock_does_not_count_waiting():
    # Sleeping takes wall time but almost no CPU time; a busy loop takes both.
    def busy():
        end = time.process_time() + 0.05
        while time.process_time() < end:
            pass

    calls = {"sleep": lambda: time.sleep(0.05), "busy": busy}
    wall = interleaved_times(calls, rounds=3, clock="wall")
    cpu = interleaved_times(calls, rounds=3, clock="cpu")
    assert wall["sleep"].best >= 0.05
    assert cpu["sleep"].worst < 0.02
    assert cpu["busy"].best >= 0.05


def test_unknown_clock_is_named():
    with pytest.raises(ValueError, match="clock.*'gpu'.*wall.*cpu"):
        interleaved_times({"f": lambda: None}, clock="gpu")
