"""Sweeps over configurations on Fashion-MNIST: the optimizer bake-off."""

import numpy as np
import pandas as pd

from companion.lab.seeding import reseed
from companion.lab.models import build_mlp
from companion.lab.training import compile_model, train
from companion.tools.checks import (
    check_attributes, check_callable, check_int, check_mapping, check_real)
from companion.tools.layers import reinitialize
from companion.tools.optim import _check_fresh


def _same_optimizer(kept, given):
    """Whether two optimizers have one class and one configuration (names aside)."""
    def config(optimizer):
        return {k: v for k, v in optimizer.get_config().items() if k != "name"}
    return type(kept) is type(given) and config(kept) == config(given)


def bake_off(optimizers, data, *, epochs, target, build=None, seed=None, batch_size=32,
             reuse=None):
    """Train the same model with each optimizer and tabulate speed and accuracy.

    Every run starts from the same seed (hence the same initial weights and
    batch order) and lasts ``epochs`` epochs.

    **Several seeds.** A bake-off repeated over seeds builds, compiles and traces
    one model per optimizer and seed. Pass the same dict as ``reuse`` to every
    call and it keeps one compiled model per optimizer name and ``build``: a later
    call with the same ``build`` whose optimizer of that name has the same class
    and configuration re-draws the kept model for its seed
    (:func:`companion.reinitialize`: fresh weights, the optimizer back at its first
    step) instead of building one, and its first epoch pays no tracing. The kept
    model trains again in place, so the results of an earlier call share it (their
    histories stay). Every run of a call with ``reuse`` starts from
    :func:`~companion.reinitialize`'s draw for the seed, so within a seed all
    optimizers still share their initial weights and batch order.

    Args:
        optimizers: a mapping from a name to a fresh Keras optimizer instance.
        data: as for :func:`companion.train`.
        epochs: epochs per run.
        target: the validation accuracy whose first crossing is timed.
        build: a function of no argument returning a fresh model
            (default: :func:`companion.build_mlp`).
        seed: re-applied before each run; by default the seed of
            :func:`companion.setup`.
        batch_size: examples per step.
        reuse: ``None``, or a dict in which to keep the compiled models, as above.

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
    if reuse is not None:
        check_mapping("reuse", reuse, what="(optimizer name, build) to the models bake_off kept",
                      min_size=0)
    seed = reseed(seed)  # checked before the first run
    rows, results = {}, {}
    for name, optimizer in optimizers.items():
        reseed(seed)
        if reuse is None:
            result = train(build(), data, epochs=epochs, optimizer=optimizer,
                           batch_size=batch_size, evaluate=False)
        else:
            kept = reuse.get((name, build))
            if kept is None or not _same_optimizer(kept.optimizer, optimizer):
                kept = reuse[name, build] = compile_model(build(), optimizer=optimizer)
            result = train(reinitialize(kept, seed=seed), data, epochs=epochs,
                           batch_size=batch_size, evaluate=False, compile=False)
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
