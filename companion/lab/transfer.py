"""Reusing pretrained layers: clone a model, swap its head, freeze and unfreeze layers.

The pitfall this module exists for: ``keras.Sequential(model_a.layers[:-1] + [head])``
builds a new model around the *same* layer objects, so training it changes
``model_a`` too. :func:`clone_with_weights` copies the architecture and the
weights into new layers, and :func:`replace_head` works on such a copy unless told
otherwise.
"""

import numbers

import numpy as np
import pandas as pd

from companion._quiet import keras
from companion.lab.training import (
    _check_data, compile_model, STEPS_PER_EXECUTION, train, TrainingResult)
from companion.tools.checks import (
    check_array, check_attributes, check_bool, check_int, check_list, check_model, check_real,
    check_string)
from companion.tools.diagnostics import resolve_loss
from companion.tools.layers import _optimizer_restart, reinitialize
from companion.tools.optimizers import make_optimizer


def _check_model(model):
    check_model("model", model, built=True)


def clone_with_weights(model, *, name=None):
    """Return an independent copy of ``model``: same architecture, same weights, new variables.

    ``keras.models.clone_model`` copies the architecture with freshly initialised
    weights; the weights are then copied with ``set_weights``. Nothing is
    shared, so training the copy leaves ``model`` unchanged. The copy is not
    compiled.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> model = build_mlp(depth=1, width=4)
        >>> copy = clone_with_weights(model)
        >>> copy.layers[1] is model.layers[1]
        False
        >>> all(np.array_equal(a, b) for a, b in zip(copy.get_weights(), model.get_weights()))
        True
    """
    _check_model(model)
    check_string("name", name, allow_none=True)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.trainable = model.trainable
    for original, cloned in zip(model.layers, copy.layers):
        cloned.trainable = original.trainable
    if name is not None:
        copy.name = name
    return copy


def _as_layers(head):
    if head is None:
        return []
    layers = list(head) if isinstance(head, (list, tuple)) else [head]
    wrong = [type(layer).__name__ for layer in layers
             if not isinstance(layer, keras.layers.Layer)]
    if wrong:
        raise TypeError(f"head must be a keras Layer, a list of them or None; got {wrong}")
    return layers


def replace_head(model, head=None, *, drop=1, clone=True, name=None):
    """Build a model from the lower layers of ``model`` with a new head on top.

    Args:
        model: a built model whose ``layers`` run in sequence (a ``Sequential``,
            such as :func:`companion.build_mlp` returns, or the encoder of
            :func:`companion.build_autoencoder`).
        head: a new Keras layer, a list of layers, or ``None`` to only drop.
        drop: how many top layers of ``model`` to leave out, >= 0 (1: the
            output layer).
        clone: reuse copies of the layers (:func:`clone_with_weights`), so
            that training the new model leaves ``model`` alone. With
            ``clone=False`` the new model *shares* the layers, and training
            it changes ``model``: the pitfall, shown in chapter 5.
        name: the new model's name.

    Returns:
        An uncompiled ``Sequential`` model with the same input shape.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> model_a = build_mlp(depth=2, width=8, n_classes=8)
        >>> model_b = replace_head(model_a, keras.layers.Dense(1, activation="sigmoid",
        ...                                                    name="head"))
        >>> [layer.name for layer in model_b.layers][-2:], model_b.output_shape
        (['hidden_2', 'head'], (None, 1))
    """
    _check_model(model)
    drop = check_int("drop", drop, minimum=0, maximum=len(model.layers) - 1)
    clone = check_bool("clone", clone)
    check_string("name", name, allow_none=True)
    head = _as_layers(head)
    source = clone_with_weights(model) if clone else model
    kept = source.layers[:len(source.layers) - drop]
    return keras.Sequential([keras.Input(shape=model.input_shape[1:]), *kept, *head],
                            name=name or f"{model.name}_reused")


def _select(model, layers, argument="layers"):
    """The layers named, or the bottom ``layers`` ones, or all."""
    if layers is None:
        return list(model.layers)
    if isinstance(layers, (numbers.Integral, bool, np.bool_)):
        count = check_int(argument, layers, minimum=0, maximum=len(model.layers))
        return list(model.layers[:count])
    requested = check_list(argument, layers, what="layer names (or None, or an integer)")
    names = [layer.name for layer in model.layers]
    unknown = [n for n in requested if n not in names]
    if unknown:
        raise ValueError(f"unknown {argument} {unknown}; valid choices: {names}")
    return [model.get_layer(n) for n in requested]


def set_trainable(model, trainable, *, layers=None, learning_rate=None):
    """Freeze (``trainable=False``) or unfreeze layers, and recompile a compiled model.

    Keras reads ``trainable`` when it builds the training step, which
    ``compile`` resets; a change made after compiling is ignored until the
    model is compiled again. So when ``model`` is compiled, it is recompiled
    from its own compile configuration (same loss, metrics and kind of
    optimizer, with fresh optimizer state), optionally with a new learning rate:
    fine-tuning after unfreezing usually wants a smaller one.

    Args:
        model: a built Keras model.
        trainable: ``True`` to unfreeze, ``False`` to freeze.
        layers: ``None`` (all layers), an integer ``n`` (the bottom ``n``
            layers) or a list of layer names.
        learning_rate: the new optimizer's learning rate on recompiling.

    Returns:
        ``model``, changed in place.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> model = build_mlp(depth=2, width=8)
        >>> len(set_trainable(model, False, layers=["hidden_1", "hidden_2"]).trainable_weights)
        2
    """
    _check_model(model)
    trainable = check_bool("trainable", trainable)
    selected = _select(model, layers)
    if learning_rate is not None:
        learning_rate = check_real("learning_rate", learning_rate, low=0, closed="neither")
    if learning_rate is not None and not getattr(model, "compiled", False):
        raise ValueError("learning_rate is for recompiling, but the model is not compiled")
    for layer in selected:
        layer.trainable = bool(trainable)
    if getattr(model, "compiled", False):
        config = model.get_compile_config()
        if learning_rate is not None:
            config["optimizer"]["config"]["learning_rate"] = float(learning_rate)
        model.compile_from_config(config)
    return model


def trainable_table(model):
    """One row per layer: whether it is trainable and how many parameters train or are frozen.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> trainable_table(build_mlp(depth=1, width=4))["trainable_params"].tolist()
        [0, 3140, 50]
    """
    _check_model(model)
    rows = []
    for layer in model.layers:
        trained = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        frozen = sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)
        rows.append({"layer": layer.name, "trainable": bool(layer.trainable),
                     "trainable_params": trained, "frozen_params": frozen})
    return pd.DataFrame(rows).set_index("layer")


def max_weight_change(before, model):
    """Largest absolute difference between ``before`` (a list of arrays) and ``model``'s weights.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> model = build_mlp(depth=1, width=4)
        >>> max_weight_change(model.get_weights(), model)
        0.0
    """
    check_model("model", model)
    after = model.get_weights()
    if not isinstance(before, (list, tuple)):
        raise TypeError(f"before must be a list of weight arrays (model.get_weights()), got "
                        f"{type(before).__name__}")
    if len(after) != len(before):
        raise ValueError(f"before holds {len(before)} arrays, the model {len(after)}")
    changes = []
    for i, (a, b) in enumerate(zip(after, before)):
        b = check_array(f"before[{i}]", b, min_size=0, finite=False)
        if b.shape != np.shape(a):
            raise ValueError(f"before[{i}] has shape {b.shape}, the model's weight {i} "
                             f"{np.shape(a)}")
        changes.append(float(np.abs(np.asarray(a) - b).max()) if b.size else 0.0)
    return max(changes, default=0.0)


def rotation_task(images, *, seed=0):
    """A self-supervised task from unlabelled images: which of four rotations was applied?

    Every image is rotated by ``k`` quarter turns, ``k`` drawn uniformly from
    0..3 with ``seed``, and labelled ``k``. A network that predicts ``k``
    must learn what upright clothes look like, without any human label.

    Args:
        images: an array of square images, shape ``(n, side, side)``.

    Returns:
        ``(rotated, k)``: the rotated images and their labels (``uint8``).

    Example:
        >>> rotated, k = rotation_task(np.arange(8.0).reshape(2, 2, 2), seed=0)
        >>> np.array_equal(rotated[0], np.rot90(np.arange(4.0).reshape(2, 2), k[0]))
        True
    """
    images = check_array("images", images, min_size=0, dtype=None)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must have shape (n, side, side), got {images.shape}")
    seed = check_int("seed", seed, minimum=0)
    k = np.random.default_rng(seed).integers(0, 4, size=len(images)).astype(np.uint8)
    rotated = np.empty_like(images)
    for quarter in range(4):
        chosen = k == quarter
        rotated[chosen] = np.rot90(images[chosen], quarter, axes=(1, 2))
    return rotated, k


def _check_optimizer_name(optimizer):
    if not isinstance(optimizer, str):
        raise TypeError("optimizer must be a name such as 'adam' (each phase gets a fresh "
                        f"one), got {type(optimizer).__name__}")
    return optimizer


class FineTuner:
    """Fine-tune one model run after run, each phase compiled and traced once.

    Fine-tuning runs in two phases (see :func:`fine_tune`): the new head first, with the
    reused bottom ``frozen_layers`` layers frozen, then every layer. Keras reads
    ``trainable`` when it traces a compiled model's training step, so each phase needs
    a compiled model of its own, and tracing it costs more than the training itself
    for a small network on a few hundred images. A tuner keeps both: ``model`` itself
    for the second phase, and a twin (a functional model over the *same* layers) with
    the frozen layers, each compiled and traced at its first use and then kept. A
    comparison over seeds makes one tuner per arm and calls :meth:`run` once per seed.

    Args:
        model: a built model whose ``layers`` run in sequence, e.g. from
            :func:`replace_head`; it is trained in place.
        frozen_layers: the layers frozen in the first phase, as for :func:`fine_tune`.
            Their weights as they are now are kept: every run with a ``seed``
            starts from them.
        optimizer: an optimizer *name* (each phase has its own).
        loss, metrics: as for ``Model.compile``.

    Example:
        >>> tuner = FineTuner(model_b, frozen_layers=5,  # doctest: +SKIP
        ...                   loss="binary_crossentropy")
        >>> [tuner.run(task_b, seed=s, epochs=12, frozen_epochs=3).test["accuracy"]
        ...  for s in (1, 2)]  # doctest: +SKIP
        [0.96, 0.955]
    """

    def __init__(self, model, *, frozen_layers=0, optimizer="adam",
                 loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
        _check_model(model)
        self.model = model
        self._frozen = _select(model, frozen_layers, "frozen_layers")
        self._reused = [variable.numpy() for layer in self._frozen
                        for variable in layer.weights]
        make_optimizer(_check_optimizer_name(optimizer))  # refuse a bad name now
        if not (isinstance(loss, str) or callable(loss)):
            raise TypeError(f"loss must be a Keras loss name or a callable, got "
                            f"{type(loss).__name__} {loss!r}")
        if isinstance(loss, str):
            resolve_loss(loss)
        metrics = check_list("metrics", metrics, what="metric names or objects")
        wrong = [metric for metric in metrics if not (isinstance(metric, str) or callable(metric))]
        if wrong:
            raise TypeError(f"metrics must be metric names or objects, got {wrong!r}")
        self._compile = dict(optimizer=optimizer, loss=loss, metrics=metrics)
        self._compiled = {}  # (frozen, steps per call): (model, its optimizer)

    def _set_frozen(self, frozen):
        """Freeze the reused layers (``True``), or leave every layer trainable (``False``)."""
        for layer in self.model.layers:
            layer.trainable = True
        for layer in self._frozen if frozen else ():
            layer.trainable = False

    def _twin(self):
        """A functional model over the model's own layers, for the frozen phase."""
        return keras.Model(self.model.inputs[0], self.model.outputs[0],
                           name=f"{self.model.name}_frozen")

    def _restore_reused(self):
        reused = iter(self._reused)
        for layer in self._frozen:
            for variable in layer.weights:
                variable.assign(next(reused))

    def _phase_model(self, frozen, steps_per_execution, learning_rate):
        """The model compiled for a phase, compiled now unless an earlier run did it."""
        key = (frozen, steps_per_execution)
        kept, optimizer = self._compiled.get(key, (None, None))
        self._set_frozen(frozen)  # before compiling: the optimizer is built on it
        if kept is None or kept.optimizer is not optimizer:  # not compiled, or since then
            kept = self._twin() if frozen else self.model
            compile_model(kept, learning_rate=learning_rate,
                          steps_per_execution=steps_per_execution, **self._compile)
            self._compiled[key] = (kept, kept.optimizer)
        return kept

    def run(self, data, *, epochs, frozen_epochs=0, seed=None, learning_rate=1e-3,
            fine_tune_learning_rate=None, batch_size=32, validate=False,
            steps_per_execution=None):
        """Fine-tune for ``epochs`` epochs, the first ``frozen_epochs`` of them frozen.

        With a ``seed``, the run starts as a fresh one would: every layer re-drawn for
        the seed by :func:`companion.reinitialize` (so every layer must be one it can
        re-draw), then the frozen layers put back at the weights they had when the
        tuner was made, and each phase's optimizer at its first step. Without one, it
        starts from the weights the model has now, with fresh optimizers. A frozen
        phase needs a model of one symbolic input and output (a ``Sequential`` or
        functional model), for the twin.

        Args:
            data, epochs, frozen_epochs, batch_size, validate: as for :func:`fine_tune`.
            learning_rate, fine_tune_learning_rate, steps_per_execution: as for
                :func:`fine_tune`.
            seed: ``None``, or an integer >= 0.

        Returns:
            A :class:`companion.TrainingResult`, as :func:`fine_tune` returns; its
            model is the tuner's, trained in place.
        """
        epochs = check_int("epochs", epochs, minimum=1)
        frozen_epochs = check_int("frozen_epochs", frozen_epochs, minimum=0, maximum=epochs)
        validate = check_bool("validate", validate)
        _check_data(data, validate=validate, evaluate=True)
        if frozen_epochs and not all(len(getattr(self.model, ends, None) or ()) == 1
                                     for ends in ("inputs", "outputs")):
            raise TypeError(f"a frozen phase needs a Sequential or functional model of one "
                            f"input and one output, for a twin over its layers; "
                            f"{self.model.name!r} ({type(self.model).__name__}) is not one")
        if seed is not None:
            seed = check_int("seed", seed, minimum=0)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        learning_rate = check_real("learning_rate", learning_rate, low=0, closed="neither")
        if fine_tune_learning_rate is not None:
            fine_tune_learning_rate = check_real(
                "fine_tune_learning_rate", fine_tune_learning_rate, low=0, closed="neither")
        if steps_per_execution is None:
            steps = -(-len(data.x_train) // batch_size)
            steps_per_execution = STEPS_PER_EXECUTION if steps >= STEPS_PER_EXECUTION else 1
        steps_per_execution = check_int("steps_per_execution", steps_per_execution,
                                        minimum=1)
        if fine_tune_learning_rate is None:
            fine_tune_learning_rate = (learning_rate if frozen_epochs == 0
                                       else learning_rate / 10)
        phases = [(frozen, phase_epochs, rate) for frozen, phase_epochs, rate in
                  [(True, frozen_epochs, learning_rate),
                   (False, epochs - frozen_epochs, fine_tune_learning_rate)]
                  if phase_epochs > 0]
        models, restarts = [], []
        try:
            for frozen, _, rate in phases:
                models.append(self._phase_model(frozen, steps_per_execution, rate))
                # checked now, with the phase's trainable flags, before weights change
                restarts.append(_optimizer_restart(models[-1], rate))
            if seed is not None:
                self._set_frozen(phases[0][0])
                try:
                    reinitialize(models[0], seed=seed)  # restarts that optimizer too
                finally:  # the reused weights come back even if a layer could not re-draw
                    self._restore_reused()
            for restart in restarts:
                restart()
            histories = []
            for model, (frozen, phase_epochs, _) in zip(models, phases):
                self._set_frozen(frozen)
                phase = train(model, data, epochs=phase_epochs, batch_size=batch_size,
                              validate=validate, evaluate=False, compile=False)
                histories.append(phase.history.assign(frozen=frozen))
        finally:
            self._set_frozen(False)  # every layer trainable, as in a fresh model
        history = pd.concat(histories, ignore_index=True)
        history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
        return TrainingResult(model=self.model, history=history,
                              test=evaluate_eagerly(models[-1], data.x_test, data.y_test))


def fine_tune(model, data, *, epochs, frozen_layers=0, frozen_epochs=0, optimizer="adam",
              learning_rate=1e-3, fine_tune_learning_rate=None,
              loss="sparse_categorical_crossentropy", metrics=("accuracy",), batch_size=32,
              validate=False, steps_per_execution=None):
    """Train a model whose lower layers were reused: first frozen, then all together.

    Phase 1 freezes the bottom ``frozen_layers`` layers and trains the rest
    (the new head) for ``frozen_epochs`` epochs, so that the large, random
    gradients of a new head cannot wreck the reused weights. Phase 2 unfreezes
    every layer and trains them all for the remaining epochs, with a fresh
    optimizer at ``fine_tune_learning_rate``, in a compilation of its own (Keras
    reads ``trainable`` when it traces a compiled model's training step; phase 1
    trains a twin over the same layers, compiled with the reused ones frozen).
    With ``frozen_epochs=0`` it is plain training, which is how a model trained
    from scratch is run for comparison. To fine-tune one architecture over and
    over (once per seed), use a :class:`FineTuner`, which compiles and traces
    each phase once.

    A batch size that divides the training set avoids a last, smaller batch,
    whose new shape makes TensorFlow trace the training step a second time: a
    second or so per phase, more than the training itself on 200 images. The
    test metrics come from :func:`evaluate_eagerly`, for the same reason.
    Tiny training sets make epochs of a few steps, so by default there is no
    per-epoch validation (``validate=False``), and ``steps_per_execution``
    (``None``: automatic) is :data:`companion.lab.training.STEPS_PER_EXECUTION`
    only when an epoch has at least that many steps, else 1.

    Args:
        model: e.g. from :func:`replace_head`, or a fresh model; with a phase 1, a
            ``Sequential`` or functional model of one input and one output.
        data: an object with ``x_train, y_train, x_valid, y_valid, x_test,
            y_test``, such as :func:`companion.split_task_a_b` returns.
        epochs: total epochs of both phases, >= 1.
        frozen_layers: bottom layers to freeze in phase 1 (an integer, or a
            list of layer names as for :func:`set_trainable`).
        frozen_epochs: epochs of phase 1, in [0, epochs].
        optimizer: an optimizer *name* (each phase gets a fresh one).
        learning_rate: phase 1's learning rate (and phase 2's when there is
            no phase 1).
        fine_tune_learning_rate: phase 2's after a phase 1; by default
            ``learning_rate / 10``.
        loss, metrics, batch_size: as for ``Model.compile`` and ``Model.fit``.
        validate: evaluate the validation split after every epoch.
        steps_per_execution: optimizer steps per compiled call; ``None`` for
            automatic.

    Returns:
        A :class:`companion.TrainingResult`: the history of both phases (a
        boolean column ``frozen`` tells them apart) and the final test metrics.
        ``model`` ends with every layer trainable, compiled for phase 2 when there
        was one; after phase 1 alone it is left uncompiled, or as it was compiled
        (phase 1 trains a twin over its layers, :class:`FineTuner`, and the test
        metrics then come from the twin).

    Example:
        >>> result = fine_tune(model_b, task_b, epochs=30, frozen_layers=5,  # doctest: +SKIP
        ...                    frozen_epochs=10, loss="binary_crossentropy")
        >>> result.test["accuracy"]  # doctest: +SKIP
        0.96
    """
    check_attributes("data", data, ("x_train", "y_train", "x_test", "y_test"),
                     what="a data set such as split_task_a_b returns")
    if isinstance(model, keras.Model) and not model.built:
        model.build((None, *np.shape(data.x_train)[1:]))  # e.g. a Sequential without Input
    tuner = FineTuner(model, frozen_layers=frozen_layers, optimizer=optimizer, loss=loss,
                      metrics=metrics)
    return tuner.run(data, epochs=epochs, frozen_epochs=frozen_epochs,
                     learning_rate=learning_rate,
                     fine_tune_learning_rate=fine_tune_learning_rate, batch_size=batch_size,
                     validate=validate, steps_per_execution=steps_per_execution)


def evaluate_eagerly(model, x, y):
    """The compiled loss and metrics of ``model`` on ``(x, y)``, in one eager forward pass.

    Gives what ``model.evaluate`` gives on a single batch (regularisation
    losses included) without tracing an evaluation function, which costs more
    than the evaluation itself when a model is evaluated once. Meant for
    test sets that fit in memory at once.

    Example:
        >>> evaluate_eagerly(model, data.x_test, data.y_test)  # doctest: +SKIP
        {'loss': 0.25, 'accuracy': 0.91}
    """
    if not getattr(model, "compiled", False):
        raise ValueError(f"model {model.name!r} is not compiled; compile it first")
    model.reset_metrics()
    y_pred = model(x, training=False)
    loss = float(model.compute_loss(x=x, y=y, y_pred=y_pred, training=False))
    metrics = model.compute_metrics(x, y, y_pred, sample_weight=None)
    model.reset_metrics()
    return {"loss": loss, **{name: float(value) for name, value in metrics.items()
                             if name != "loss"}}
