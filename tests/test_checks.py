"""companion.tools.checks: declared validation with value-naming messages."""

import math

import numpy as np
import pytest

from companion._quiet import keras
from companion.tools.checks import (check_array, check_choice, check_int, check_model,
                                    check_real)


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
