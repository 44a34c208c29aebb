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
from collections.abc import Iterable, Mapping

import numpy as np

from companion._quiet import keras

CLOSED = ("both", "left", "right", "neither")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _check_name(name):
    # The checks' own arguments come from the package's code: a mistake there is a bug.
    if not isinstance(name, str):
        raise TypeError(f"name must be the checked argument's name, a string; got {name!r}")


def _check_bound(label, value):
    if value is not None and (not _is_real(value) or math.isnan(value)):
        raise TypeError(f"{label} must be a number or None, got {value!r}")


def _interval(low, high, closed):
    # an infinite end is never part of the interval of finite numbers: "[0, inf)"
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    return f"{left}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{right}"


def check_int(name, value, *, minimum=None, maximum=None):
    """``value`` as a Python int, or a ValueError naming ``name`` and the valid range.

    Example:
        >>> check_int("seeds", np.int64(3), minimum=1)
        3
    """
    _check_name(name)
    for label, bound in (("minimum", minimum), ("maximum", maximum)):
        if bound is not None and not _is_int(bound):
            raise TypeError(f"{label} must be an integer or None, got {bound!r}")
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
    _check_name(name)
    if closed not in CLOSED:
        raise ValueError(f"unknown closed {closed!r}; valid choices: {list(CLOSED)}")
    _check_bound("low", low)
    _check_bound("high", high)
    valid = f"a {'finite ' if finite else ''}number in {_interval(low, high, closed)}"
    if not _is_real(value) or math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    number = float(value)
    below = low is not None and (number < low or (number == low and closed in ("right", "neither")))
    above = high is not None and (number > high or (number == high and closed in ("left", "neither")))
    if below or above:
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    return number


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices``, else a ValueError listing them.

    Example:
        >>> check_choice("placement", "after", ("before", "after", None))
        'after'
    """
    _check_name(name)
    if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
        raise TypeError(f"choices must be a list of the valid values, got {choices!r}")
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
    _check_name(name)
    if ndim is not None and not _is_int(ndim) or ndim is not None and ndim < 0:
        raise TypeError(f"ndim must be an integer >= 0 or None, got {ndim!r}")
    if not _is_int(min_size) or min_size < 0:
        raise TypeError(f"min_size must be an integer >= 0, got {min_size!r}")
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


def check_model(name, value, *, built=False):
    """``value`` if it is a Keras model (built, with ``built=True``), else a TypeError.

    Example:
        >>> check_model("model", "mlp")
        Traceback (most recent call last):
        ...
        TypeError: model must be a Keras model, got str
    """
    _check_name(name)
    if not isinstance(value, keras.Model):
        raise TypeError(f"{name} must be a Keras model, got {type(value).__name__}")
    if built and not value.built:
        raise ValueError(f"{name} {value.name!r} is not built: give it a keras.Input or call "
                         "it on data first")
    return value


def check_bool(name, value):
    """``value`` as a Python bool; a ValueError for anything but ``True``/``False``.

    A string such as ``"no"`` is true for ``if``; refusing it avoids the surprise.

    Example:
        >>> check_bool("validate", np.bool_(False))
        False
        >>> check_bool("validate", "no")
        Traceback (most recent call last):
        ...
        ValueError: validate must be True or False, got 'no'
    """
    _check_name(name)
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_callable(name, value):
    """``value`` if it can be called, else a TypeError naming what it is.

    Example:
        >>> check_callable("fn", 3)
        Traceback (most recent call last):
        ...
        TypeError: fn must be callable, got int 3
    """
    _check_name(name)
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__} {value!r}")
    return value


def check_mapping(name, value, *, what="names to values", min_size=1):
    """``value`` if it is a mapping (a dict) of at least ``min_size`` entries.

    Example:
        >>> check_mapping("models", {"a": 1})
        {'a': 1}
        >>> check_mapping("models", ["a"], what="names to models")
        Traceback (most recent call last):
        ...
        TypeError: models must be a mapping (a dict) from names to models, got list
    """
    _check_name(name)
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping (a dict) from {what}, got "
                        f"{type(value).__name__}")
    if len(value) < min_size:
        raise ValueError(f"{name} is empty: give at least {min_size} entry ({what})")
    return value


def check_list(name, value, *, what, single=()):
    """``value`` as a list; a single item (a string, or an instance of ``single``) is refused.

    A string is iterable, and ``list("relu")`` would silently become four
    one-letter names; a single Keras callback or function is a common slip for a
    list holding one. Both get an error that shows the list to write instead.

    Args:
        what: what the list holds, for the message ("names", "layer names").
        single: further types that are one item rather than a list of them.

    Example:
        >>> check_list("layers", ("dense", "output"), what="layer names")
        ['dense', 'output']
        >>> check_list("layers", "dense", what="layer names")
        Traceback (most recent call last):
        ...
        TypeError: layers must be a list of layer names, got the string 'dense'; write ['dense']
    """
    _check_name(name)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a list of {what}, got the string {value!r}; "
                        f"write [{value!r}]")
    if isinstance(value, tuple(single)):
        raise TypeError(f"{name} must be a list of {what}, got one {type(value).__name__} "
                        f"{value!r}; write [{value!r}]")
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of {what}, got {type(value).__name__} {value!r}")
    return list(value)


def check_names(name, value, *, choices=None, min_size=1):
    """``value`` as a list of strings; a single string is refused, not split into letters.

    Args:
        choices: when given, every name must be one of them.
        min_size: the fewest names allowed.

    Example:
        >>> check_names("metrics", ("accuracy",))
        ['accuracy']
        >>> check_names("metrics", "accuracy")
        Traceback (most recent call last):
        ...
        TypeError: metrics must be a list of names, got the string 'accuracy'; write ['accuracy']
    """
    names = check_list(name, value, what="names")
    if len(names) < min_size:
        raise ValueError(f"{name} must hold at least {min_size} name(s), got {names!r}")
    wrong = [n for n in names if not isinstance(n, str)]
    if wrong:
        raise TypeError(f"{name} must hold strings, got {wrong[0]!r} "
                        f"({type(wrong[0]).__name__})")
    if choices is not None:
        unknown = [n for n in names if n not in choices]
        if unknown:
            raise ValueError(f"unknown {name} {unknown}; valid choices: {list(choices)}")
    return names


def check_shape(name, value, *, min_ndim=1):
    """``value`` as a tuple of integers >= 1 (NumPy integers accepted), at least ``min_ndim`` long.

    Example:
        >>> check_shape("shape", (np.int64(4), 3))
        (4, 3)
        >>> check_shape("shape", (0, 3))
        Traceback (most recent call last):
        ...
        ValueError: shape must be a tuple of integers >= 1, got (0, 3)
    """
    _check_name(name)
    valid = f"a tuple of integers >= 1" + (f" of length >= {min_ndim}" if min_ndim > 1 else "")
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    dims = tuple(value)
    if len(dims) < min_ndim or not all(_is_int(d) and d >= 1 for d in dims):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    return tuple(int(d) for d in dims)


def check_range(name, value, *, low=None, high=None, finite=True):
    """``value`` as a pair of floats ``(a, b)`` with ``a < b``, both inside ``[low, high]``.

    Example:
        >>> check_range("band", (0.5, 2))
        (0.5, 2.0)
        >>> check_range("band", (2, 0.5), low=0)
        Traceback (most recent call last):
        ...
        ValueError: band must be (low, high) with low < high, finite numbers in [0, inf); got (2, 0.5)
    """
    _check_name(name)
    valid = (f"(low, high) with low < high, {'finite ' if finite else ''}numbers in "
             f"{_interval(low, high, 'both')}")
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {valid}; got {value!r}") from None
    ok = (_is_real(a) and _is_real(b) and not (math.isnan(a) or math.isnan(b))
          and (not finite or (math.isfinite(a) and math.isfinite(b))) and a < b
          and (low is None or a >= low) and (high is None or b <= high))
    if not ok or isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be {valid}; got {value!r}")
    return float(a), float(b)


def check_attributes(name, value, attributes, *, what=None):
    """``value`` if it has every one of ``attributes``, else a TypeError listing the missing.

    Example:
        >>> check_attributes("data", "x", ["x_train", "y_train"], what="a data set")
        Traceback (most recent call last):
        ...
        TypeError: data must have x_train, y_train (a data set); got str, which lacks ['x_train', 'y_train']
    """
    _check_name(name)
    missing = [a for a in attributes if not hasattr(value, a)]
    if missing:
        raise TypeError(f"{name} must have {', '.join(attributes)}"
                        f"{f' ({what})' if what else ''}; got {type(value).__name__}, "
                        f"which lacks {missing}")
    return value


def check_columns(name, value, columns, *, what=None):
    """``value`` if it is a table (a pandas DataFrame) with ``columns``.

    Example:
        >>> check_columns("table", {"mean": [0.0]}, ["mean", "std"])
        Traceback (most recent call last):
        ...
        TypeError: table must be a DataFrame with columns ['mean', 'std'], got dict
    """
    _check_name(name)
    if not hasattr(value, "columns") or not hasattr(value, "iloc"):
        raise TypeError(f"{name} must be a DataFrame with columns {list(columns)}"
                        f"{' (' + what + ')' if what else ''}, got {type(value).__name__}")
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}"
                         f"{'; pass ' + what if what else ''}; it has {list(value.columns)}")
    return value


def check_string(name, value, *, allow_none=False):
    """``value`` if it is a non-empty string (or ``None``, with ``allow_none``).

    Example:
        >>> check_string("monitor", "val_loss")
        'val_loss'
        >>> check_string("name", 3, allow_none=True)
        Traceback (most recent call last):
        ...
        TypeError: name must be a non-empty string or None, got int 3
    """
    _check_name(name)
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty string{' or None' if allow_none else ''}, "
                        f"got {type(value).__name__} {value!r}")
    return value


def check_inputs(name, value, model, *, min_size=1):
    """``value`` as a float32 batch for ``model``: finite, ``min_size`` examples or more,
    each of the shape the model's input expects.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> check_inputs("x", np.ones((4, 3)), model).dtype
        dtype('float32')
        >>> check_inputs("x", np.ones((4, 5)), model)
        Traceback (most recent call last):
        ...
        ValueError: x holds examples of shape (5,), but the model expects (3,)
    """
    x = check_array(name, value, min_size=0, dtype=np.float32)
    if x.ndim < 1 or len(x) < min_size:
        raise ValueError(f"{name} must hold at least {min_size} example(s), got shape {x.shape}")
    expected = getattr(model, "input_shape", None)
    if isinstance(expected, tuple) and all(isinstance(d, (int, type(None))) for d in expected):
        wanted = expected[1:]
        if len(wanted) != x.ndim - 1 or any(w is not None and w != d
                                            for w, d in zip(wanted, x.shape[1:])):
            raise ValueError(f"{name} holds examples of shape {x.shape[1:]}, but the model "
                             f"expects {tuple(wanted)}")
    return x
