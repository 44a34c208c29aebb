"""Sweeps over configurations on Fashion-MNIST: the optimizer bake-off."""

import numpy as np
import pandas as pd

from companion.lab.seeding import reseed
from companion.lab.models import build_mlp
from companion.lab.training import train
from companion.tools.checks import (
    check_attributes, check_callable, check_int, check_mapping, check_real)
from companion.tools.optim import _check_fresh


def bake_off(optimizers, data, *, epochs, target, build=None, seed=None, batch_size=32):
    """Train the same model with each optimizer and tabulate speed and accuracy.

    Every run starts from the same seed (hence the same initial weights and
    batch order) and lasts ``epochs`` epochs.

    Args:
        optimizers: a mapping from a name to a fresh Keras optimizer instance.
        data: as for :func:`companion.train`.
        epochs: epochs per run.
        target: the validation accuracy whose first crossing is timed.
        build: a function of no argument returning a fresh model
            (default: :func:`companion.build_mlp`).
        seed: re-applied before each run; by default the seed of
            :func:`companion.setup`.

    Returns:
        ``(table, results)``: a DataFrame with one row per optimizer (learning
        rate, final training loss and validation accuracy, best validation
        accuracy, epochs and seconds to ``target`` (NaN if never reached),
        median seconds per epoch) and a dict of
        :class:`companion.lab.training.TrainingResult`.

    Example:
        >>> table, results = bake_off({"adam": keras.optimizers.Adam()},  # doctest: +SKIP
        ...                           data, epochs=3, target=0.8)
    """
    check_mapping("optimizers", optimizers, what="names to fresh Keras optimizers")
    target = check_real("target", target, low=0, high=1, closed="right")
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    check_attributes("data", data, ("x_train", "y_train", "x_valid", "y_valid"),
                     what="a data set such as load_fashion_mnist returns")
    for name, optimizer in optimizers.items():
        try:
            _check_fresh(optimizer)
        except ValueError as error:
            raise ValueError(f"optimizers[{name!r}]: {error}") from None
    build = build_mlp if build is None else check_callable("build", build)
    seed = reseed(seed)  # checked before the first run
    rows, results = {}, {}
    for name, optimizer in optimizers.items():
        reseed(seed)
        result = train(build(), data, epochs=epochs, optimizer=optimizer,
                       batch_size=batch_size, evaluate=False)
        reached = result.time_to_target(target)
        history = result.history
        rows[name] = {
            "learning_rate": float(optimizer.learning_rate),
            "final_loss": float(history["loss"].iloc[-1]),
            "final_val_accuracy": float(history["val_accuracy"].iloc[-1]),
            "best_val_accuracy": float(history["val_accuracy"].max()),
            "epochs_to_target": (np.nan if reached["epochs"] is None
                                 else float(reached["epochs"])),
            "seconds_to_target": (np.nan if reached["seconds"] is None
                                  else reached["seconds"]),
            "seconds_per_epoch": result.seconds_per_epoch,
        }
        results[name] = result
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "optimizer"
    return table, results
