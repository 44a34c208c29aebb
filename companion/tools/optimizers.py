"""Keras optimizers by name, with errors that list the valid names."""

import numpy as np  # noqa: F401  (doctest namespace)

from companion._quiet import keras
from companion.tools.checks import check_real


def make_optimizer(optimizer="sgd", learning_rate=None):
    """Return a Keras optimizer from a name (with an optional learning rate) or an instance.

    Args:
        optimizer: a name such as ``"adam"`` (see :func:`optimizer_names`) or a
            ``keras.optimizers.Optimizer``.
        learning_rate: with a name, a positive number or a ``LearningRateSchedule``;
            ``None`` keeps Keras's default.

    Example:
        >>> make_optimizer("adam", np.float32(0.01)).get_config()["learning_rate"]
        0.009999999776482582
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError("pass learning_rate only with an optimizer name; "
                             f"{type(optimizer).__name__} already has its own")
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name such as 'adam' or a "
                        f"keras.optimizers.Optimizer, got {type(optimizer).__name__} "
                        f"{optimizer!r}")
    if learning_rate is not None and not isinstance(
            learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = check_real("learning_rate", learning_rate, low=0, closed="neither")
    config = {} if learning_rate is None else {"learning_rate": learning_rate}
    try:
        return keras.optimizers.get({"class_name": optimizer, "config": config})
    except (ValueError, TypeError, KeyError):
        raise ValueError(f"unknown optimizer {optimizer!r}; valid choices: "
                         f"{optimizer_names()}") from None


def optimizer_names():
    """The optimizer names :func:`make_optimizer` accepts, e.g. ``'adam'``, ``'sgd'``."""
    names = []
    for name in dir(keras.optimizers):
        try:
            keras.optimizers.get(name.lower())
        except (ValueError, TypeError, KeyError):
            continue
        if name[:1].isupper():
            names.append(name.lower())
    return sorted(names)
