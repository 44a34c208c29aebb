"""companion.tools.checks: declared validation with value-naming messages."""

import math
import re

import numpy as np
import pytest

from companion._quiet import keras
from companion.tools.checks import (
    check_array, check_attributes, check_bool, check_callable, check_choice, check_columns,
    check_inputs, check_int, check_list, check_mapping, check_model, check_names, check_range, check_real,
    check_shape, check_string)


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3)])
def test_check_int_accepts_python_and_numpy_integers(value):
    assert check_int("n", value, minimum=1) == 3 and type(check_int("n", value)) is int


@pytest.mark.parametrize("value", [0, -1, 2.0, "3", True, np.bool_(True), None, 11])
def test_check_int_refuses_with_the_name_and_value(value):
    with pytest.raises(ValueError, match=r"^n must be an integer in \[1, 10\], got"):
        check_int("n", value, minimum=1, maximum=10)


@pytest.mark.parametrize("closed, ok, bad", [
    ("both", [0.0, 1.0], [-0.1, 1.1]),
    ("left", [0.0, 0.5], [1.0]),
    ("right", [1.0, 0.5], [0.0]),
    ("neither", [0.5], [0.0, 1.0]),
])
def test_check_real_honours_closedness(closed, ok, bad):
    for value in ok:
        assert check_real("r", value, low=0, high=1, closed=closed) == value
    for value in bad:
        with pytest.raises(ValueError, match="r must be a finite number in"):
            check_real("r", value, low=0, high=1, closed=closed)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1", True, None])
def test_check_real_refuses_non_numbers_and_non_finite(value):
    with pytest.raises(ValueError, match="got"):
        check_real("r", value)


def test_check_real_accepts_numpy_floats_and_infinity_when_asked():
    assert check_real("r", np.float32(0.5)) == 0.5
    assert check_real("r", math.inf, low=0, finite=False) == math.inf
    with pytest.raises(ValueError, match="unknown closed"):
        check_real("r", 1.0, closed="open")


def test_check_choice_lists_the_choices():
    assert check_choice("mode", None, ("max", None)) is None
    with pytest.raises(ValueError, match=r"unknown mode 'mean'; valid choices: \['max', 'min'\]"):
        check_choice("mode", "mean", ("max", "min"))
    with pytest.raises(ValueError, match="unknown mode"):
        check_choice("mode", ["max"], ("max", "min"))


def test_check_array_shapes_and_finiteness():
    assert check_array("x", [[1, 2]], ndim=2).dtype == np.float64
    with pytest.raises(ValueError, match="x must have 1 dimension"):
        check_array("x", [[1.0]], ndim=1)
    with pytest.raises(ValueError, match="at least 1 value"):
        check_array("x", [])
    with pytest.raises(ValueError, match="NaN or inf"):
        check_array("x", [1.0, np.nan])
    with pytest.raises(TypeError, match="string"):
        check_array("x", "abc")
    with pytest.raises(TypeError, match="array of numbers"):
        check_array("x", [object()])


def test_check_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert check_model("model", model) is model
    with pytest.raises(TypeError, match="model must be a Keras model, got list"):
        check_model("model", [model])


# --- the checks added for issue 16 ------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: check_bool("validate", "no"), ValueError, "validate must be True or False, got 'no'"),
    (lambda: check_bool("validate", 1), ValueError, "validate must be True or False, got 1"),
    (lambda: check_callable("fn", None), TypeError, "fn must be callable, got NoneType None"),
    (lambda: check_mapping("models", []), TypeError,
     "models must be a mapping (a dict) from names to values, got list"),
    (lambda: check_mapping("models", {}), ValueError, "models is empty"),
    (lambda: check_names("metrics", "accuracy"), TypeError,
     "metrics must be a list of names, got the string 'accuracy'; write ['accuracy']"),
    (lambda: check_names("metrics", ["a", 3]), TypeError, "metrics must hold strings, got 3 (int)"),
    (lambda: check_names("configs", ["x"], choices=["a", "b"]), ValueError,
     "unknown configs ['x']; valid choices: ['a', 'b']"),
    (lambda: check_shape("shape", (2, 0)), ValueError,
     "shape must be a tuple of integers >= 1, got (2, 0)"),
    (lambda: check_shape("shape", "ab"), ValueError,
     "shape must be a tuple of integers >= 1, got 'ab'"),
    (lambda: check_shape("shape", (2.5,)), ValueError,
     "shape must be a tuple of integers >= 1, got (2.5,)"),
    (lambda: check_range("band", (1.0, math.nan)), ValueError,
     "band must be (low, high) with low < high, finite numbers in (-inf, inf); got (1.0, nan)"),
    (lambda: check_range("band", 5), ValueError, "band must be (low, high)"),
    (lambda: check_attributes("data", None, ["x_train"]), TypeError,
     "data must have x_train; got NoneType, which lacks ['x_train']"),
    (lambda: check_columns("table", {"a": 1}, ["a"]), TypeError,
     "table must be a DataFrame with columns ['a'], got dict"),
    (lambda: check_string("monitor", ""), TypeError, "monitor must be a non-empty string, got str ''"),
    (lambda: check_model("model", keras.Sequential(), built=True), ValueError, "is not built"),
    (lambda: check_int("n", 1, minimum="0"), TypeError, "minimum must be an integer or None, got '0'"),
    (lambda: check_real("r", 1.0, low=math.nan), TypeError, "low must be a number or None, got nan"),
    (lambda: check_choice("mode", "a", 5), TypeError, "choices must be a list of the valid values"),
    (lambda: check_int(3, 1), TypeError, "name must be the checked argument's name"),
])
def test_the_checks_name_the_argument_and_the_value(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_the_checks_accept_numpy_scalars_and_return_python_values():
    assert check_bool("b", np.bool_(True)) is True
    assert check_shape("shape", (np.int64(2), np.int32(3))) == (2, 3)
    assert check_range("band", (np.float32(0.5), np.int64(2))) == (0.5, 2.0)
    import pandas as pd
    frame = pd.DataFrame({"a": [1]})
    assert check_columns("table", frame, ["a"]) is frame
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = check_inputs("x", np.ones((2, 3), dtype=np.float64), model)
    assert x.dtype == np.float32 and x.shape == (2, 3)
    with pytest.raises(ValueError, match=re.escape("x holds examples of shape (4,), but the model expects (3,)")):
        check_inputs("x", np.ones((2, 4)), model)


@pytest.mark.parametrize("value, message", [
    ("relu", "activations must be a list of names, got the string 'relu'; write \\['relu'\\]"),
    (len, "activations must be a list of names, got one builtin_function_or_method"),
    (3, "activations must be a list of names, got int 3"),
])
def test_check_list_refuses_single_items(value, message):
    with pytest.raises(TypeError, match=message):
        check_list("activations", value, what="names", single=(type(len),))


def test_check_list_accepts_any_iterable():
    assert check_list("names", ("a", "b"), what="names") == ["a", "b"]
    assert check_list("names", (n for n in "ab"), what="names") == ["a", "b"]
    assert check_list("names", [], what="names") == []
