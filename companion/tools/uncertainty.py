"""MC Dropout: keep dropout on at prediction time and average many stochastic passes.

A network trained with dropout can be asked the same question many times, each
time with a different random subset of its units switched off. The mean of the
answers is usually a better prediction than the single answer of the full
network, and their spread says how sure the network is (Gal and Ghahramani,
2016). Nothing needs retraining: :func:`mc_dropout_model` copies a trained
model, replacing each ``Dropout`` and ``AlphaDropout`` layer by an always-on twin
(:class:`companion.tools.layers.MCDropout`, :class:`companion.tools.layers.MCAlphaDropout`),
while every other layer, batch normalisation included, stays in inference mode.
:func:`mc_predict` then draws the samples in large vectorised batches.
"""

import numpy as np

from companion._quiet import keras, tf
from companion.tools.checks import check_inputs, check_int, check_model
from companion.tools.layers import MCAlphaDropout, MCDropout

MC_LAYERS = (MCDropout, MCAlphaDropout)
DEFAULT_BATCH_SIZE = 16_384


def _mc_twin(layer):
    """The always-on twin of a dropout layer; a plain copy of any other layer."""
    config = layer.get_config()
    if isinstance(layer, MC_LAYERS):
        return layer.__class__.from_config(config)
    if type(layer) is keras.layers.AlphaDropout:
        return MCAlphaDropout.from_config(config)
    if type(layer) is keras.layers.Dropout:
        return MCDropout.from_config(config)
    if isinstance(layer, (keras.layers.Dropout, keras.layers.AlphaDropout)):
        raise ValueError(f"layer {layer.name!r} is a {type(layer).__name__}, which MC "
                         "Dropout does not support; supported: Dropout, AlphaDropout")
    return layer.__class__.from_config(config)


def mc_dropout_model(model):
    """A copy of ``model`` whose dropout layers stay on at prediction time.

    Every ``keras.layers.Dropout`` becomes an :class:`~companion.tools.layers.MCDropout`
    and every ``keras.layers.AlphaDropout`` an
    :class:`~companion.tools.layers.MCAlphaDropout` with the same rate; the other layers
    are copied unchanged, models nested inside ``model`` are copied the same way,
    and all weights (batch-norm statistics included) are copied over. The original model is left as it was. Calling the copy, even
    with ``training=False``, draws fresh dropout masks, while batch normalisation
    keeps using its moving statistics. A model without dropout gives a
    deterministic copy.

    Args:
        model: a built Keras ``Sequential`` or functional model.

    Returns:
        The new model (uncompiled).

    Example:
        >>> from companion.lab.models import build_mlp
        >>> net = mc_dropout_model(build_mlp(depth=1, width=8, dropout=0.5))
        >>> [type(layer).__name__ for layer in net.layers]
        ['Flatten', 'Dense', 'MCDropout', 'Dense']
    """
    check_model("model", model, built=True)
    clone = keras.models.clone_model(model, clone_function=_mc_twin, recursive=True)
    clone.set_weights(model.get_weights())
    return clone


def has_mc_layers(model):
    """Whether ``model`` contains an always-on dropout layer (at any depth)."""
    return any(isinstance(layer, MC_LAYERS) for layer in model._flatten_layers())


def _split(model):
    """Deterministic prefix and stochastic suffix of an MC model's layers.

    In a ``Sequential`` model, the layers before the first always-on dropout are
    deterministic: they run once per example, and only their output is tiled.
    Any other model is tiled at its input.
    """
    if isinstance(model, keras.Sequential):
        layers = list(model.layers)
        first = next((i for i, layer in enumerate(layers) if isinstance(layer, MC_LAYERS)),
                     len(layers))
        return layers[:first], layers[first:]
    return [], [model]


class _Sampler:
    """Compiled functions that draw ``reps`` stochastic passes of a batch at once."""

    def __init__(self, model):
        self.prefix, self.suffix = _split(model)
        self.run_prefix = tf.function(self._prefix, reduce_retracing=True)
        self.draw = tf.function(self._draw, reduce_retracing=True)
        self.stats = tf.function(self._stats, reduce_retracing=True)

    def _prefix(self, x):
        for layer in self.prefix:
            x = layer(x, training=False)
        return x

    def _draw(self, h, reps):
        batch = tf.shape(h)[0]
        multiples = tf.concat([[reps], tf.ones([tf.rank(h) - 1], tf.int32)], axis=0)
        out = tf.tile(h, multiples)  # sample-major: rows [s * batch + i]
        for layer in self.suffix:
            out = layer(out, training=False)
        return tf.reshape(out, tf.concat([[reps, batch], tf.shape(out)[1:]], axis=0))

    def _stats(self, h, reps, reference):
        diff = tf.cast(self._draw(h, reps), tf.float64) - reference
        return tf.reduce_sum(diff, axis=0), tf.reduce_sum(tf.square(diff), axis=0)


def _check(model, x, n_samples, batch_size):
    n_samples = check_int("n_samples", n_samples, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_model("model", model, built=True)
    x = check_inputs("x", x, model)
    net = model if has_mc_layers(model) else mc_dropout_model(model)
    return net, x, n_samples, batch_size


def _chunks(n_examples, n_samples, batch_size):
    """Examples per call and samples per call so that one call holds ~batch_size rows."""
    per_call = max(1, min(n_examples, batch_size // n_samples))
    reps = max(1, min(n_samples, batch_size // per_call))
    return per_call, reps


def mc_samples(model, x, *, n_samples=100, batch_size=DEFAULT_BATCH_SIZE):
    """All ``n_samples`` stochastic predictions of every example, as one array.

    Args:
        model: a trained model with ``Dropout``/``AlphaDropout`` layers (it is
            converted with :func:`mc_dropout_model`), or a model already made of
            always-on layers.
        x: the inputs, one example per row.
        n_samples: passes per example, >= 1.
        batch_size: rows of one forward pass (examples times samples).

    Returns:
        An array of shape ``(n_samples, len(x), *output_shape)``. It holds
        ``n_samples`` times the predictions; for large inputs prefer
        :func:`mc_predict`, which keeps only their mean and spread.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> net = build_mlp(depth=1, width=8, dropout=0.5, example_shape=(4,))
        >>> mc_samples(net, np.ones((3, 4)), n_samples=5).shape
        (5, 3, 10)
    """
    net, x, n_samples, batch_size = _check(model, x, n_samples, batch_size)
    sampler = _Sampler(net)
    per_call, reps = _chunks(len(x), n_samples, batch_size)
    blocks = []
    for start in range(0, len(x), per_call):
        h = sampler.run_prefix(tf.constant(x[start:start + per_call]))
        draws, done = [], 0
        while done < n_samples:
            k = min(reps, n_samples - done)
            draws.append(sampler.draw(h, tf.constant(k)).numpy())
            done += k
        blocks.append(np.concatenate(draws, axis=0))
    return np.concatenate(blocks, axis=1)


def mc_predict(model, x, *, n_samples=100, batch_size=DEFAULT_BATCH_SIZE):
    """Mean and standard deviation of ``n_samples`` MC Dropout predictions per example.

    The model is first converted with :func:`mc_dropout_model` (unless it already
    has always-on dropout layers), so dropout is active and everything else, such
    as batch normalisation, is in inference mode. Each compiled call tiles a block
    of examples ``reps`` times and sends all copies through the network at once,
    so that about ``batch_size`` rows go through per call; in a ``Sequential``
    model the layers before the first dropout run only once per example. The
    statistics are accumulated in float64, shifted by each example's first
    sample, so a deterministic model gives a standard deviation of 0 up to float32
    rounding: the copies of an example sit at other positions of batches of other
    shapes, where the kernels may sum a dot product in another order (a few units
    in the last place, e.g. 3e-8 on probabilities), so do not expect it bitwise.

    Args:
        model: as for :func:`mc_samples`.
        x: the inputs, one example per row.
        n_samples: passes per example, >= 1.
        batch_size: rows of one forward pass (examples times samples).

    Returns:
        ``(mean, std)``: float64 arrays of shape ``(len(x), *output_shape)``;
        ``std`` is the population standard deviation over the samples (divided
        by ``n_samples``). For a softmax output, ``mean`` holds probabilities.

    Example:
        >>> from companion.lab.models import build_mlp
        >>> net = build_mlp(depth=1, width=8, dropout=0.5, example_shape=(4,))
        >>> mean, std = mc_predict(net, np.ones((3, 4)), n_samples=20)
        >>> mean.shape, bool(np.allclose(mean.sum(axis=1), 1))
        ((3, 10), True)
    """
    net, x, n_samples, batch_size = _check(model, x, n_samples, batch_size)
    sampler = _Sampler(net)
    per_call, reps = _chunks(len(x), n_samples, batch_size)
    means, stds = [], []
    for start in range(0, len(x), per_call):
        h = sampler.run_prefix(tf.constant(x[start:start + per_call]))
        reference = tf.cast(sampler.draw(h, tf.constant(1))[0], tf.float64)
        total = tf.zeros_like(reference)
        squares = tf.zeros_like(reference)
        done = 1  # the reference is the first sample; its deviation is 0
        while done < n_samples:
            k = min(reps, n_samples - done)
            s, s2 = sampler.stats(h, tf.constant(k), reference)
            total, squares = total + s, squares + s2
            done += k
        shift = total.numpy() / n_samples
        means.append(reference.numpy() + shift)
        stds.append(np.sqrt(np.maximum(squares.numpy() / n_samples - shift**2, 0.0)))
    return np.concatenate(means), np.concatenate(stds)
