"""Custom Keras layers the lessons need and Keras lacks; every one is serialisable."""

import numpy as np  # noqa: F401  (doctest namespace)

from companion._quiet import keras, tf  # noqa: F401


def _check_slopes(lower, upper):
    for name, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
    if not 0 <= lower <= upper:
        raise ValueError(f"need 0 <= lower <= upper, got lower={lower!r}, upper={upper!r}")


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
        seed: seed of the layer's random generator (``None``: unseeded).

    Example:
        >>> layer = RReLU(lower=0.1, upper=0.3)
        >>> [round(float(v), 6) for v in layer(np.array([-1.0, 2.0]), training=False)]
        [-0.2, 2.0]
    """

    def __init__(self, lower=1 / 8, upper=1 / 3, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_slopes(lower, upper)
        self.lower = float(lower)
        self.upper = float(upper)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
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

    Example:
        >>> layer = MCDropout(0.5, seed=0)
        >>> x = np.ones((1, 1000), dtype="float32")
        >>> [float(v) for v in np.unique(layer(x, training=False))]  # 0 or 1/(1-rate)
        [0.0, 2.0]
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


@keras.saving.register_keras_serializable(package="companion")
class MCAlphaDropout(keras.layers.AlphaDropout):
    """AlphaDropout that stays on at prediction time too (Monte Carlo AlphaDropout).

    The SELU counterpart of :class:`MCDropout`: dropped units are set to SELU's
    negative saturation value and the result is rescaled to keep the mean and
    variance, whatever the ``training`` flag.

    Example:
        >>> layer = MCAlphaDropout(0.1, seed=0)
        >>> x = np.zeros((2, 1000), dtype="float32")
        >>> bool(np.any(layer(x).numpy() != 0))
        True
    """

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)
