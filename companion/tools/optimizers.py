"""Keras optimizers by name, with errors that list the valid names."""

from companion._quiet import keras


def make_optimizer(optimizer="sgd", learning_rate=None):
    """Return a Keras optimizer from a name (with an optional learning rate) or an instance."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError("pass learning_rate only with an optimizer name; "
                             f"{type(optimizer).__name__} already has its own")
        return optimizer
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
