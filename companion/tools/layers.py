"""Custom Keras layers the lessons need and Keras lacks (every one serialisable), and
:func:`reinitialize`, which re-draws a compiled model's layers without a new trace."""

import random
import threading

import numpy as np

from companion._quiet import keras, tf  # noqa: F401
from companion.tools.checks import check_int, check_real


def _check_slopes(lower, upper):
    lower = check_real("lower", lower, low=0)
    upper = check_real("upper", upper, low=0)
    if not lower <= upper:
        raise ValueError(f"need 0 <= lower <= upper, got lower={lower!r}, upper={upper!r}")
    return lower, upper


def layer_seed(seed, *, draws=True):
    """The seed a random layer keeps and saves: ``seed``, or one drawn now if ``None``.

    Keras's ``SeedGenerator(None)`` draws its seed from Python's global random state
    (which ``keras.utils.set_random_seed`` and :func:`companion.setup` seed) but the
    layer's config keeps ``None``, so a saved and loaded layer draws another one and
    its samples change. Drawing the same number here, the way Keras would
    (``random.randint(1, 10**9)``, so the global random state advances as before),
    keeps it in the config. ``draws=False`` (a layer with nothing to draw, such as a
    dropout rate of 0) leaves ``None``.

    Example:
        >>> layer_seed(np.int64(7))
        7
    """
    if seed is None:
        return random.randint(1, int(1e9)) if draws else None
    return check_int("seed", seed, minimum=0)


@keras.saving.register_keras_serializable(package="companion")
class RReLU(keras.layers.Layer):
    """Randomised leaky ReLU: a random negative slope while training, its mean at inference.

    While training, each element ``x < 0`` is multiplied by its own slope drawn
    uniformly from ``[lower, upper]`` (a fresh draw at every call); positive
    elements pass unchanged. At inference the slope is the mean of that
    distribution, ``(lower + upper) / 2``, so the layer is a leaky ReLU.
    Keras has no such layer; the defaults are those of Xu et al. (2015),
    slopes between 1/8 and 1/3.

    Args:
        lower, upper: the range of the negative slope, ``0 <= lower <= upper``.
        seed: seed of the layer's random generator, saved with the layer; ``None``
            draws one from the global random state (:func:`layer_seed`).

    Example:
        >>> layer = RReLU(lower=0.1, upper=0.3)
        >>> [round(float(v), 6) for v in layer(np.array([-1.0, 2.0]), training=False)]
        [-0.2, 2.0]
    """

    def __init__(self, lower=1 / 8, upper=1 / 3, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper = _check_slopes(lower, upper)
        self.seed = layer_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    @property
    def mean_slope(self):
        """The slope used at inference, ``(lower + upper) / 2``."""
        return (self.lower + self.upper) / 2

    def call(self, inputs, training=False):
        inputs = keras.ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if training:
            slope = keras.random.uniform(keras.ops.shape(inputs), minval=self.lower,
                                         maxval=self.upper, dtype=inputs.dtype,
                                         seed=self.seed_generator)
        else:
            slope = keras.ops.cast(self.mean_slope, inputs.dtype)
        return keras.ops.where(inputs >= 0, inputs, slope * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"lower": self.lower, "upper": self.upper, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="companion")
class MCDropout(keras.layers.Dropout):
    """Dropout that stays on at prediction time too (Monte Carlo Dropout).

    It ignores the ``training`` flag: every call draws a fresh mask, so that
    repeated predictions differ and their spread measures the model's
    uncertainty. :func:`companion.mc_dropout_model` swaps it in for every
    ``Dropout`` of a trained model, keeping the weights.

    Args:
        rate: the fraction of units dropped, in [0, 1).
        noise_shape: as for ``keras.layers.Dropout``.
        seed: seed of the masks, saved with the layer, so that a loaded model draws
            the same masks; ``None`` draws one from the global random state
            (:func:`layer_seed`), so the masks follow the seed of
            :func:`companion.setup`.

    Example:
        >>> layer = MCDropout(0.5, seed=0)
        >>> x = np.ones((1, 1000), dtype="float32")
        >>> [float(v) for v in np.unique(layer(x, training=False))]  # 0 or 1/(1-rate)
        [0.0, 2.0]
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        rate = check_real("rate", rate, low=0, high=1, closed="left")
        super().__init__(rate, noise_shape=noise_shape, seed=layer_seed(seed, draws=rate > 0),
                         **kwargs)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


@keras.saving.register_keras_serializable(package="companion")
class MCAlphaDropout(keras.layers.AlphaDropout):
    """AlphaDropout that stays on at prediction time too (Monte Carlo AlphaDropout).

    The SELU counterpart of :class:`MCDropout`: dropped units are set to SELU's
    negative saturation value and the result is rescaled to keep the mean and
    variance, whatever the ``training`` flag.

    Args:
        rate, noise_shape, seed: as for :class:`MCDropout`.

    Example:
        >>> layer = MCAlphaDropout(0.1, seed=0)
        >>> x = np.zeros((2, 1000), dtype="float32")
        >>> bool(np.any(layer(x).numpy() != 0))
        True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        rate = check_real("rate", rate, low=0, high=1, closed="left")
        super().__init__(rate, noise_shape=noise_shape, seed=layer_seed(seed, draws=rate > 0),
                         **kwargs)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


def _leaf_layers(layer):
    inner = getattr(layer, "layers", None)
    if inner is None:
        return [layer]
    return [leaf for sub in inner for leaf in _leaf_layers(sub)]


def _redrawn(layer, variable):
    initializer = getattr(layer, f"{variable.name}_initializer", None)
    if initializer is None:
        raise TypeError(
            f"reinitialize: layer {layer.name!r} has no {variable.name}_initializer for its "
            f"variable {variable.name!r}; only layers that keep one initializer per weight "
            "(Dense, BatchNormalization, ...) can be re-drawn")
    config = initializer.get_config()
    if "seed" in config:  # a random initializer: draw its seed as an unseeded layer would
        config["seed"] = None
    return type(initializer).from_config(config)


def _initial_state(optimizer, variables):
    """The values ``optimizer``'s variables had when it was built, from a fresh twin.

    Not all start at zero (Nadam's running product of momentum factors starts at 1),
    so the twin, built from the same configuration on the same variables, says.
    """
    try:
        twin = type(optimizer).from_config(optimizer.get_config())
    except (TypeError, ValueError, NotImplementedError) as error:
        raise ValueError(
            f"reinitialize rebuilds {type(optimizer).__name__} from its configuration to "
            f"learn its starting state, and that failed ({type(error).__name__}: {error}); "
            "a schedule needs get_config() and, if it is your own class, "
            "@keras.saving.register_keras_serializable()") from None
    twin.build(variables)
    if [tuple(v.shape) for v in twin.variables] != [tuple(v.shape) for v in optimizer.variables]:
        raise ValueError(f"reinitialize: a fresh {type(optimizer).__name__} built on this "
                         "model's variables does not have the optimizer's variables; "
                         "compile the model again")
    return [v.numpy() for v in twin.variables]


def _optimizer_restart(model, learning_rate=None):
    """Check that ``model``'s optimizer can restart; return the function that restarts it.

    The restart is :func:`reinitialize`'s. Everything that could fail is checked here,
    so that a caller can check before it changes anything. The optimizer's
    variables return to a freshly built twin's values, and a float learning rate
    becomes ``learning_rate`` unless that is ``None``.
    """
    optimizer = model.optimizer
    rate = optimizer._learning_rate  # a Variable, or a schedule / callable
    scheduled = isinstance(rate, keras.optimizers.schedules.LearningRateSchedule)
    if not (scheduled or isinstance(rate, keras.Variable)):
        raise ValueError(
            "reinitialize needs an optimizer whose learning rate is a float or a "
            f"keras.optimizers.schedules.LearningRateSchedule; this one's is "
            f"{type(rate).__name__}, which a restart cannot rewind")
    if learning_rate is not None:
        learning_rate = check_real("learning_rate", learning_rate, low=0, closed="right")
        if scheduled:
            raise ValueError(
                f"learning_rate={learning_rate!r} cannot replace this optimizer's schedule "
                f"({type(rate).__name__}); pass learning_rate=None to restart the schedule")
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    initial = _initial_state(optimizer, model.trainable_variables)

    def restart():
        for variable, value in zip(optimizer.variables, initial):
            if variable is not rate:
                variable.assign(value)
        if learning_rate is not None:
            rate.assign(learning_rate)
    return restart


_SEEDING = threading.Lock()  # one shadowed context method at a time
_ABSENT = object()


def _set_random_seed_keeping_compiled(seed):
    """``keras.utils.set_random_seed(seed)``, but TensorFlow keeps its compiled functions.

    ``tf.random.set_seed`` also clears TensorFlow's cache of instantiated kernels and
    functions, so that stateful random kernels restart their sequences; a kept model's
    compiled train and test steps are then instantiated and optimised (Grappler) again
    at their next call. For a kept 4-layer network with Batch Normalization under
    1cycle AdamW (3,000 images, batch 128) the first epoch of a run took 1.0 s that way
    and 0.15 s, as long as the later epochs, with the cache kept (medians of 10 runs
    each here; same accuracies). Keras's layers draw from their own generators (which
    :func:`reinitialize` restarts) through stateless operations, so a Keras training
    step holds no stateful kernel to restart. The global seed and the sequence of
    operation seeds drawn from it are set as ``tf.random.set_seed`` sets them, but
    TensorFlow's stateful random operations (``tf.random.uniform`` and the like, seeded
    or not, eager or inside a ``tf.function`` of your own) continue their sequences
    instead of restarting: their draws after this call differ from those after
    ``keras.utils.set_random_seed(seed)``. Where TensorFlow's context lacks the
    attributes this relies on, ``keras.utils.set_random_seed`` runs unchanged.
    """
    from tensorflow.python.eager import context as eager_context  # no public handle

    context = eager_context.context()
    if not (callable(getattr(context, "_set_global_seed", None)) and hasattr(context, "_rng")):
        keras.utils.set_random_seed(seed)
        return

    def set_global_seed(value):  # TensorFlow's, without TFE_ContextClearCaches
        context._seed = value
        context._rng = random.Random(value)

    with _SEEDING:
        shadowed = context.__dict__.get("_set_global_seed", _ABSENT)
        context._set_global_seed = set_global_seed  # for this call only
        try:
            keras.utils.set_random_seed(seed)
        finally:
            if shadowed is _ABSENT:
                del context._set_global_seed
            else:
                context._set_global_seed = shadowed


def reinitialize(model, *, seed, learning_rate=None):
    """Re-draw a compiled model's weights and reset its optimizer, keeping its traced steps.

    Compiling a model again, or building a new one, makes ``fit`` trace its train step
    anew, which for a deep model costs seconds per run. This puts ``model`` back in the
    state of a fresh start instead: after ``keras.utils.set_random_seed(seed)``, every
    weight is re-drawn from its own layer's initializer (``kernel_initializer``,
    ``moving_variance_initializer`` ...), each random initializer drawing its seed the
    way an unseeded layer does when it is constructed, so the weights equal those of
    the same architecture built after ``keras.utils.set_random_seed(seed)`` from
    unseeded Keras initializers. (A model whose construction draws other seeds, as
    :func:`companion.build_mlp` does, gets other draws from the same distributions.)
    The random generators of Keras layers such as ``Dropout`` restart too, from their
    own seed or, unseeded, from one drawn in layer order as at construction, so their
    masks depend on ``seed`` alone, not on the model's past. (So the weights of a
    model with dropout layers are not those of the same model without them: the
    generators' draws come between the kernels'. The companion's ``RReLU``,
    ``MCDropout`` and ``MCAlphaDropout`` fix their seed when they are built and restart
    from it.) Batch-normalisation statistics return to their initial
    values with the rest. The optimizer's variables (the step count, momentum and
    moment estimates, Nadam's product of momentum factors) return to the values a
    freshly built optimizer of the same configuration starts from, so a
    learning-rate schedule, and a momentum cycled with it
    (:func:`~companion.cycle_momentum`), restart at their first step. A float
    learning rate becomes ``learning_rate`` unless that is ``None``. ``fit`` then
    reuses ``model.train_function``; train with ``compile=False``
    (:func:`companion.train`), since compiling discards it. TensorFlow gets the global
    seed and the sequence of operation seeds that ``keras.utils.set_random_seed(seed)``
    gives it, but keeps its compiled functions, which that call would discard (the
    first epoch of a kept 4-layer network with Batch Normalization took 1.0 s with them
    discarded, 0.15 s with them kept). So TensorFlow's stateful random operations of
    your own (``tf.random.uniform`` and the like, seeded or not) continue their
    sequences instead of restarting; Keras's layers use stateless ones.

    Args:
        model: a built, compiled Keras model whose optimizer's learning rate is a
            float or a serialisable ``LearningRateSchedule`` (one with
            ``get_config``, registered if it is your own class); a callable rate is
            refused.
        seed: the random seed, an integer >= 0.
        learning_rate: the new learning rate, > 0, for an optimizer whose rate is a
            float; ``None`` keeps the current rate or schedule.

    Returns:
        ``model``.

    Example:
        >>> net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> net.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
        >>> first = reinitialize(net, seed=4).get_weights()[0]
        >>> second = reinitialize(net, seed=4, learning_rate=0.01).get_weights()[0]
        >>> bool(np.array_equal(first, second)), round(float(net.optimizer.learning_rate), 6)
        (True, 0.01)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not model.built or not getattr(model, "compiled", False):
        raise ValueError(f"reinitialize needs a built, compiled model; {model.name!r} is not")
    seed = check_int("seed", seed, minimum=0)
    restart_optimizer = _optimizer_restart(model, learning_rate)  # checked before any change
    _set_random_seed_keeping_compiled(seed)
    for layer in _leaf_layers(model):
        for generator in getattr(layer, "_seed_generators", ()):  # dropout masks
            start = generator._initial_seed  # None: drawn, as at construction
            start = random.randint(1, 10**9) if start is None else start  # as Keras does
            generator.state.assign(np.array([start, 0], dtype=generator.state.dtype))
        for variable in layer.weights:
            draw = _redrawn(layer, variable)
            variable.assign(draw(variable.shape, dtype=variable.dtype))
    restart_optimizer()
    return model
