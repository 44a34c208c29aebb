"""Learning-rate schedules: 1cycle (with momentum cycling) and the learning-rate range test.

Keras ships power, exponential, piecewise-constant and cosine schedules
(``keras.optimizers.schedules``) and performance scheduling
(``keras.callbacks.ReduceLROnPlateau``). This module adds what it lacks:

* :class:`OneCycleSchedule`, the 1cycle policy as a ``LearningRateSchedule``, and
  :func:`cycle_momentum`, which makes an optimizer's momentum (or Adam's
  ``beta_1``) follow the same cycle in the opposite direction;
* :func:`lr_range_test`, the learning-rate range test, which returns a
  :class:`RangeTestResult` with the loss of every batch and a suggested rate;
* :func:`schedule_values`, any schedule's values over a range of steps, for plots.

A schedule is a function of the optimizer's step counter, evaluated inside the
compiled training step, so it is exact for any ``steps_per_execution``; a
callback that sets the rate from Python would only run every
``steps_per_execution`` steps.
"""

import contextlib
import dataclasses
import inspect
import math
import numbers

import numpy as np
import pandas as pd

from companion._quiet import keras, tf
from companion.tools.checks import (
    check_array, check_attributes, check_choice, check_int, check_model, check_real,
    check_string)
from companion.tools.optimizers import make_optimizer
from companion.tools.tracing import build_for_fit

ANNEALING = ("cosine", "linear")


def _interpolate(start, end, fraction, annealing):
    """From ``start`` (fraction 0) to ``end`` (fraction 1), along a half cosine or a line."""
    if annealing == "cosine":
        weight = 0.5 * (1.0 + keras.ops.cos(math.pi * fraction))  # 1 -> 0
    else:
        weight = 1.0 - fraction
    # A weighted mean, exact at both ends even when end is 1e5 times smaller than start.
    return start * weight + end * (1.0 - weight)


@keras.saving.register_keras_serializable(package="companion")
class OneCycleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The 1cycle policy: warm up to a peak learning rate, then anneal far below the start.

    With ``T = total_steps`` and ``T1 = warmup_fraction * T``, the learning rate
    at step ``t`` is

    * for ``t <= T1`` (warm-up): from ``initial = max_learning_rate /
      initial_divisor`` up to ``max_learning_rate``;
    * for ``T1 < t <= T`` (annealing): from ``max_learning_rate`` down to
      ``final = initial / final_divisor``;
    * for ``t > T``: ``final``.

    Each phase follows a half cosine, ``end + (start - end) * (1 + cos(pi * p)) / 2``
    with ``p`` the fraction of the phase done, or a straight line
    (``annealing="linear"``). :meth:`momentum` gives the matching momentum,
    which moves the other way: from ``max_momentum`` down to ``min_momentum``
    during warm-up and back up during annealing; :func:`cycle_momentum` makes
    an optimizer use it. The defaults are those of fastai and PyTorch's
    ``OneCycleLR``, after Smith's 1cycle policy.

    Args:
        max_learning_rate: the peak learning rate, reached at step ``T1``.
        total_steps: the number of optimizer steps of the whole training run.
        warmup_fraction: the fraction of the steps spent warming up, in (0, 1).
        initial_divisor: ``max_learning_rate / initial_divisor`` is the rate at step 0.
        final_divisor: the rate at the end is the initial rate divided by this.
        max_momentum: the momentum at the start and at the end.
        min_momentum: the momentum at the peak learning rate.
        annealing: ``"cosine"`` or ``"linear"``.

    Example:
        >>> schedule = OneCycleSchedule(0.1, total_steps=100)
        >>> round(float(schedule(0)), 6), round(float(schedule(30)), 6)
        (0.004, 0.1)
        >>> round(float(schedule.momentum(30)), 6)
        0.85
    """

    def __init__(self, max_learning_rate, total_steps, *, warmup_fraction=0.3,
                 initial_divisor=25.0, final_divisor=1e4, max_momentum=0.95,
                 min_momentum=0.85, annealing="cosine", name="OneCycleSchedule"):
        super().__init__()
        positive = {"low": 0, "closed": "neither"}
        self.max_learning_rate = check_real("max_learning_rate", max_learning_rate, **positive)
        self.total_steps = check_int("total_steps", total_steps, minimum=2)
        self.warmup_fraction = check_real("warmup_fraction", warmup_fraction, low=0, high=1,
                                          closed="neither")
        self.initial_divisor = check_real("initial_divisor", initial_divisor, **positive)
        self.final_divisor = check_real("final_divisor", final_divisor, **positive)
        self.max_momentum = check_real("max_momentum", max_momentum, low=0, high=1,
                                       closed="left")
        self.min_momentum = check_real("min_momentum", min_momentum, low=0, high=1,
                                       closed="left")
        if self.min_momentum > self.max_momentum:
            raise ValueError(f"min_momentum ({min_momentum!r}) must not exceed "
                             f"max_momentum ({max_momentum!r})")
        self.annealing = check_choice("annealing", annealing, ANNEALING)
        self.name = check_string("name", name)

    @property
    def initial_learning_rate(self):
        """The learning rate at step 0."""
        return self.max_learning_rate / self.initial_divisor

    @property
    def final_learning_rate(self):
        """The learning rate at step ``total_steps`` and after."""
        return self.initial_learning_rate / self.final_divisor

    @property
    def warmup_steps(self):
        """The step at which the peak is reached, ``warmup_fraction * total_steps``."""
        return self.warmup_fraction * self.total_steps

    def _phases(self, step, warmup_pair, annealing_pair):
        """Interpolate ``warmup_pair`` up to the peak, then ``annealing_pair``, at ``step``."""
        step = keras.ops.cast(step, "float32")
        peak = self.warmup_steps
        warmup = keras.ops.clip(step / peak, 0.0, 1.0)
        annealing = keras.ops.clip((step - peak) / (self.total_steps - peak), 0.0, 1.0)
        return keras.ops.where(
            step <= peak,
            _interpolate(*warmup_pair, warmup, self.annealing),
            _interpolate(*annealing_pair, annealing, self.annealing))

    def __call__(self, step):
        return self._phases(step, (self.initial_learning_rate, self.max_learning_rate),
                            (self.max_learning_rate, self.final_learning_rate))

    def momentum(self, step):
        """The momentum at ``step``: down while the learning rate rises, then back up."""
        return self._phases(step, (self.max_momentum, self.min_momentum),
                            (self.min_momentum, self.max_momentum))

    def get_config(self):
        return {
            "max_learning_rate": self.max_learning_rate, "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction, "initial_divisor": self.initial_divisor,
            "final_divisor": self.final_divisor, "max_momentum": self.max_momentum,
            "min_momentum": self.min_momentum, "annealing": self.annealing, "name": self.name,
        }


class ScheduledHyperparameter(float):
    """A hyperparameter that an optimizer reads as ``function(optimizer.iterations)``.

    Keras 3 optimizers accept a schedule for the learning rate only: they read
    ``momentum`` (SGD, RMSprop) or ``beta_1`` (Adam and its relatives) as a
    plain number inside every update step. An instance of this class stands in
    for that number. When TensorFlow converts it to a tensor, which the update
    step does where it uses it, it gives ``function`` evaluated at the
    optimizer's current step counter, inside the compiled step, so the value is
    right at every step whatever ``steps_per_execution`` is. Arithmetic with it
    (``1 - beta_1``) gives tensors evaluated the same way. Within one traced
    update (the cycled optimizer's ``apply``), all uses share one evaluation
    (``_one_value_per_step``); eagerly, each use evaluates it.

    As a Python float it equals ``function(0)``: that is the value the
    optimizer's ``get_config`` reports. :func:`cycle_momentum` installs it and
    makes the optimizer save its schedule too, so a loaded optimizer cycles again;
    there is no need to build one by hand.
    """

    dtype = "float32"  # lets Keras's ops infer the type without converting it first

    def __new__(cls, function, optimizer):
        start = np.float32(keras.ops.convert_to_numpy(function(0)))
        instance = super().__new__(cls, float(str(start)))  # 0.95, not 0.949999988
        instance.function = function
        instance.optimizer = optimizer
        instance._shared = None  # (graph, tensor) inside _one_value_per_step
        return instance

    @contextlib.contextmanager
    def _one_value_per_step(self):
        """Within the block, a traced update evaluates ``function`` once, not once per use.

        Adam reads ``beta_1`` twice per variable, so a traced step of a 4-layer
        network with Batch Normalization evaluated the schedule 28 times, each
        a dozen graph operations that TensorFlow then traces and optimises: a
        fresh 3-epoch run of :func:`~companion.default_recipe` with Batch
        Normalization on 3,000 images took 5.2 s with one evaluation per use and
        3.5 s with one per step (medians of 8 runs here, same accuracies). The
        step counter advances at the end of each ``apply``, so one evaluation per
        ``apply`` is exact; a graph with two ``apply`` calls (a Python loop over
        updates traced into one function) evaluates it once in each. Outside the
        block, and when running eagerly, each use evaluates it at the current step.
        """
        self._shared = ()
        try:
            yield self
        finally:
            self._shared = None

    def tensor(self):
        """The value at the optimizer's current step, as a float32 tensor."""
        if self._shared is None or tf.executing_eagerly():
            return tf.cast(self.function(self.optimizer.iterations), tf.float32)
        graph = tf.compat.v1.get_default_graph()
        if not self._shared or self._shared[0] is not graph:  # a branch has its own graph
            self._shared = (graph, tf.cast(self.function(self.optimizer.iterations),
                                           tf.float32))
        return self._shared[1]

    def __tf_tensor__(self, dtype=None, name=None):
        value = self.tensor()
        return value if dtype is None else tf.cast(value, dtype)

    def __reduce__(self):  # copies and pickles are plain numbers
        return float, (float(self),)

    def __add__(self, other):
        return self.tensor() + other

    def __radd__(self, other):
        return other + self.tensor()

    def __sub__(self, other):
        return self.tensor() - other

    def __rsub__(self, other):
        return other - self.tensor()

    def __mul__(self, other):
        return self.tensor() * other

    def __rmul__(self, other):
        return other * self.tensor()

    def __truediv__(self, other):
        return self.tensor() / other

    def __rtruediv__(self, other):
        return other / self.tensor()

    def __pow__(self, other):
        return self.tensor() ** other

    def __rpow__(self, other):
        return other ** self.tensor()

    def __neg__(self):
        return -self.tensor()


MOMENTUM_NAMES = ("beta_1", "momentum")


class CycledMomentum:
    """Mixin of the optimizer classes whose momentum :func:`cycle_momentum` cycles.

    It saves the momentum schedule with the optimizer's configuration and cycles
    the momentum again when the optimizer is rebuilt from it, so that a model saved
    with ``.keras`` and loaded, in another process too, resumes training with the
    momentum still following its schedule (a plain optimizer would store and reload
    the momentum's value at step 0 as a constant). :func:`cycle_momentum` turns an
    optimizer into an instance of the matching subclass, e.g. ``CycledNadam`` for
    ``keras.optimizers.Nadam``: still a ``Nadam`` for ``isinstance``, registered
    with Keras as ``companion>CycledNadam``.
    """

    def apply(self, grads, trainable_variables=None):
        momentum = getattr(self, getattr(self, "_momentum_name", ""), None)
        shared = (momentum._one_value_per_step()
                  if isinstance(momentum, ScheduledHyperparameter)
                  else contextlib.nullcontext())  # set to a number since, or never cycled
        with shared:
            return super().apply(grads, trainable_variables)

    def get_config(self):
        config = super().get_config()
        name = self._momentum_name
        config[name] = float(getattr(self, name))
        config["momentum_schedule"] = keras.saving.serialize_keras_object(
            self._momentum_schedule)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        schedule = keras.saving.deserialize_keras_object(config.pop("momentum_schedule"),
                                                         custom_objects=custom_objects)
        optimizer = super().from_config(config, custom_objects=custom_objects)
        return cycle_momentum(optimizer, schedule)


_CYCLED_CLASSES = {}


def cycled_class(base):
    """The subclass of the optimizer class ``base`` that saves its momentum schedule.

    Created and registered with Keras once per class; those of Keras's own
    optimizers with a ``momentum`` or ``beta_1`` exist as soon as this module is
    imported, so that ``keras.models.load_model`` finds them in a new process.

    Example:
        >>> cycled_class(keras.optimizers.Adam).__name__
        'CycledAdam'
    """
    if issubclass(base, CycledMomentum):
        return base
    if base not in _CYCLED_CLASSES:
        cls = type(f"Cycled{base.__name__}", (CycledMomentum, base),
                   {"__module__": __name__,
                    "__doc__": f"``keras.optimizers.{base.__name__}`` whose momentum "
                               "follows a saved schedule (see :class:`CycledMomentum`)."})
        _CYCLED_CLASSES[base] = keras.saving.register_keras_serializable(
            package="companion")(cls)
    return _CYCLED_CLASSES[base]


def _has_momentum(cls):
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False
    return any(name in parameters for name in MOMENTUM_NAMES)


for _optimizer_class in vars(keras.optimizers).values():
    if (isinstance(_optimizer_class, type)
            and issubclass(_optimizer_class, keras.optimizers.Optimizer)
            and _has_momentum(_optimizer_class)):
        cycled_class(_optimizer_class)


def cycle_momentum(optimizer, schedule):
    """Make ``optimizer``'s momentum follow ``schedule.momentum`` at every step.

    The hyperparameter is ``beta_1`` for Adam and its relatives (AdamW, Nadam,
    Adamax, Lion, Lamb) and ``momentum`` for SGD and RMSprop. It is replaced
    by a :class:`ScheduledHyperparameter`, which the optimizer evaluates at its
    own step counter inside each compiled step; so, like a learning-rate
    schedule, it is exact with any ``steps_per_execution``. The optimizer becomes
    an instance of :func:`cycled_class` of its class, which saves ``schedule``
    with its configuration: a model saved with ``.keras`` and loaded (the
    ``schedule`` must be serialisable, as :class:`OneCycleSchedule` is) resumes
    training with the momentum still cycling. (The package's unit tests check the
    cycled SGD and Adam updates against NumPy versions of them at 1, 4 and 32
    steps per execution.)

    Args:
        optimizer: a Keras optimizer with a ``momentum`` or ``beta_1``.
        schedule: an object with a ``momentum(step)`` method, such as the
            :class:`OneCycleSchedule` that drives the optimizer's learning rate.

    Returns:
        The optimizer, for chaining.

    Example:
        >>> schedule = OneCycleSchedule(0.1, total_steps=100)
        >>> sgd = cycle_momentum(keras.optimizers.SGD(schedule, momentum=0.9), schedule)
        >>> float(sgd.momentum)  # its value at step 0
        0.95
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"optimizer must be a keras.optimizers.Optimizer, "
                        f"got {type(optimizer).__name__}")
    if not callable(getattr(schedule, "momentum", None)):
        raise TypeError(f"schedule must have a momentum(step) method, such as "
                        f"OneCycleSchedule; got {type(schedule).__name__}")
    names = [n for n in MOMENTUM_NAMES if isinstance(getattr(optimizer, n, None), float)]
    if not names:
        raise ValueError(f"{type(optimizer).__name__} has no momentum to cycle; valid "
                         f"choices: optimizers with one of the hyperparameters {MOMENTUM_NAMES}")
    name = names[0]
    if name == "momentum" and optimizer.built and not float(optimizer.momentum):
        raise ValueError(f"{type(optimizer).__name__} was built with momentum=0, so it keeps "
                         "no velocity: cycle its momentum before its first step")
    setattr(optimizer, name, ScheduledHyperparameter(schedule.momentum, optimizer))
    # The subclass saves the schedule with the optimizer, so a loaded one cycles too.
    optimizer.__class__ = cycled_class(type(optimizer))
    optimizer._momentum_name = name
    optimizer._momentum_schedule = schedule
    return optimizer


def schedule_values(schedule, steps):
    """Evaluate ``schedule`` (any function of the step) at ``steps``, as a NumPy array.

    Keras's schedules are evaluated on all steps at once where they allow it
    (most do); the others, such as ``CosineDecay`` with warm-up, one step at a
    time inside a compiled ``tf.map_fn``.

    Args:
        schedule: a ``LearningRateSchedule``, a ``momentum`` method, or any
            function of an integer step.
        steps: an integer, meaning ``range(steps)``, or an array of steps.

    Example:
        >>> schedule = keras.optimizers.schedules.ExponentialDecay(1.0, 10, 0.1)
        >>> schedule_values(schedule, [0, 10, 20]).round(6).tolist()
        [1.0, 0.1, 0.01]
    """
    if not callable(schedule):
        raise TypeError(f"schedule must be callable on a step, got {type(schedule).__name__}")
    if isinstance(steps, (numbers.Integral, bool, np.bool_)):
        steps = np.arange(check_int("steps", steps, minimum=1))
    else:
        values = check_array("steps", steps, ndim=1, dtype=None)
        if not np.issubdtype(values.dtype, np.number) or np.any(values < 0) \
                or np.any(values != np.round(values)):
            raise ValueError(f"steps must be an integer >= 1 or a 1-D array of integers "
                             f">= 0, got {steps!r}")
        steps = values.astype(np.int64)
    try:
        values = np.asarray(keras.ops.convert_to_numpy(schedule(steps)), dtype=np.float64)
        if values.shape == steps.shape:
            return values
    except (ValueError, TypeError, tf.errors.InvalidArgumentError):
        pass  # the schedule branches on a single step

    @tf.function
    def each(batch):
        return tf.map_fn(lambda step: tf.cast(schedule(step), tf.float32), batch,
                         fn_output_signature=tf.float32)

    return each(tf.constant(steps)).numpy().astype(np.float64)


@dataclasses.dataclass
class RangeTestResult:
    """What :func:`lr_range_test` returns.

    Attributes:
        history: one row per step: ``learning_rate``, ``loss`` (the loss of that
            batch) and ``smoothed`` (its centred moving average).
        min_loss_rate: the learning rate at the minimum of the smoothed loss.
        suggestion: the suggested learning rate, ``min_loss_rate / 10``.
        stopped_early: whether the test stopped because the loss diverged.
        planned_steps: the number of steps the ramp was laid out over.
    """

    history: pd.DataFrame
    min_loss_rate: float
    suggestion: float
    stopped_early: bool
    planned_steps: int

    @property
    def steps(self):
        """The number of steps actually taken."""
        return len(self.history)

    @property
    def steepest_rate(self):
        """The learning rate (below the minimum) where the smoothed loss falls fastest.

        Measured per factor of the learning rate (the slope against its
        logarithm); an alternative suggestion, more sensitive to noise.
        """
        before = self.history[self.history["learning_rate"] <= self.min_loss_rate]
        if len(before) < 3:
            return float(before["learning_rate"].iloc[0])
        slope = np.gradient(before["smoothed"].to_numpy(),
                            np.log(before["learning_rate"].to_numpy()))
        return float(before["learning_rate"].iloc[int(np.argmin(slope))])


class _RangeTestCallback(keras.callbacks.Callback):
    """Sets the learning rate before each batch and records each batch's own loss.

    Keras passes callbacks the running mean of the loss since the start of the
    epoch; with equal batches, the loss of batch ``i`` (from 0) is recovered as
    ``(i + 1) * mean_i - i * mean_(i-1)``. Training stops when the loss
    diverges, as :func:`lr_range_test` describes.
    """

    def __init__(self, rates, divergence, beta=0.9):
        super().__init__()
        self.rates = rates
        self.divergence = divergence
        self.beta = beta
        self.losses = []
        self.stopped_early = False
        self._previous_mean = 0.0
        self._average = 0.0
        self._start = None
        self._best = math.inf

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = float(self.rates[batch])

    def on_train_batch_end(self, batch, logs=None):
        mean = float(logs["loss"])
        loss = (batch + 1) * mean - batch * self._previous_mean
        self._previous_mean = mean
        self.losses.append(loss)
        # A bias-corrected exponential average guards the stop against one bad batch.
        self._average = self.beta * self._average + (1 - self.beta) * loss
        average = self._average / (1 - self.beta ** (batch + 1))
        self._start = average if self._start is None else self._start
        self._best = min(self._best, average)
        undone = self._best < self._start / 2 and average > self._start
        if not math.isfinite(loss) or average > self.divergence * self._best or undone:
            self.stopped_early = True
            self.model.stop_training = True


def smooth(values, window):
    """Centred moving average of ``values`` over ``window`` points (fewer at the ends).

    Example:
        >>> smooth(np.array([0.0, 3.0, 0.0, 3.0]), 3).tolist()
        [1.5, 1.0, 2.0, 1.5]
    """
    values = np.asarray(values, dtype=np.float64)
    half = max(int(window), 1) // 2
    sums = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(len(values))
    low, high = np.maximum(index - half, 0), np.minimum(index + half + 1, len(values))
    return (sums[high] - sums[low]) / (high - low)


def lr_range_test(model, data, *, optimizer="sgd", min_learning_rate=1e-5,
                  max_learning_rate=10.0, steps=200, batch_size=32,
                  loss="sparse_categorical_crossentropy", divergence=4.0, window=None,
                  seed=None):
    """Train with an exponentially growing learning rate and record the loss of every batch.

    The learning rate of step ``t`` (from 0) is ``min_learning_rate * (max_learning_rate
    / min_learning_rate) ** (t / (steps - 1))``. The test stops early when the
    loss diverges: when a batch's loss is not finite, when the loss's
    exponential average (factor 0.9, bias-corrected) exceeds ``divergence``
    times its lowest value so far, or when the average, having fallen below
    half its starting value, climbs back above it (whatever was learnt is lost).

    **Suggestion rule.** The per-batch losses are smoothed with a centred
    moving average over ``window`` steps; the suggested learning rate is one
    tenth of the rate at which the smoothed loss is lowest. At that minimum the
    loss has just stopped improving because the steps are becoming too large; a
    factor of ten below it, training still makes fast progress and stays clear
    of the unstable region.

    **Per-batch loss.** Keras hands callbacks the running mean of the loss over
    the epoch, not the loss of the batch. The test undoes the mean: all batches
    being the same size, the loss of batch ``i`` (from 0) is ``(i + 1) * mean_i
    - i * mean_(i-1)``. Each recorded loss is thus that of its own batch,
    computed in the forward pass before the step.

    **Nothing is lost.** The model's weights and the optimizer's variables
    (step counter, learning rate, momentum or moment estimates) are copied
    before the test and restored after it, even when it fails. The model is
    left compiled with ``optimizer`` and ``loss``; :func:`companion.train`
    compiles it again for training.

    The test compiles with ``steps_per_execution=1``: it sets the learning rate
    and reads the loss at every step, and batch callbacks run only once per
    execution.

    Args:
        model: a built Keras model.
        data: an object with ``x_train`` and ``y_train``, such as
            :func:`companion.load_fashion_mnist` returns.
        optimizer: a Keras optimizer name or instance with a float learning rate.
        min_learning_rate: the rate of the first step.
        max_learning_rate: the rate of the last planned step.
        steps: the planned number of steps, >= 10. The training examples are
            taken in the order of ``numpy.random.default_rng(seed).permutation``,
            with a new permutation each time ``steps * batch_size`` exhausts them.
        batch_size: examples per step.
        loss: the loss to compile with.
        divergence: stop when the averaged loss exceeds this multiple of its minimum.
        window: the smoothing window; by default 5% of ``steps`` (at least 5).
        seed: seeds the order of the examples; ``None`` draws that seed from
            NumPy's global random state (which :func:`companion.setup` seeds).

    Returns:
        A :class:`RangeTestResult`.

    Example:
        >>> result = lr_range_test(build_mlp(), data, steps=100)  # doctest: +SKIP
        >>> result.suggestion  # doctest: +SKIP
        0.09
    """
    check_model("model", model, built=True)
    check_attributes("data", data, ("x_train", "y_train"), what="a data set")
    optimizer = make_optimizer(optimizer)
    if not isinstance(optimizer.learning_rate, keras.Variable):
        raise ValueError("the range test sets the learning rate at each step, so the optimizer "
                         "needs a float learning rate, not a schedule or a callable")
    low = check_real("min_learning_rate", min_learning_rate, low=0, closed="neither")
    high = check_real("max_learning_rate", max_learning_rate, low=0, closed="neither")
    if not low < high:
        raise ValueError(f"min_learning_rate ({low}) must be below max_learning_rate ({high})")
    steps = check_int("steps", steps, minimum=10)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    divergence = check_real("divergence", divergence, low=1, closed="neither")
    window = max(5, round(0.05 * steps)) if window is None else check_int("window", window,
                                                                           minimum=1)
    seed = np.random.randint(2**31 - 1) if seed is None else check_int("seed", seed, minimum=0)
    n = len(data.x_train)
    if n == 0 or len(data.y_train) != n:
        raise ValueError(f"data must hold training examples with one label each, got "
                         f"{n} images and {len(data.y_train)} labels")

    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(n) for _ in range(-(-steps * batch_size // n))])
    order = order[:steps * batch_size]
    ramp = keras.optimizers.schedules.ExponentialDecay(low, steps - 1, high / low)
    rates = schedule_values(ramp, steps)

    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    saved_weights = [w.numpy() for w in model.weights]
    saved_state = [v.numpy() for v in optimizer.variables]
    recorder = _RangeTestCallback(rates, divergence)
    try:
        model.compile(optimizer=optimizer, loss=loss, steps_per_execution=1)
        build_for_fit(model, data.x_train, data.y_train)  # one trace, not two
        model.fit(data.x_train[order], data.y_train[order], batch_size=batch_size, epochs=1,
                  shuffle=False, callbacks=[recorder], verbose=0)
    finally:
        for weight, value in zip(model.weights, saved_weights):
            weight.assign(value)
        for variable, value in zip(optimizer.variables, saved_state):
            variable.assign(value)

    losses = np.asarray(recorder.losses, dtype=np.float64)
    history = pd.DataFrame({"learning_rate": rates[:len(losses)], "loss": losses})
    finite = history[np.isfinite(history["loss"])].copy()
    history["smoothed"] = np.nan
    history.loc[finite.index, "smoothed"] = smooth(finite["loss"], window)
    history.index.name = "step"
    best = history["smoothed"].idxmin()
    min_loss_rate = float(history.loc[best, "learning_rate"])
    return RangeTestResult(history=history, min_loss_rate=min_loss_rate,
                           suggestion=min_loss_rate / 10, stopped_early=recorder.stopped_early,
                           planned_steps=steps)
