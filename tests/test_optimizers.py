"""companion.tools.optimizers: Keras optimizers by name."""

import ast
import re

import numpy as np
import pytest

from companion._quiet import keras
from companion.tools.optimizers import make_optimizer, optimizer_names


@pytest.mark.parametrize("name, cls", [
    ("sgd", keras.optimizers.SGD), ("adam", keras.optimizers.Adam),
    ("rmsprop", keras.optimizers.RMSprop), ("SGD", keras.optimizers.SGD),
])
def test_make_optimizer_by_name_sets_learning_rate(name, cls):
    optimizer = make_optimizer(name, learning_rate=0.25)
    assert isinstance(optimizer, cls)
    assert float(optimizer.learning_rate) == pytest.approx(0.25)


def test_make_optimizer_default_learning_rate():
    assert float(make_optimizer("sgd").learning_rate) == pytest.approx(
        float(keras.optimizers.SGD().learning_rate))


def test_make_optimizer_instance_passes_through():
    optimizer = keras.optimizers.Adam(learning_rate=0.5)
    assert make_optimizer(optimizer) is optimizer


def test_make_optimizer_instance_with_learning_rate_raises():
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer(keras.optimizers.SGD(), learning_rate=0.1)


def test_unknown_optimizer_lists_choices():
    choices = _advertised_choices()
    assert {"sgd", "adam", "rmsprop"} <= set(choices)


def test_every_advertised_optimizer_can_be_built():
    failures = {}
    for choice in _advertised_choices():
        try:
            make_optimizer(choice)
        except Exception as err:  # noqa: BLE001 - report any failure
            failures[choice] = type(err).__name__
    assert failures == {}


def _advertised_choices():
    with pytest.raises(ValueError) as info:
        make_optimizer("nosuchopt")
    message = str(info.value)
    assert "'nosuchopt'" in message
    return ast.literal_eval(message.split("valid choices:", 1)[1].strip())


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("kwargs, error, message", [
    ({"optimizer": 3}, TypeError, "optimizer must be a name such as 'adam'"),
    ({"optimizer": "adam", "learning_rate": float("nan")}, ValueError,
     "learning_rate must be a finite number in (0, inf), got nan"),
    ({"optimizer": "adam", "learning_rate": 0.0}, ValueError,
     "learning_rate must be a finite number in (0, inf), got 0.0"),
    ({"optimizer": "adam", "learning_rate": "0.1"}, ValueError,
     "learning_rate must be a finite number in (0, inf), got '0.1'"),
])
def test_bad_inputs_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make_optimizer(**kwargs)


def test_a_numpy_learning_rate_is_accepted():
    optimizer = make_optimizer("sgd", np.float32(0.25))
    assert float(optimizer.learning_rate) == pytest.approx(0.25)
