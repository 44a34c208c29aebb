"""Declared validation of public arguments: one function per kind of value.

Every public function of the package checks its arguments with these, so that a bad
value always gets the same kind of message: the argument's name, the value, and what
is valid. NumPy integer and float scalars are accepted wherever Python ones are;
``bool`` is never taken for a number.

Example:
    >>> check_int("epochs", 3, minimum=1)
    3
    >>> check_real("rate", 0.5, low=0, high=1, closed="left")
    0.5
    >>> check_choice("mode", "max", ("max", "min"))
    'max'
    >>> check_int("epochs", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: epochs must be an integer >= 1, got 0
"""

import math
import numbers

import numpy as np

from companion._quiet import keras

CLOSED = ("both", "left", "right", "neither")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _interval(low, high, closed):
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    return f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"


def check_int(name, value, *, minimum=None, maximum=None):
    """``value`` as a Python int, or a ValueError naming ``name`` and the valid range.

    Example:
        >>> check_int("seeds", np.int64(3), minimum=1)
        3
    """
    if minimum is not None and maximum is not None:
        valid = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        valid = f"an integer >= {minimum}"
    elif maximum is not None:
        valid = f"an integer <= {maximum}"
    else:
        valid = "an integer"
    if not _is_int(value) or (minimum is not None and value < minimum) \
            or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    return int(value)


def check_real(name, value, *, low=None, high=None, closed="both", finite=True):
    """``value`` as a Python float inside an interval, or a ValueError saying which.

    Args:
        name: the argument's name, for the message.
        value: the value to check.
        low, high: the interval's ends (``None`` for unbounded).
        closed: which ends belong to the interval: ``"both"``, ``"left"``,
            ``"right"`` or ``"neither"``.
        finite: reject infinities (NaN is always rejected).

    Example:
        >>> check_real("momentum", 0.9, low=0, high=1, closed="left")
        0.9
        >>> check_real("learning_rate", float("nan"), low=0, closed="neither")
        Traceback (most recent call last):
        ...
        ValueError: learning_rate must be a finite number in (0, inf), got nan
    """
    if closed not in CLOSED:
        raise ValueError(f"unknown closed {closed!r}; valid choices: {list(CLOSED)}")
    valid = f"a {'finite ' if finite else ''}number in {_interval(low, high, closed)}"
    if not _is_real(value) or math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    value = float(value)
    below = low is not None and (value < low or (value == low and closed in ("right", "neither")))
    above = high is not None and (value > high or (value == high and closed in ("left", "neither")))
    if below or above:
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    return value


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices``, else a ValueError listing them.

    Example:
        >>> check_choice("placement", "after", ("before", "after", None))
        'after'
    """
    choices = list(choices)
    try:
        valid = value in choices
    except TypeError:  # an unhashable or uncomparable value
        valid = False
    if not valid:
        raise ValueError(f"unknown {name} {value!r}; valid choices: {choices}")
    return value


def check_array(name, value, *, ndim=None, min_size=1, finite=True, dtype=np.float64):
    """``value`` as a NumPy array of ``dtype`` with the given rank, size and finiteness.

    Example:
        >>> check_array("scales", [1.0, 2.0], ndim=1).shape
        (2,)
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got the string {value!r}")
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got "
                        f"{type(value).__name__}") from None
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if array.size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} value(s), got shape "
                         f"{array.shape}")
    if finite and np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers only; it has NaN or inf")
    return array


def check_model(name, value):
    """``value`` if it is a Keras model, else a TypeError naming what it is.

    Example:
        >>> check_model("model", "mlp")
        Traceback (most recent call last):
        ...
        TypeError: model must be a Keras model, got str
    """
    if not isinstance(value, keras.Model):
        raise TypeError(f"{name} must be a Keras model, got {type(value).__name__}")
    return value
