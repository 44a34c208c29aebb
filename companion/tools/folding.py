"""Folding inference-mode Batch Normalization into neighbouring Dense layers.

At inference a ``BatchNormalization`` layer uses its moving statistics, so it is
a fixed affine map of each feature, ``y = s * x + c`` with
``s = gamma / sqrt(moving_variance + epsilon)`` and ``c = beta - moving_mean * s``.
An affine map next to a Dense layer can be merged into the Dense layer's kernel
and bias, which removes the BN layer and its cost from the inference model.
"""

import numpy as np

from companion._quiet import keras
from companion.tools.checks import check_bool, check_model

# Layers that are the identity at inference: a BN map may be carried across them.
_IDENTITY_AT_INFERENCE = (keras.layers.Dropout, keras.layers.AlphaDropout,
                          keras.layers.GaussianDropout, keras.layers.GaussianNoise,
                          keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
                          keras.layers.SpatialDropout3D)


def batch_norm_affine(layer):
    """The inference-mode map of a BatchNormalization layer as ``(scale, shift)``.

    ``layer(x, training=False)`` equals ``x * scale + shift`` along the layer's
    axis, computed in float64.

    Example:
        >>> bn = keras.layers.BatchNormalization()
        >>> bn.build((None, 3))
        >>> scale, shift = batch_norm_affine(bn)  # gamma=1, beta=0, mean=0, var=1
        >>> np.round(scale, 4).tolist(), shift.tolist()
        ([0.9995, 0.9995, 0.9995], [0.0, 0.0, 0.0])
    """
    if not isinstance(layer, keras.layers.BatchNormalization):
        raise TypeError(f"layer must be a BatchNormalization layer, got "
                        f"{type(layer).__name__} {getattr(layer, 'name', layer)!r}")
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} is not built: it has no statistics yet")
    mean = np.asarray(layer.moving_mean, dtype=np.float64)
    var = np.asarray(layer.moving_variance, dtype=np.float64)
    gamma = np.asarray(layer.gamma, dtype=np.float64) if layer.scale else 1.0
    beta = np.asarray(layer.beta, dtype=np.float64) if layer.center else 0.0
    scale = gamma / np.sqrt(var + layer.epsilon) * np.ones_like(mean)
    return scale, beta - mean * scale


def _is_linear(dense):
    return dense.activation in (keras.activations.linear, None)


def _check_axis(layer):
    rank = len(layer.input.shape)
    if layer.axis not in (-1, rank - 1):
        raise ValueError(
            f"cannot fold BatchNormalization layer {layer.name!r}: it normalises "
            f"axis {layer.axis} of a rank-{rank} input, and only the last axis "
            f"(-1, the one a Dense layer's units lie along) can be folded")


class _Dense:
    """A Dense layer being rewritten: its config, kernel and bias in float64."""

    def __init__(self, layer):
        self.config = layer.get_config()
        self.kernel = np.asarray(layer.kernel, dtype=np.float64)
        units = self.kernel.shape[-1]
        self.bias = (np.asarray(layer.bias, dtype=np.float64) if layer.use_bias
                     else np.zeros(units))
        self.linear = _is_linear(layer)

    def build(self):
        config = dict(self.config, use_bias=True)
        layer = keras.layers.Dense.from_config(config)
        layer.build((None, self.kernel.shape[0]))
        layer.set_weights([self.kernel.astype(np.float32), self.bias.astype(np.float32)])
        return layer


def _clone(layer):
    copy = layer.__class__.from_config(layer.get_config())
    weights = layer.get_weights()
    if weights:
        copy.build(layer.input.shape)
        copy.set_weights(weights)
    return copy


def fold_batch_norm(model, *, merge_activations=True):
    """Return a copy of ``model`` with every BatchNormalization folded into a Dense layer.

    Each BN layer, in inference mode, is the affine map ``x * s + c`` (see
    :func:`batch_norm_affine`). Two placements fold:

    * **BN after a linear Dense** (``Dense(use_bias=False) -> BN -> activation``,
      the "before the activation" placement): the Dense layer becomes
      ``kernel * s`` with bias ``(bias - mean) * s + beta``;
    * **BN before a Dense** (``Dense(activation) -> BN -> Dense``, the "after
      the activation" placement): the map is pushed into the *next* Dense layer,
      ``kernel' = s[:, None] * kernel`` and ``bias' = c @ kernel + bias``,
      across any layers that are the identity at inference (Dropout and
      relatives), which are kept.

    With ``merge_activations``, a linear Dense layer directly followed by an
    ``Activation`` layer absorbs that activation. The returned model is new
    (no layer is shared with ``model``) and gives the same outputs as
    ``model(x, training=False)`` up to float32 rounding; it is meant for
    inference, not for further training.

    Args:
        model: a built ``keras.Sequential`` model.
        merge_activations: fuse ``Dense(linear) -> Activation`` pairs.

    Raises:
        ValueError: for a model that is not Sequential, a nested model, or a BN
            layer that cannot be folded (normalising an axis other than the
            last, or with no Dense layer it can be merged into); the message
            names the layer and the reason.

    Example:
        >>> model = build_mlp(depth=2, width=8, batch_norm="before")  # doctest: +SKIP
        >>> [layer.name for layer in fold_batch_norm(model).layers]  # doctest: +SKIP
        ['flatten', 'hidden_1', 'hidden_2', 'output']
    """
    check_model("model", model)
    merge_activations = check_bool("merge_activations", merge_activations)
    if not isinstance(model, keras.Sequential):
        raise ValueError(
            f"fold_batch_norm supports keras.Sequential models, got "
            f"{type(model).__name__} {model.name!r}; a branching model has no single "
            "preceding or following layer to fold a BN layer into")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: give it a keras.Input "
                         "or call it on data first")
    ops = []          # _Dense instances and cloned layers, in order
    pending = None    # (scale, shift, bn name) waiting for the next Dense
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            raise ValueError(f"cannot fold nested model {layer.name!r}: flatten it "
                             "into one Sequential model first")
        if isinstance(layer, keras.layers.BatchNormalization):
            _check_axis(layer)
            scale, shift = batch_norm_affine(layer)
            previous = ops[-1] if ops else None
            if pending is None and isinstance(previous, _Dense) and previous.linear:
                previous.kernel = previous.kernel * scale
                previous.bias = previous.bias * scale + shift
            elif pending is not None:  # BN -> BN: compose the two maps
                old_scale, old_shift, name = pending
                pending = (old_scale * scale, old_shift * scale + shift, name)
            else:
                pending = (scale, shift, layer.name)
        elif isinstance(layer, keras.layers.Dense):
            dense = _Dense(layer)
            if pending is not None:
                scale, shift, _ = pending
                dense.bias = shift @ dense.kernel + dense.bias
                dense.kernel = scale[:, None] * dense.kernel
                pending = None
            ops.append(dense)
        elif pending is not None and not isinstance(layer, _IDENTITY_AT_INFERENCE):
            raise ValueError(
                f"cannot fold BatchNormalization layer {pending[2]!r}: it does not "
                "follow a Dense layer with a linear activation, and the next layer, "
                f"{layer.name!r} ({type(layer).__name__}), is not a Dense layer it "
                "could be pushed into")
        elif (merge_activations and isinstance(layer, keras.layers.Activation)
              and ops and isinstance(ops[-1], _Dense) and ops[-1].linear):
            ops[-1].config["activation"] = keras.activations.serialize(layer.activation)
            ops[-1].linear = False
        else:
            ops.append(_clone(layer))
    if pending is not None:
        raise ValueError(
            f"cannot fold BatchNormalization layer {pending[2]!r}: it does not follow "
            "a Dense layer with a linear activation, and no Dense layer comes after it")
    layers = [op.build() if isinstance(op, _Dense) else op for op in ops]
    return keras.Sequential([keras.Input(shape=model.input_shape[1:]), *layers],
                            name=f"{model.name}_folded")


def count_batch_norm(model):
    """Number of BatchNormalization layers in ``model`` (nested models included).

    Example:
        >>> count_batch_norm(build_mlp(depth=3, batch_norm="after"))  # doctest: +SKIP
        3
    """
    check_model("model", model)
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            count += count_batch_norm(layer)
        elif isinstance(layer, keras.layers.BatchNormalization):
            count += 1
    return count
