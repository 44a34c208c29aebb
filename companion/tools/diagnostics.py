"""Measurements inside a network: activations, gradients and weight updates per layer."""

import numpy as np
import pandas as pd

from companion._quiet import keras, tf
from companion.tools.checks import (
    check_array, check_choice, check_inputs, check_int, check_mapping, check_model,
    check_range, check_real)


def dense_layers(model):
    """The model's Dense layers, input side first."""
    check_model("model", model)
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not layers:
        raise ValueError(f"model {model.name!r} has no Dense layer to measure")
    return layers


def layer_outputs(model, x, *, batch_size=1024):
    """Run ``x`` through ``model`` (one input) and return each Dense layer's output (after
    its activation).

    Returns:
        A dict from layer name to a NumPy array of shape ``(len(x), units)``.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> outputs = layer_outputs(build_mlp(depth=2, width=8), np.zeros((4, 28, 28)))
        >>> {name: a.shape for name, a in outputs.items()}
        {'hidden_1': (4, 8), 'hidden_2': (4, 8), 'output': (4, 10)}
    """
    layers = dense_layers(model)
    check_model("model", model, built=True)
    if len(model.inputs) != 1:
        raise ValueError(f"model must have one input, got {len(model.inputs)}")
    x = check_inputs("x", x, model)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    # The input as a tensor, not a one-element list: the array passed in must match the
    # structure (Keras before 3.8 warns otherwise).
    probe = keras.Model(model.inputs[0], [layer.output for layer in layers])
    # Called eagerly, batch by batch, rather than with predict, which traces a graph
    # function for every new probe (a 50 x 1024 network on 256 images, single runs
    # here: 1.5 to 2 times faster eagerly, with the same outputs).
    batches = [[np.asarray(v) for v in keras.tree.flatten(probe(x[i:i + batch_size],
                                                                   training=False))]
               for i in range(0, len(x), batch_size)]
    return {layer.name: np.concatenate([batch[k] for batch in batches])
            for k, layer in enumerate(layers)}


def unit_spread(a):
    """Per-unit spread: each unit's standard deviation across the examples, averaged over units.

    ``a`` holds one row per example (a 2-D array ``(examples, units)``, or any
    tensor whose last axis holds the units, e.g. ``(examples, height, width,
    channels)``: the other axes count as examples). The pooled standard deviation,
    ``a.std()``, mixes two things: how much each unit's output varies with the
    input, and how far apart the units' fixed offsets lie. This statistic keeps only
    the first. A layer whose units each sit at their own constant value has a large
    pooled std and a per-unit spread near zero: its output no longer depends on the
    input (a *collapsed* signal).

    Works on NumPy arrays and on tensors inside a ``tf.function`` (it is what
    :class:`companion.TrainingMonitor` records as ``unit_spread``); the result is a
    float64 scalar tensor, and ``float()`` of it is the number.

    Example:
        >>> a = np.array([[0.0, 10.0], [2.0, 10.0]])  # unit 1 varies, unit 2 is fixed
        >>> float(unit_spread(a)), round(float(a.std()), 3)
        (0.5, 4.555)
    """
    a = tf.cast(tf.convert_to_tensor(a), tf.float64)
    if a.shape.rank is not None and a.shape.rank < 2:
        raise ValueError(f"a must have an axis of examples and an axis of units, got shape "
                         f"{tuple(a.shape)}")
    a = tf.reshape(a, [-1, tf.shape(a)[-1]])
    return tf.reduce_mean(tf.math.reduce_std(a, axis=0))


def layer_statistics(model, x, *, saturation=None, tolerance=0.05, batch_size=1024):
    """Mean, pooled std and per-unit spread of every Dense layer's output over a batch.

    Args:
        model: a Keras model built with ``keras.Input``.
        x: inputs, e.g. a batch of images.
        saturation: ``(low, high)`` bounds of the activation, e.g. ``(0, 1)`` for
            the sigmoid; adds a column ``saturated``, the fraction of outputs
            within ``tolerance`` of either bound.
        tolerance: distance from a bound that counts as saturated.

    Returns:
        A DataFrame indexed by layer name with columns ``depth`` (1 for the
        first Dense layer), ``mean``, ``std`` (pooled over examples and units),
        ``unit_spread`` (see :func:`unit_spread`: the part of the variation that
        depends on the input) and possibly ``saturated``.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> stats = layer_statistics(build_mlp(depth=2, width=8, activation="sigmoid"),
        ...                          np.zeros((4, 28, 28)), saturation=(0, 1))
        >>> list(stats.columns)
        ['depth', 'mean', 'std', 'unit_spread', 'saturated']
    """
    if saturation is not None:
        low, high = check_range("saturation", saturation)
    tolerance = check_real("tolerance", tolerance, low=0)
    rows = []
    for depth, (name, a) in enumerate(layer_outputs(model, x, batch_size=batch_size).items(), 1):
        row = {"layer": name, "depth": depth, "mean": float(a.mean()), "std": float(a.std()),
               "unit_spread": float(unit_spread(a))}
        if saturation is not None:
            near = (np.abs(a - low) <= tolerance) | (np.abs(a - high) <= tolerance)
            row["saturated"] = float(near.mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index("layer")


GRADIENT_TARGETS = ("kernel", "output")


def resolve_loss(loss):
    """A Keras loss function from a name or a callable, with a clear error.

    Example:
        >>> resolve_loss("mse").__name__
        'mean_squared_error'
    """
    if callable(loss):
        return loss
    try:
        return keras.losses.get(loss)
    except (ValueError, TypeError):
        raise ValueError(f"unknown loss {loss!r}; give a Keras loss name such as "
                         "'sparse_categorical_crossentropy', or a loss function") from None


def gradient_norms(model, x, y, *, with_respect_to="kernel", loss="sparse_categorical_crossentropy"):
    """Euclidean norm of the loss gradient at every Dense layer.

    Args:
        model: a Keras model; a ``keras.Sequential`` one for ``"output"``.
        x, y: a batch; the loss is averaged over it, as in training.
        with_respect_to: ``"kernel"``, the gradient that updates the layer's
            weights (its Frobenius norm); or ``"output"``, the error signal
            backpropagated to the layer's output, ``dL/da``, for every Dense
            layer but the last (whose output is the prediction).
        loss: a Keras loss name or function.

    Returns:
        A DataFrame indexed by layer name with columns ``depth`` and
        ``gradient_norm``.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> norms = gradient_norms(build_mlp(depth=2, width=8), np.ones((4, 28, 28)),
        ...                        np.array([0, 1, 2, 3]))
        >>> norms.index.tolist()
        ['hidden_1', 'hidden_2', 'output']
    """
    check_choice("with_respect_to", with_respect_to, GRADIENT_TARGETS)
    layers = dense_layers(model)
    check_model("model", model, built=True)
    if with_respect_to == "output" and not isinstance(model, keras.Sequential):
        raise ValueError("with_respect_to='output' needs a keras.Sequential model, "
                         f"got {type(model).__name__}")
    loss_fn = resolve_loss(loss)
    x = check_inputs("x", x, model)
    y = check_array("y", y, min_size=0, dtype=None)
    if y.ndim < 1 or len(y) != len(x):
        raise ValueError(f"y must hold one target per example of x ({len(x)}), got shape "
                         f"{y.shape}")
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"y must hold numbers (class indices or targets), got dtype {y.dtype}")
    x = tf.convert_to_tensor(x, dtype=model.inputs[0].dtype)
    with tf.GradientTape() as tape:
        if with_respect_to == "kernel":
            targets = [layer.kernel for layer in layers]
            predictions = model(x, training=True)
        else:
            # The last layer's output is the prediction itself: Keras differentiates
            # a softmax cross-entropy through the logits, not through that tensor.
            layers = layers[:-1]
            if not layers:
                raise ValueError(f"model {model.name!r} has no Dense layer before its output; "
                                 "use with_respect_to='kernel'")
            targets, predictions = [], x
            for layer in model.layers:
                predictions = layer(predictions, training=True)
                if layer in layers:
                    targets.append(predictions)
        value = tf.reduce_mean(loss_fn(y, predictions))
    gradients = tape.gradient(value, targets)
    # in float64: squaring float32 entries below ~1e-19 would underflow to a norm of 0
    rows = [{"layer": layer.name, "depth": depth,
             "gradient_norm": float(tf.norm(tf.cast(g, tf.float64)))}
            for depth, (layer, g) in enumerate(zip(layers, gradients), 1)]
    return pd.DataFrame(rows).set_index("layer")


def kernel_snapshot(model):
    """Copies of every Dense kernel, keyed by layer name."""
    return {layer.name: np.array(layer.kernel.numpy()) for layer in dense_layers(model)}


def relative_updates(before, after):
    """``||W_after - W_before|| / ||W_before||`` per layer, for two :func:`kernel_snapshot` s.

    Example:
        >>> relative_updates({"a": np.ones((2, 2))}, {"a": 1.5 * np.ones((2, 2))})
        {'a': 0.5}
    """
    check_mapping("before", before, what="layer names to kernels (kernel_snapshot)")
    check_mapping("after", after, what="layer names to kernels (kernel_snapshot)")
    if before.keys() != after.keys():
        raise ValueError(f"before and after cover different layers: {sorted(before)} vs "
                         f"{sorted(after)}")
    updates = {}
    for name in before:
        old = check_array(f"before[{name!r}]", before[name])
        new = check_array(f"after[{name!r}]", after[name])
        if old.shape != new.shape:
            raise ValueError(f"before[{name!r}] and after[{name!r}] differ in shape: "
                             f"{old.shape} and {new.shape}")
        norm = np.linalg.norm(old)
        if norm == 0:
            raise ValueError(f"before[{name!r}] is all zeros: an update relative to it is "
                             "undefined")
        updates[name] = float(np.linalg.norm(new - old) / norm)
    return updates


class RelativeUpdateRecorder(keras.callbacks.Callback):
    """Record each Dense layer's relative kernel update over every epoch.

    After ``fit``, :attr:`table` is a DataFrame with one row per epoch and one
    column per layer holding ``||W_end - W_start|| / ||W_start||``.

    Example:
        >>> recorder = RelativeUpdateRecorder()
        >>> model.fit(x, y, epochs=2, callbacks=[recorder], verbose=0)  # doctest: +SKIP
        >>> recorder.table.shape  # doctest: +SKIP
        (2, 3)
    """

    def __init__(self):
        super().__init__()
        self.rows = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = kernel_snapshot(self.model)

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append(relative_updates(self._start, kernel_snapshot(self.model)))

    @property
    def table(self):
        """The relative updates so far, one row per epoch and one column per Dense layer."""
        frame = pd.DataFrame(self.rows)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
        return frame


def layer_report(model, x, y, *, saturation=None, tolerance=0.05):
    """:func:`layer_statistics` joined with the weight-gradient norms of :func:`gradient_norms`.

    One table per model is what most experiments on depth look at: how large the
    activations are, how many are saturated, and how much gradient each layer gets.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> report = layer_report(build_mlp(depth=2, width=8), np.ones((4, 28, 28)),
        ...                       np.array([0, 1, 2, 3]))
        >>> list(report.columns)
        ['depth', 'mean', 'std', 'unit_spread', 'gradient_norm']
    """
    stats = layer_statistics(model, x, saturation=saturation, tolerance=tolerance)
    return stats.join(gradient_norms(model, x, y)["gradient_norm"])


def _hidden_outputs(model, x, batch_size):
    """Outputs of every Dense layer but the last (the model's prediction)."""
    outputs = layer_outputs(model, x, batch_size=batch_size)
    names = list(outputs)[:-1]
    if not names:
        raise ValueError(f"model {model.name!r} has no hidden Dense layer to measure")
    return {name: outputs[name] for name in names}


def dead_units(model, x, *, batch_size=1024):
    """Fraction of each hidden layer's units that are never positive over ``x``.

    A unit is *dead* on ``x`` when its Dense output is ``<= 0`` for every
    example. For a ReLU unit that means a zero output and a zero gradient on
    all of ``x``; for a leaky ReLU unit the gradient is small but not zero.
    When the activation is a separate layer after a linear Dense layer, the
    Dense output is the pre-activation, whose sign is the same for every
    activation of the ReLU family.

    Returns:
        A DataFrame indexed by hidden layer name with columns ``depth``,
        ``units``, ``dead`` (their number) and ``dead_fraction``.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> dead_units(build_mlp(depth=2, width=8), np.zeros((4, 28, 28)))["dead_fraction"].tolist()
        [1.0, 1.0]
    """
    rows = []
    for depth, (name, a) in enumerate(_hidden_outputs(model, x, batch_size).items(), 1):
        dead = int(np.sum(np.all(a.reshape(len(a), -1) <= 0, axis=0)))
        units = int(a[0].size)
        rows.append({"layer": name, "depth": depth, "units": units, "dead": dead,
                     "dead_fraction": dead / units})
    return pd.DataFrame(rows).set_index("layer")


def saturated_units(model, x, *, bounds, tolerance=0.05, share=0.95, batch_size=1024):
    """Fraction of each hidden layer's units that sit near a bound of the activation.

    A unit is *saturated* on ``x`` when its output lies within ``tolerance`` of
    ``low`` or ``high`` (``bounds``) on at least ``share`` of the examples;
    such a unit passes on almost no gradient. The Dense outputs are measured, so
    use it with activations applied inside the Dense layers (as
    :func:`companion.build_mlp` does).

    Args:
        bounds: ``(low, high)``, e.g. ``(0, 1)`` for the sigmoid or
            ``(-1, 1)`` for tanh.
        tolerance: distance from a bound that counts as saturated, >= 0.
        share: fraction of the examples, in (0, 1].

    Returns:
        A DataFrame indexed by hidden layer name with columns ``depth``,
        ``units``, ``saturated`` and ``saturated_fraction``.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> table = saturated_units(build_mlp(depth=1, width=4, activation="sigmoid"),
        ...                         np.zeros((2, 28, 28)), bounds=(0, 1))
        >>> table["saturated_fraction"].tolist()  # sigmoid(0) = 0.5: not saturated
        [0.0]
    """
    low, high = check_range("bounds", bounds)
    tolerance = check_real("tolerance", tolerance, low=0)
    share = check_real("share", share, low=0, high=1, closed="right")
    rows = []
    for depth, (name, a) in enumerate(_hidden_outputs(model, x, batch_size).items(), 1):
        a = a.reshape(len(a), -1)
        near = (np.abs(a - low) <= tolerance) | (np.abs(a - high) <= tolerance)
        saturated = int(np.sum(near.mean(axis=0) >= share))
        rows.append({"layer": name, "depth": depth, "units": a.shape[1],
                     "saturated": saturated, "saturated_fraction": saturated / a.shape[1]})
    return pd.DataFrame(rows).set_index("layer")
