"""A training monitor for any Keras model: what goes wrong, layer by layer, while it trains.

:class:`TrainingMonitor` is a Keras callback. Every ``every`` training steps it runs one
fixed batch of examples (the *sample*) through the model and records, for every layer
that has a kernel (Dense, convolutions, ...):

* ``activation_mean`` and ``activation_std``: mean and standard deviation of the layer's
  outputs, pooled over the examples and units of the sample;
* ``unit_spread``: the standard deviation of each unit's output *across the examples*,
  averaged over the units. The pooled std mixes two things: how much a unit's output
  depends on the input, and how different the units' fixed offsets are. A layer whose
  units all sit at their own constant value has a large pooled std and a ``unit_spread``
  near zero: it passes on no information about the input (a *collapsed* signal);
* ``dead_fraction``: for ReLU-like activations, the fraction of units whose output is
  never positive on the sample (a ReLU unit there has a zero gradient on every example);
* ``saturated_fraction``: for bounded activations (sigmoid, tanh, ...), the fraction of
  units that sit near a bound of the activation on nearly every example (see
  :data:`SATURATION_TOLERANCE` and :data:`SATURATION_SHARE`);
* ``gradient_norm``: the norm of the gradient of the model's loss on the sample with
  respect to the layer's kernel (``tf.GradientTape``; labels needed);
* ``weight_norm``: the norm of the kernel;
* ``update_ratio``: how fast the kernel moves, relative to its size, per training step:
  ``||W_t - W_s|| / ||W_s|| / (t - s)``, where ``s`` is the last point before ``t`` at
  which Keras hands control to callbacks (``t - s`` is the ``update_window`` column:
  1 step by default, ``steps_per_execution`` when the model was compiled with it).
  A short window measures the step the optimizer really takes; over a long window
  noisy steps partly cancel and the ratio per step comes out smaller.

:meth:`TrainingMonitor.to_frame` returns the records as a tidy DataFrame,
:meth:`TrainingMonitor.plot` draws them, :meth:`TrainingMonitor.diagnose` turns them
into findings in plain words, and ``log_dir=`` writes them for TensorBoard.

By default the measurements see the network as the training step sees it
(``training=True``: Batch Normalization normalises with the sample's own statistics,
dropout drops), and the model's non-trainable state that such a call changes (the
moving averages of Batch Normalization, the states of the random generators) is put
back afterwards, so the monitor never changes the run it watches. With
``training=False`` they see it as ``predict`` does. They run in a compiled
``tf.function`` on one batch; see the overhead note in :class:`TrainingMonitor`.
"""

import dataclasses
import os

import numpy as np

from companion._quiet import keras, tf
from companion.tools.checks import check_bool, check_int
from companion.tools.diagnostics import unit_spread

# ---------------------------------------------------------------------------------------
# Thresholds of the diagnosis. Each is a rule of thumb; the docstrings say where it comes
# from. diagnose() compares them with medians over the later half of the records, so a
# transient at the start of training does not count.

VANISHING_GRADIENT_RATIO = 1e-2
"""Vanishing gradients are reported when the first (input-side) layer's gradient norm is
below this fraction of the largest layer's. With one learning rate for all layers, plain
gradient descent then moves the first layer a hundred times more slowly, relative to the
gradient, than the fastest one. Chapter 1 measures ratios beyond 1000 in a deep sigmoid
network; the healthy networks of the tests stay within a factor of 10."""

EXPLODING_GRADIENT_RATIO = 1e2
"""Exploding gradients are reported when some layer's ``gradient_norm / weight_norm`` is
at least this. Plain gradient descent with a learning rate ``lr`` changes that layer's
weights by ``lr`` times this ratio per step; at 100, even ``lr = 1e-3`` would change
them by a tenth of their size in one step, a hundred times the rule of thumb of
:data:`UPDATE_RATIO_RULE`. Non-finite activations, gradients or weights count as
exploding whatever the ratio."""

COLLAPSE_RATIO = 1e-2
"""A collapsed signal is reported when a hidden layer's ``unit_spread / activation_std``
is below this. The ratio is 1 when every unit has the same mean and all variation comes
from the input, and it is several tenths in healthy layers (whose units have different
offsets); below 1/100, the differences between examples are a hundredth of the
differences between units, and the next layers see nearly the same vector whatever the
input."""

DEAD_UNIT_FRACTION = 0.4
"""Dying units are reported when at least this fraction of a ReLU-like hidden layer's
units is never positive on the sample. "As much as 40% of your network can be dead" is
the warning of Stanford's CS231n notes about ReLU networks trained with too high a
learning rate; a He-initialised ReLU layer starts with almost none."""

SATURATED_UNIT_FRACTION = 0.4
"""Saturation is reported when at least this fraction of a bounded hidden layer's units
is saturated (see :data:`SATURATION_TOLERANCE`). Chosen like
:data:`DEAD_UNIT_FRACTION`: a saturated unit passes on little gradient, and a layer that
has lost that many of its units is a layer where learning has largely stopped."""

SATURATION_TOLERANCE = 0.05
"""A unit's output counts as *near a bound* within this fraction of the activation's
range, 0.05 for the sigmoid's (0, 1) and 0.1 for tanh's (-1, 1). There the slope is at
most 19% of the activation's largest slope (sigmoid: 0.0475 against 0.25; tanh: 0.19
against 1)."""

SATURATION_SHARE = 0.95
"""A unit is *saturated* when its output is near a bound on at least this share of the
sample's examples (near either bound: a unit flipping between 0 and 1 is as stuck)."""

UPDATE_RATIO_RULE = 1e-3
"""The rule of thumb for the update ratio, that each step should change a layer's
weights by about a thousandth of their size (Karpathy; Stanford's CS231n notes, "ratio
of weights:updates"). It is an order of magnitude, not a target: the thresholds below
flag only departures by more than a factor of 30."""

UPDATE_RATIO_TOO_HIGH = 3e-2
"""A learning rate too high is reported when, at some record, the median over layers of
the update ratio per step is above this, 30 times :data:`UPDATE_RATIO_RULE`. The weights
then change by their own size in about 30 steps, faster than the loss surface they were
fitted to stays valid. The largest value counts because a rate too high does its damage
in the first steps and then often hides (see :meth:`TrainingMonitor.diagnose`)."""

UPDATE_RATIO_TOO_LOW = 3e-5
"""A learning rate too low is reported when the median over layers of the update ratio
per step is below this, a thirtieth of :data:`UPDATE_RATIO_RULE`. The weights would need
more than 30,000 steps (dozens of epochs of a small data set) to change by their own
size."""

RELU_LIKE = frozenset({"relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu",
                       "silu", "swish", "mish", "hard_silu", "hard_swish"})
"""Activations whose units can *die* (never positive): zero or nearly zero slope for
negative inputs. ``dead_fraction`` is NaN for other activations."""

BOUNDED_ACTIVATIONS = {"sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0),
                       "tanh": (-1.0, 1.0), "hard_tanh": (-1.0, 1.0),
                       "softsign": (-1.0, 1.0), "softmax": (0.0, 1.0),
                       "sparsemax": (0.0, 1.0)}
"""Activations that saturate, with the bounds of their range. ``saturated_fraction`` is
NaN for other activations (relu6's upper bound is not counted)."""

HISTOGRAM_BINS = 30
"""Buckets of the TensorBoard histograms of activations and kernels."""

SERIES = ("activation_mean", "activation_std", "unit_spread", "dead_fraction",
          "saturated_fraction", "gradient_norm", "weight_norm", "update_ratio")
"""The columns a record holds per layer, in :meth:`TrainingMonitor.to_frame`'s order."""

CHAPTERS = {
    "vanishing_gradients": "chapter 1: unstable gradients",
    "exploding_gradients": "chapter 1: unstable gradients; chapter 4: gradient clipping",
    "collapsed_signal": "chapter 1: unstable gradients (the variance argument); "
                        "chapter 4: Batch Normalization",
    "dying_units": "chapter 3: activation functions (ReLU and dying units)",
    "saturation": "chapter 1: unstable gradients (the sigmoid saturates)",
    "learning_rate_too_high": "chapter 7: learning-rate scheduling",
    "learning_rate_too_low": "chapter 7: learning-rate scheduling",
}
"""The chapter of the course that explains each kind of finding."""

# Layers that sit between a linear Dense/convolution and its activation without changing
# which unit is which; the monitor looks through them to find the activation to measure.
_PASS_THROUGH = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                 keras.layers.GroupNormalization, keras.layers.Dropout,
                 keras.layers.AlphaDropout, keras.layers.GaussianDropout,
                 keras.layers.GaussianNoise)
_ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
                      keras.layers.ELU, keras.layers.PReLU, keras.layers.Softmax)

_STATS = SERIES.index("gradient_norm")  # the first five series come from the activations


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem :meth:`TrainingMonitor.diagnose` found, in plain words.

    Attributes:
        kind: one of the keys of :data:`CHAPTERS`, e.g. ``"vanishing_gradients"``.
        layer: the layer where it is worst, or ``None`` for the model as a whole.
        layers: every layer that shows it.
        message: what was measured and what it means, in a sentence or three.
        numbers: the measurements behind the finding, by name.
        chapter: the chapter of the course that explains it.

    Example:
        >>> Finding("saturation", "hidden_2", ("hidden_2",), "most units are stuck.",
        ...         {"saturated_fraction": 0.9}, CHAPTERS["saturation"])
        saturation (hidden_2): most units are stuck. See chapter 1: unstable gradients (the sigmoid saturates).
    """

    kind: str
    layer: str | None
    layers: tuple
    message: str
    numbers: dict
    chapter: str

    def __str__(self):
        where = f" ({self.layer})" if self.layer else ""
        return f"{self.kind}{where}: {self.message} See {self.chapter}."

    __repr__ = __str__


@dataclasses.dataclass(frozen=True)
class _Watched:
    """A layer with a kernel and the tensor that holds its units' outputs."""

    layer: object
    tensor: object
    activation: str
    is_output: bool


def _activation_name(obj):
    """A lower-case name for a layer's activation, e.g. ``"relu"``; ``"linear"`` if none."""
    if isinstance(obj, keras.layers.ReLU):
        return "relu"
    if isinstance(obj, keras.layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(obj, keras.layers.ELU):
        return "elu"
    if isinstance(obj, keras.layers.PReLU):
        return "prelu"
    if isinstance(obj, keras.layers.Softmax):
        return "softmax"
    fn = getattr(obj, "activation", None)
    if fn is None:
        return "linear"
    return str(getattr(fn, "__name__", type(fn).__name__)).lower()


def _has_kernel(layer):
    if isinstance(layer, keras.layers.InputLayer):
        return False
    try:
        kernel = getattr(layer, "kernel", None)
    except (AttributeError, ValueError, TypeError):  # e.g. an unbuilt or quantized layer
        return False
    return isinstance(kernel, keras.Variable)


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history[0]


def _single_input(layer):
    try:
        return layer.input
    except (AttributeError, ValueError):  # a layer called several times, or never
        return None


def _watched_layers(model):
    """Every top-level layer with a kernel, with the tensor of its units' outputs.

    A layer with a nonlinear activation is measured at its own output. A linear one
    followed by an activation layer (``Dense -> BatchNormalization -> Activation``) is
    measured at that activation's output, found by walking back from each activation
    layer through the layers of ``_PASS_THROUGH``.
    """
    kernel_layers = [layer for layer in model.layers if _has_kernel(layer)]
    if not kernel_layers:
        raise ValueError(f"model {model.name!r} has no layer with a kernel to monitor; "
                         f"its layers: {[layer.name for layer in model.layers]}")
    followed_by = {}
    for candidate in model.layers:
        if not isinstance(candidate, _ACTIVATION_LAYERS):
            continue
        tensor = _single_input(candidate)
        source = _producer(tensor)
        while isinstance(source, _PASS_THROUGH):
            source = _producer(_single_input(source))
        if source is not None and id(source) not in followed_by \
                and _has_kernel(source) and _activation_name(source) == "linear":
            followed_by[id(source)] = candidate
    outputs = list(model.outputs)
    watched = []
    for layer in kernel_layers:
        measured = followed_by.get(id(layer), layer)
        try:
            tensor = measured.output
        except (AttributeError, ValueError) as error:
            raise TypeError(f"cannot monitor layer {measured.name!r} of model {model.name!r}: "
                            f"{error}") from None
        is_output = any(tensor is out or layer.output is out for out in outputs)
        watched.append(_Watched(layer, tensor, _activation_name(measured), is_output))
    if not any(w.is_output for w in watched):
        last = watched[-1]
        watched[-1] = dataclasses.replace(last, is_output=True)
    return watched


def _as_array(value, what):
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} must be a numeric array, got the string {value!r}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be an array, got {type(value).__name__}") from None
    if array.dtype == object:
        raise TypeError(f"{what} must be a numeric array, got an array of objects")
    return array


def _split_sample(sample):
    """``x`` or ``(x, y)`` -> (flat list of input arrays, how to re-nest them, y or None)."""
    if sample is None:
        raise TypeError("sample is required: a fixed batch x, or (x, y) for gradients")
    if isinstance(sample, tuple):
        if len(sample) != 2:
            raise ValueError(f"sample must be x or a tuple (x, y), got a tuple of "
                             f"{len(sample)} items")
        x, y = sample
    else:
        x, y = sample, None
    if isinstance(x, dict):
        raise TypeError("sample x for a model with several inputs must be a list of arrays, "
                        "in the order of model.inputs, not a dict")
    if isinstance(x, (list, tuple)):
        xs = [_as_array(v, f"sample x[{i}]") for i, v in enumerate(x)]
        structure = ("list", len(xs))
    else:
        xs = [_as_array(x, "sample x")]
        structure = ("single", 1)
    n = None
    for i, array in enumerate(xs):
        if array.ndim < 2:
            raise ValueError(f"sample x must be a batch of examples, shape (examples, ...); "
                             f"got shape {array.shape}")
        if n is None:
            n = len(array)
        elif len(array) != n:
            raise ValueError(f"the sample's inputs hold different numbers of examples: "
                             f"{[len(a) for a in xs]}")
    if n < 2:
        raise ValueError(f"sample x needs at least 2 examples, got {n} (spreads are taken "
                         f"across examples)")
    if y is not None:
        y = _as_array(y, "sample y")
        if y.ndim < 1 or len(y) != n:
            raise ValueError(f"sample y must hold one label per example of x ({n}), got "
                             f"shape {y.shape}")
    return xs, structure, y


def _nest(structure, tensors):
    return tensors[0] if structure[0] == "single" else list(tensors)


def _median_finite(values):
    """Median of the finite values, NaN when there are none (without NumPy's warning)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


class TrainingMonitor(keras.callbacks.Callback):
    """Record per-layer statistics of a Keras model every ``every`` training steps.

    Args:
        every: record every this many optimizer steps (a positive integer). With
            ``steps_per_execution=k`` in ``compile``, Keras calls callbacks every ``k``
            steps, so records fall on the first call at or after each multiple.
        sample: a fixed batch ``x``, or ``(x, y)`` to also measure gradients (for a
            model with several inputs, ``x`` is a list of arrays in the order of
            ``model.inputs``). A few hundred examples suffice; the cost grows with
            the sample's size. Examples the model does not train on, or training
            examples: what matters is that they stay the same.
        log_dir: if given, a directory where the series are also written for
            TensorBoard: scalars ``<series>/<layer>`` and, with ``histograms``,
            histograms ``activations/<layer>`` and ``kernel/<layer>``.
        histograms: write histograms to ``log_dir`` (ignored without one).
        training: measure in training mode (the default: Batch Normalization uses
            the sample's statistics, dropout is active, as in a training step) or,
            with ``False``, in inference mode. Either way the model's state is left
            as it was.

    A record is also taken when training begins (the state before the first step,
    step 0 for a fresh optimizer) and when it ends. Records continue over several
    ``fit`` calls, counted by the optimizer's ``iterations``; when the model is
    compiled again with a new optimizer, whose count starts at 0, the steps continue
    from the last record.

    Cost: a record is one forward and backward pass over ``sample`` in a compiled
    function, plus a copy of the kernels. On chapter 1's network trained as
    ``cp.train`` trains it (ten sigmoid layers of 60 units on Fashion-MNIST, batches of
    32, 32 steps per execution), with a sample of 256 images, ``every=50`` added about a
    tenth to an epoch on the course's two-core development machine: +8% to +14% in CPU
    time, the median over interleaved epochs with and without the monitor in each of
    five runs (wall-clock medians, on a machine shared with other work, ranged from
    -14% to +11%). Writing TensorBoard summaries as well about doubles the cost of a
    record. The script ``tests/monitor_overhead.py`` measures it on your machine.

    Example:
        >>> monitor = TrainingMonitor(every=50, sample=(x_valid[:256], y_valid[:256]))  # doctest: +SKIP
        >>> model.fit(x_train, y_train, epochs=3, callbacks=[monitor])  # doctest: +SKIP
        >>> monitor.to_frame().head()  # doctest: +SKIP
        >>> fig = monitor.plot()  # doctest: +SKIP
        >>> for finding in monitor.diagnose():  # doctest: +SKIP
        ...     print(finding)
    """

    def __init__(self, every=50, *, sample, log_dir=None, histograms=True, training=True):
        super().__init__()
        self.every = check_int("every", every, minimum=1)
        self._xs, self._structure, self._y = _split_sample(sample)
        if log_dir is not None and not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"log_dir must be a path (str or os.PathLike) or None, got "
                            f"{type(log_dir).__name__} {log_dir!r}")
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.histograms = check_bool("histograms", histograms)
        self.training = check_bool("training", training)
        self._records = []  # (step, epoch, window, values[n_layers, len(SERIES)])
        self._prepared_for = None
        self._writer = None
        self._epoch = 0
        self._epoch_start = 0
        self._next_due = 0
        self._snapshot_steps = [None, None]  # two slots: the newest never overwrites the
        self._spe = 1                          # one a pending record may still need
        self._step_offset = 0

    # -- Keras hooks ---------------------------------------------------------------------

    def set_model(self, model):
        if not isinstance(model, keras.Model):
            raise TypeError(f"TrainingMonitor watches a keras.Model, got "
                            f"{type(model).__name__}")
        super().set_model(model)

    def on_train_begin(self, logs=None):
        self._prepare()
        self._spe = max(1, int(getattr(self.model, "steps_per_execution", 1) or 1))
        if self._records and self._read_step() < self._records[-1][0]:
            # A new optimizer counts from 0: continue from the last record instead.
            self._step_offset = self._records[-1][0] - int(
                self.model.optimizer.iterations.numpy())
        step = self._read_step()
        self._epoch_start = step
        if not self._records or self._records[-1][0] < step:
            self._record(step)
        self._next_due = (step // self.every + 1) * self.every
        self._snapshot_steps = [None, None]
        self._maybe_snapshot(step)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = self._read_step()

    def on_train_batch_end(self, batch, logs=None):
        # Keras passes the index of the last step of this execution within the epoch;
        # at an epoch's end it overshoots, so it serves only to skip reading the real
        # count (the optimizer's iterations) far from the next record.
        if self._epoch_start + batch + 1 + self._spe < self._next_due:
            return
        step = self._read_step()
        if step >= self._next_due:
            self._record(step)
            self._next_due = (step // self.every + 1) * self.every
        self._maybe_snapshot(step)

    def on_train_end(self, logs=None):
        step = self._read_step()
        if self._records[-1][0] < step:
            self._record(step)
        if self._writer is not None:
            self._writer.flush()

    # -- measuring ------------------------------------------------------------------------

    def _read_step(self):
        return self._step_offset + int(self.model.optimizer.iterations.numpy())

    def _prepare(self):
        """Build the probe model and the compiled measurement for ``self.model``.

        Done again when the model was compiled again (a new optimizer, maybe a new
        loss), since the compiled measurement holds the loss it was traced with.
        """
        model = self.model
        if self._prepared_for == (id(model), id(model.optimizer)):
            return
        if isinstance(model, keras.Sequential) and not model.built and len(self._xs) == 1:
            # A Sequential model without keras.Input is built by its first training step;
            # building it now, from the sample's shape, is what that step would do.
            model.build((None, *self._xs[0].shape[1:]))
        try:
            inputs, outputs = list(model.inputs), list(model.outputs)
        except (AttributeError, ValueError) as error:
            raise TypeError(f"TrainingMonitor needs a Sequential or functional model, whose "
                            f"layers can be reached from its inputs; {model.name!r} "
                            f"({type(model).__name__}) is not one: {error}") from None
        watched = _watched_layers(model)
        try:
            probe = keras.Model(inputs, [w.tensor for w in watched] + outputs)
        except (AttributeError, ValueError, TypeError) as error:
            raise TypeError(f"TrainingMonitor cannot reach the layers of {model.name!r} "
                            f"({type(model).__name__}) from its inputs: {error}") from None
        if len(self._xs) != len(inputs):
            raise ValueError(f"sample x holds {len(self._xs)} input array(s), but model "
                             f"{model.name!r} has {len(inputs)} input(s)")
        for i, (array, tensor) in enumerate(zip(self._xs, inputs)):
            expected = tuple(tensor.shape[1:])
            if len(array.shape) - 1 != len(expected) or any(
                    e is not None and e != a for e, a in zip(expected, array.shape[1:])):
                raise ValueError(f"sample x{'' if len(inputs) == 1 else f'[{i}]'} has "
                                 f"examples of shape {array.shape[1:]}, but model "
                                 f"{model.name!r} expects {expected}")
        if self._y is not None and len(model.outputs) != 1:
            raise ValueError(f"TrainingMonitor measures gradients of single-output models; "
                             f"{model.name!r} has {len(model.outputs)} outputs: pass "
                             f"sample=x for activation statistics only")
        x = [tf.constant(a, dtype=t.dtype) for a, t in zip(self._xs, inputs)]
        y = None if self._y is None else tf.constant(self._y)
        kernels = [w.layer.kernel for w in watched]
        trainable = [w.layer.trainable and k.trainable for w, k in zip(watched, kernels)]
        snapshots = [[tf.Variable(tf.zeros(k.shape, dtype=k.dtype), trainable=False)
                      for k in kernels] for _ in range(2)]
        n = len(watched)
        structure = self._structure
        training = self.training
        # What a training-mode call changes besides its outputs: BN's moving averages and
        # the random generators' states. They are read first and written back last.
        state = list(model.non_trainable_variables) if training else []
        f64 = tf.float64

        def activation_stats(value, info):
            a = tf.cast(tf.reshape(value, [-1, tf.shape(value)[-1]]), f64)
            nan = tf.constant(np.nan, f64)
            dead = nan
            if info.activation in RELU_LIKE:
                dead = tf.reduce_mean(tf.cast(tf.reduce_all(a <= 0, axis=0), f64))
            saturated = nan
            if info.activation in BOUNDED_ACTIVATIONS:
                low, high = BOUNDED_ACTIVATIONS[info.activation]
                tolerance = SATURATION_TOLERANCE * (high - low)
                near = tf.logical_or(a - low <= tolerance, high - a <= tolerance)
                share = tf.reduce_mean(tf.cast(near, f64), axis=0)
                saturated = tf.reduce_mean(tf.cast(share >= SATURATION_SHARE, f64))
            return tf.stack([tf.reduce_mean(a), tf.math.reduce_std(a),
                             unit_spread(a), dead, saturated])

        def norm(t):
            return tf.norm(tf.reshape(tf.cast(t, f64), [-1]))

        def measure(with_activations):
            saved = [tf.identity(v) for v in state]
            with tf.GradientTape() as tape:
                values = probe(_nest(structure, x), training=training)
                activations, predictions = values[:n], values[n:]
                loss = None
                if y is not None:
                    loss = model.compute_loss(x=_nest(structure, x), y=y,
                                              y_pred=predictions[0], training=training)
            stats = tf.stack([activation_stats(a, info)
                              for a, info in zip(activations, watched)])
            nan = tf.constant(np.nan, f64)
            gradient_norms = [nan] * n
            if loss is not None:
                targets = [k for k, t in zip(kernels, trainable) if t]
                gradients = iter(tape.gradient(loss, targets))
                gradient_norms = [next(gradients) if t else None for t in trainable]
                gradient_norms = [nan if g is None else norm(g) for g in gradient_norms]
            weight_norms = tf.stack([norm(k) for k in kernels])
            snapshot_norms = tf.stack([[norm(s) for s in slot] for slot in snapshots])
            moved = tf.stack([[norm(tf.cast(k, s.dtype) - s) for k, s in zip(kernels, slot)]
                              for slot in snapshots])
            result = {"stats": stats, "gradient_norms": tf.stack(gradient_norms),
                      "weight_norms": weight_norms, "snapshot_norms": snapshot_norms,
                      "moved": moved}
            if with_activations:
                result["activations"] = [tf.cast(a, tf.float32) for a in activations]
            for variable, value in zip(state, saved):
                variable.assign(value)
            return result

        def snapshot(slot):
            for k, s in zip(kernels, snapshots[slot]):
                s.assign(tf.cast(k, s.dtype))

        self._watched = watched
        self._trainable = np.array(trainable)
        self._kernels = kernels
        self._measure = tf.function(measure, reduce_retracing=True)
        self._snapshot = tf.function(snapshot)
        self._prepared_for = (id(model), id(model.optimizer))
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(self.log_dir)
            self._write = tf.function(self._summaries(watched, kernels))

    def _maybe_snapshot(self, step):
        """Copy the kernels if the next callback may be a record: the update window."""
        if step + self._spe >= self._next_due and step not in self._snapshot_steps:
            # Overwrite the older slot (or an empty one): the newer may still be needed,
            # e.g. by the record at the end of training when this step is the last.
            steps = [-1 if s is None else s for s in self._snapshot_steps]
            slot = int(np.argmin(steps))
            self._snapshot(slot)
            self._snapshot_steps[slot] = step

    def _record(self, step):
        histograms = self._writer is not None and self.histograms
        result = self._measure(histograms)
        n = len(self._watched)
        values = np.full((n, len(SERIES)), np.nan)
        values[:, :_STATS] = result["stats"].numpy()
        values[:, SERIES.index("gradient_norm")] = result["gradient_norms"].numpy()
        values[:, SERIES.index("weight_norm")] = result["weight_norms"].numpy()
        window = 0
        earlier = [(s, slot) for slot, s in enumerate(self._snapshot_steps)
                   if s is not None and s < step]
        if earlier:
            snapshot_step, slot = max(earlier)
            window = step - snapshot_step
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (result["moved"].numpy()[slot]
                         / result["snapshot_norms"].numpy()[slot] / window)
            values[:, SERIES.index("update_ratio")] = np.where(self._trainable, ratio, np.nan)
        self._records.append((step, self._epoch, window, values))
        if self._writer is not None:
            with self._writer.as_default():
                self._write(tf.constant(step, tf.int64), tf.constant(values),
                            result.get("activations", []))

    def _summaries(self, watched, kernels):
        """A function writing one record as TensorBoard summaries, to be compiled.

        The formats are those TensorBoard's own ``tf.summary.scalar`` and
        ``tf.summary.histogram`` write (a scalar tensor; a ``(buckets, 3)`` tensor of
        left edge, right edge and count), built here with ``tf.summary.write`` and the
        summary protos that TensorFlow ships, since TensorFlow 2.21 leaves those two
        functions to the ``tensorboard`` package, which need not be installed to write
        the files. Values that are NaN or infinite (a series that does not apply, a
        diverged run) are left out. The function is compiled: written one by one,
        eagerly, a record's hundred-odd summaries took ten times as long as the
        measurement itself.
        """
        from tensorflow.core.framework import summary_pb2

        def metadata(plugin):
            return summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=plugin)).SerializeToString()

        scalars, buckets = metadata("scalars"), metadata("histograms")
        applicable = self._applicable()
        histograms = self.histograms

        def write_if(condition, tag, tensor, step, kind):
            return tf.cond(condition,
                           lambda: tf.summary.write(tag, tensor, step=step, metadata=kind),
                           lambda: tf.constant(False))

        def histogram(tensor):
            values = tf.reshape(tf.cast(tensor, tf.float64), [-1])
            values = tf.boolean_mask(values, tf.math.is_finite(values))
            size = tf.size(values)
            zero = tf.constant(0.0, tf.float64)
            low = tf.cond(size > 0, lambda: tf.reduce_min(values), lambda: zero)
            high = tf.cond(size > 0, lambda: tf.reduce_max(values), lambda: zero)
            # np.histogram's convention for a constant tensor: a range of width 1 around it
            low, high = tf.cond(high > low, lambda: (low, high),
                                lambda: (low - 0.5, high + 0.5))
            counts = tf.histogram_fixed_width(values, tf.stack([low, high]),
                                              nbins=HISTOGRAM_BINS)
            edges = tf.linspace(low, high, HISTOGRAM_BINS + 1)
            return size > 0, tf.stack([edges[:-1], edges[1:], tf.cast(counts, tf.float64)],
                                      axis=1)

        def write(step, values, activations):
            for i, info in enumerate(watched):
                name = info.layer.name
                for j, series in enumerate(SERIES):
                    if applicable[i, j]:
                        write_if(tf.math.is_finite(values[i, j]), f"{series}/{name}",
                                 tf.cast(values[i, j], tf.float32), step, scalars)
                if histograms:
                    for tag, tensor in ((f"activations/{name}", activations[i]),
                                        (f"kernel/{name}", kernels[i])):
                        nonempty, table = histogram(tensor)
                        write_if(nonempty, tag, table, step, buckets)

        return write

    def _applicable(self):
        """Which (layer, series) pairs are measured at all (the rest is NaN by design)."""
        applicable = np.ones((len(self._watched), len(SERIES)), dtype=bool)
        for i, info in enumerate(self._watched):
            applicable[i, SERIES.index("dead_fraction")] = info.activation in RELU_LIKE
            applicable[i, SERIES.index("saturated_fraction")] = \
                info.activation in BOUNDED_ACTIVATIONS
            applicable[i, SERIES.index("gradient_norm")] = \
                self._y is not None and self._trainable[i]
            applicable[i, SERIES.index("update_ratio")] = self._trainable[i]
        return applicable

    # -- results --------------------------------------------------------------------------

    @property
    def layers(self):
        """Names of the monitored layers, input side first (empty before training)."""
        return [w.layer.name for w in getattr(self, "_watched", [])]

    def to_frame(self):
        """The records as a tidy pandas DataFrame: one row per record and layer.

        Columns: ``step`` (optimizer steps done), ``epoch`` (0-based), ``layer``,
        ``depth`` (1 = nearest the input), ``activation``, ``output_layer``,
        ``update_window`` (steps the update ratio was averaged over; 0 when there
        was none), then the series of :data:`SERIES`. Series that do not apply
        to a layer (e.g. ``dead_fraction`` for a sigmoid) are NaN.

        Example:
            >>> frame = monitor.to_frame()  # doctest: +SKIP
            >>> frame.pivot(index="step", columns="layer", values="gradient_norm")  # doctest: +SKIP
        """
        import pandas as pd  # only here: the rest of the monitor needs no pandas

        rows = []
        for step, epoch, window, values in self._records:
            for depth, (info, row) in enumerate(zip(self._watched, values), 1):
                rows.append({"step": step, "epoch": epoch, "layer": info.layer.name,
                             "depth": depth, "activation": info.activation,
                             "output_layer": info.is_output, "update_window": window,
                             **dict(zip(SERIES, row.tolist()))})
        columns = ["step", "epoch", "layer", "depth", "activation", "output_layer",
                   "update_window", *SERIES]
        return pd.DataFrame(rows, columns=columns)

    def _require_records(self, what):
        if not self._records:
            raise RuntimeError(f"TrainingMonitor has no records to {what} yet: pass it to "
                               f"model.fit(..., callbacks=[monitor]) first")

    def plot(self, *, title=None):
        """One figure, four panels over training steps, one colour per layer.

        Panels: (a) the per-unit spread (solid) and the pooled standard deviation
        (dotted) of each layer's outputs: a solid line far below its dotted one is a
        collapsed signal; (b) the gradient norm; (c) the update ratio per step, with
        the rule of thumb (dotted) and the thresholds of :meth:`diagnose` (dashed);
        (d) the fraction of dead (solid) and saturated (dashed) units. The first
        three have logarithmic axes when there is anything positive to show. Layer
        colours run from dark (input side) to light (output side) along a
        sequential colour map, keyed by the colour bar.

        Returns:
            The Matplotlib figure.

        Example:
            >>> fig = monitor.plot(title="10 sigmoid layers")  # doctest: +SKIP
        """
        self._require_records("plot")
        import matplotlib.pyplot as plt
        from matplotlib.cm import ScalarMappable
        from matplotlib.lines import Line2D
        from matplotlib.colors import BoundaryNorm, ListedColormap

        steps = np.array([r[0] for r in self._records])
        values = np.stack([r[3] for r in self._records])  # (records, layers, series)
        n = values.shape[1]
        cmap = plt.get_cmap("viridis")
        colours = [cmap(0.9 * i / max(n - 1, 1)) for i in range(n)]
        # 6 in wide, as the book style draws every figure, so its text stays legible at
        # phone width once the page scales the image down.
        fig, axes = plt.subplots(2, 2, figsize=(6.0, 5.4), sharex=True, squeeze=False)
        (signal, gradient), (update, units) = axes

        def lines(ax, series, **style):
            column = values[:, :, SERIES.index(series)]
            for i in range(n):
                ax.plot(steps, column[:, i], color=colours[i], **style)
            return column

        def log_if_positive(ax, *columns):
            data = np.concatenate([np.ravel(c) for c in columns])
            if np.any(np.isfinite(data) & (data > 0)):
                ax.set_yscale("log")

        def key(ax, entries):
            """A legend of grey line styles: the colours are the layers'."""
            handles = [Line2D([], [], color="0.35", linestyle=style, linewidth=1.2)
                       for style, _ in entries]
            ax.legend(handles, [label for _, label in entries], fontsize=8, loc="best")

        spread = lines(signal, "unit_spread")
        pooled = lines(signal, "activation_std", linestyle=":", linewidth=1.2)
        log_if_positive(signal, spread, pooled)
        signal.set(title="(a) signal", ylabel="standard deviation")
        key(signal, [("-", "per-unit spread"), (":", "pooled std")])
        log_if_positive(gradient, lines(gradient, "gradient_norm"))
        gradient.set(title="(b) gradient", ylabel=r"$\|\partial L/\partial W\|$")
        ratio = lines(update, "update_ratio")
        for level, style in ((UPDATE_RATIO_RULE, ":"), (UPDATE_RATIO_TOO_LOW, "--"),
                             (UPDATE_RATIO_TOO_HIGH, "--")):
            update.axhline(level, color="0.35", linestyle=style, linewidth=1)
        log_if_positive(update, ratio, [UPDATE_RATIO_TOO_LOW, UPDATE_RATIO_TOO_HIGH])
        update.set(title="(c) update ratio",
                   ylabel=r"$\|\Delta W\|\,/\,\|W\|$ per step", xlabel="training step")
        key(update, [(":", f"rule of thumb {UPDATE_RATIO_RULE:g}"), ("--", "thresholds")])
        lines(units, "dead_fraction")
        lines(units, "saturated_fraction", linestyle="--")
        units.set(title="(d) unit states", ylim=(-0.03, 1.03),
                  ylabel="fraction of units", xlabel="training step")
        key(units, [("-", "dead"), ("--", "saturated")])
        bounds = np.arange(n + 1) + 0.5
        mappable = ScalarMappable(norm=BoundaryNorm(bounds, n),
                                  cmap=ListedColormap(colours))
        bar = fig.colorbar(mappable, ax=axes, shrink=0.9, pad=0.02)
        ticks = np.arange(1, n + 1) if n <= 12 else np.linspace(1, n, 6).round().astype(int)
        bar.set_ticks(ticks)
        bar.set_ticklabels([self.layers[t - 1] for t in ticks])
        bar.set_label("layer (top = output side)")
        if title:
            fig.suptitle(title)
        return fig

    def diagnose(self):
        """Findings in plain words: what looks wrong, where, by how much, and why.

        How each kind is judged (thresholds are the module's constants):

        * ``exploding_gradients``: activations, gradients or weights became
          non-finite at some record (training diverged), or some layer's
          ``gradient_norm / weight_norm`` is at least :data:`EXPLODING_GRADIENT_RATIO`;
        * ``vanishing_gradients``: the first layer's gradient norm is below
          :data:`VANISHING_GRADIENT_RATIO` times the largest layer's;
        * ``collapsed_signal``: a hidden layer's ``unit_spread / activation_std``
          is below :data:`COLLAPSE_RATIO`;
        * ``dying_units`` / ``saturation``: a hidden layer's ``dead_fraction`` /
          ``saturated_fraction`` is at least :data:`DEAD_UNIT_FRACTION` /
          :data:`SATURATED_UNIT_FRACTION`;
        * ``learning_rate_too_high``: the update ratio per step (median over
          layers) exceeded :data:`UPDATE_RATIO_TOO_HIGH` at some record. A
          learning rate that is too high does its damage in the first steps and
          then often hides (Adam's steps shrink relative to the weights it has
          inflated; dead units stop moving), so the largest value counts;
        * ``learning_rate_too_low``: the update ratio per step (median over
          layers) is below :data:`UPDATE_RATIO_TOO_LOW`; not reported when another
          finding already explains small updates (gradients that vanish or
          explode, collapsed signal, dead or saturated units).

        Except for divergence and a too high learning rate, each statistic is the
        median over the later half of the records (the start of training is often
        unusual and usually recovers); records after a divergence are left out.
        Activation findings concern hidden layers only (a softmax output is *meant*
        to be near 0 or 1); gradient findings need labels in the sample.

        Returns:
            A list of :class:`Finding` s, at most one per kind, empty when nothing
            looks wrong.

        Example:
            >>> for finding in monitor.diagnose():  # doctest: +SKIP
            ...     print(finding)
            vanishing_gradients (hidden_1): the first layer hidden_1 gets ...
        """
        self._require_records("diagnose")
        values = np.stack([r[3] for r in self._records])  # (records, layers, series)
        steps = [r[0] for r in self._records]
        names = self.layers
        findings = []
        diverged = self._divergence(values, steps)
        if diverged is not None:
            findings.append(diverged)
            values = values[:steps.index(diverged.numbers["step"])]
            if len(values) == 0:
                return findings
        recent = values[len(values) // 2:]
        hidden = [i for i, w in enumerate(self._watched) if not w.is_output]
        trainable = [i for i in range(len(names)) if self._trainable[i]]

        def median(series, i):
            return _median_finite(recent[:, i, SERIES.index(series)])

        def layer_list(indices):
            return tuple(names[i] for i in indices)

        if self._y is not None and trainable and diverged is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                relative = (recent[:, :, SERIES.index("gradient_norm")]
                            / recent[:, :, SERIES.index("weight_norm")])
            relative = {i: _median_finite(relative[:, i]) for i in trainable}
            exploding = [i for i in trainable if relative[i] >= EXPLODING_GRADIENT_RATIO]
            if exploding:
                worst = max(exploding, key=lambda i: relative[i])
                findings.append(Finding(
                    "exploding_gradients", names[worst], layer_list(exploding),
                    f"the gradient of {names[worst]} is {relative[worst]:.3g} times the norm "
                    f"of its weights (threshold {EXPLODING_GRADIENT_RATIO:g}): even a "
                    "learning rate of 0.001 would change them by a tenth of their size in "
                    "one step of plain gradient descent. Scale the initial weights to the "
                    "layer (He or Glorot), add Batch Normalization, or clip gradients.",
                    {"gradient_to_weight": relative[worst]}, CHAPTERS["exploding_gradients"]))
        if self._y is not None:
            norms = {i: median("gradient_norm", i) for i in trainable}
            finite = [i for i in trainable if np.isfinite(norms[i])]
            top = max(finite, key=lambda i: norms[i]) if len(finite) >= 2 else None
            if top is not None and norms[top] > 0:
                first = finite[0]
                ratio = norms[first] / norms[top]
                if ratio < VANISHING_GRADIENT_RATIO:
                    small = [i for i in finite
                             if norms[i] < VANISHING_GRADIENT_RATIO * norms[top]]
                    findings.append(Finding(
                        "vanishing_gradients", names[first], layer_list(small),
                        f"the first layer {names[first]} gets a gradient norm of "
                        f"{norms[first]:.3g}, {ratio:.2g} times that of {names[top]} "
                        f"({norms[top]:.3g}; threshold {VANISHING_GRADIENT_RATIO:g}). With one "
                        "learning rate for all layers the lower layers barely learn. Use "
                        "ReLU-like activations with He initialisation, or Batch "
                        "Normalization.",
                        {"gradient_ratio": ratio, "first_gradient_norm": norms[first],
                         "largest_gradient_norm": norms[top]},
                        CHAPTERS["vanishing_gradients"]))
        spread_to_std = {}
        for i in hidden:
            std = recent[:, i, SERIES.index("activation_std")]
            spread = recent[:, i, SERIES.index("unit_spread")]
            with np.errstate(divide="ignore", invalid="ignore"):
                spread_to_std[i] = _median_finite(np.where(std > 0, spread / std, np.nan))
        collapsed = [i for i in hidden if spread_to_std[i] < COLLAPSE_RATIO]
        if collapsed:
            worst = min(collapsed, key=lambda i: spread_to_std[i])
            findings.append(Finding(
                "collapsed_signal", names[worst], layer_list(collapsed),
                f"in {len(collapsed)} of {len(hidden)} hidden layers the units barely depend "
                f"on the input: in {names[worst]} each unit varies across examples by "
                f"{spread_to_std[worst]:.2g} times the layer's overall std (threshold "
                f"{COLLAPSE_RATIO:g}), so every example looks the same to the layers above. "
                "Fix the initialisation and activation (He + ReLU), or add Batch "
                "Normalization.",
                {"spread_to_std": spread_to_std[worst],
                 "unit_spread": median("unit_spread", worst),
                 "activation_std": median("activation_std", worst)},
                CHAPTERS["collapsed_signal"]))
        for kind, series, threshold, word, advice in (
                ("dying_units", "dead_fraction", DEAD_UNIT_FRACTION, "dead",
                 "never positive on the sample, where a ReLU unit gets no gradient at all "
                 "(a leaky or smooth variant only a small one) and stops learning. Units "
                 "that die during training usually mean a learning rate too high; dead "
                 "from the start, a bias or initialisation problem. Leaky ReLU, ELU or "
                 "SELU keep a gradient for negative inputs."),
                ("saturation", "saturated_fraction", SATURATED_UNIT_FRACTION, "saturated",
                 "stuck near a bound of the activation, where its slope is nearly zero. "
                 "Use smaller initial weights (Glorot), Batch Normalization, or a "
                 "non-saturating activation.")):
            fractions = {i: median(series, i) for i in hidden}
            affected = [i for i in hidden if fractions[i] >= threshold]
            if affected:
                worst = max(affected, key=lambda i: fractions[i])
                findings.append(Finding(
                    kind, names[worst], layer_list(affected),
                    f"{fractions[worst]:.0%} of the units of {names[worst]} are {word} "
                    f"(threshold {threshold:.0%}; {len(affected)} of {len(hidden)} hidden "
                    f"layers affected): {advice}",
                    {series: fractions[worst]}, CHAPTERS[kind]))
        findings.extend(self._learning_rate(values, recent, steps, trainable, findings))
        return findings

    def _divergence(self, values, steps):
        """An ``exploding_gradients`` finding at the first non-finite record, or None."""
        checked = [SERIES.index(s) for s in ("activation_std", "gradient_norm", "weight_norm")]
        bad = ~np.isfinite(values[:, :, checked]) & self._applicable()[None, :, checked]
        if not bad.any():
            return None
        record, layer = np.argwhere(bad.any(axis=2))[0]
        names = self.layers
        layers = tuple(names[i] for i in np.flatnonzero(bad[record].any(axis=1)))
        return Finding(
            "exploding_gradients", names[layer], layers,
            f"the activations, gradients or weights of {names[layer]} became infinite or "
            f"NaN by step {steps[record]}: training has diverged. Lower the learning rate, "
            "clip gradients (e.g. global_clipnorm=1.0) or scale the initial weights to the "
            "layer.", {"step": steps[record]}, CHAPTERS["exploding_gradients"])

    def _learning_rate(self, values, recent, steps, trainable, findings):
        """At most one learning-rate finding, from the update ratio per step."""
        if not trainable:
            return []
        column = SERIES.index("update_ratio")
        per_record = [_median_finite(v[trainable, column]) for v in values]
        finite = [(r, s) for r, s in zip(per_record, steps) if np.isfinite(r)]
        if not finite:
            return []
        largest, at_step = max(finite)
        layers = tuple(self.layers[i] for i in trainable)
        if largest > UPDATE_RATIO_TOO_HIGH:
            return [Finding(
                "learning_rate_too_high", None, layers,
                f"at step {at_step} one step changed the weights by {largest:.2g} of their "
                f"size (median over layers; rule of thumb {UPDATE_RATIO_RULE:g}, threshold "
                f"{UPDATE_RATIO_TOO_HIGH:g}). Lower the learning rate, or warm it up.",
                {"update_ratio": largest, "step": at_step},
                CHAPTERS["learning_rate_too_high"])]
        starving = {"exploding_gradients", "vanishing_gradients", "collapsed_signal",
                    "dying_units", "saturation"}
        typical = _median_finite([_median_finite(v[trainable, column]) for v in recent])
        if typical < UPDATE_RATIO_TOO_LOW and not starving & {f.kind for f in findings}:
            return [Finding(
                "learning_rate_too_low", None, layers,
                f"each step changes the weights by only {typical:.2g} of their size "
                f"(median over layers and over the later half of training; rule of thumb "
                f"{UPDATE_RATIO_RULE:g}, threshold {UPDATE_RATIO_TOO_LOW:g}). Raise the "
                "learning rate (a range test finds its scale).",
                {"update_ratio": typical}, CHAPTERS["learning_rate_too_low"])]
        return []
