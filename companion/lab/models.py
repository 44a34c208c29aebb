"""Model builders: the multilayer perceptron every chapter experiments on."""

from companion._quiet import keras
from companion.tools.checks import check_choice, check_int, check_real, check_shape, check_string


def _public_names(module):
    return sorted(n for n in dir(module) if n[:1].islower() and n not in {"get", "serialize", "deserialize"})


def resolve_activation(activation, *, argument="activation", within=None):
    """Return a Keras activation function from a name or a callable, with a clear error.

    ``None`` is Keras's linear activation. ``argument`` names the argument the value
    came from, for the message (e.g. ``"output_activation"``), and ``within`` the
    list that held it (e.g. ``"names"``).

    Example:
        >>> resolve_activation("relu").__name__
        'relu'
    """
    if callable(activation):
        return activation
    try:
        return keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            f"unknown {argument} {activation!r}{f' in {within}' if within else ''}; "
            f"valid choices: {_public_names(keras.activations)}"
        ) from None


def resolve_initializer(initializer, *, seed_offset=0, argument="initializer", within=None):
    """Return a fresh Keras initializer from a name, a config dict or an instance.

    The result is a copy made through the initializer's config. A seeded one gets
    its seed plus ``seed_offset``: each layer passes its own offset, so layers of
    the same shape draw different weights and the model stays reproducible.

    Example:
        >>> resolve_initializer({"class_name": "HeNormal", "config": {"seed": 1}},
        ...                     seed_offset=2).seed
        3
    """
    if not isinstance(initializer, keras.initializers.Initializer):
        try:
            initializer = keras.initializers.get(initializer)
        except (ValueError, TypeError):
            raise ValueError(
                f"unknown {argument} {initializer!r}{f' in {within}' if within else ''}; "
                "valid choices: "
                f"{_public_names(keras.initializers)} or a keras.initializers.Initializer"
            ) from None
        if not isinstance(initializer, keras.initializers.Initializer):
            return initializer  # a plain function: nothing to copy or reseed
    config = initializer.get_config()
    if isinstance(config.get("seed"), int):
        config["seed"] += seed_offset
    return initializer.__class__.from_config(config)


BATCH_NORM_PLACEMENTS = (None, "before", "after")
DROPOUT_KINDS = ("dropout", "alpha")


def _fresh(getter, value, what, module):
    """A new Keras object (regularizer, constraint) per layer, validated once."""
    if value is None:
        return None
    try:
        obj = getter(value)
    except (ValueError, TypeError):
        raise ValueError(f"unknown {what} {value!r}; valid choices: "
                         f"{_public_names(module)} or an instance") from None
    if hasattr(obj, "get_config"):
        return obj.__class__.from_config(obj.get_config())
    return obj


def build_mlp(*, depth=2, width=100, activation="relu", initializer="glorot_uniform",
              example_shape=(28, 28), n_classes=10, output_activation="softmax",
              batch_norm=None, bn_momentum=0.99, dropout=0.0, dropout_kind="dropout",
              kernel_regularizer=None, kernel_constraint=None, name=None):
    """Build an uncompiled multilayer perceptron for image classification.

    The input is flattened, passed through ``depth`` Dense layers of ``width``
    units named ``hidden_1`` ... ``hidden_<depth>``, then a Dense layer named
    ``output``. Every Dense layer, the output included, draws its kernel from
    ``initializer``; biases start at zero.

    Each hidden block is, in order:

    * ``batch_norm=None``: ``hidden_i`` (Dense with its activation);
    * ``batch_norm="after"``: ``hidden_i``, then ``bn_i``
      (BatchNormalization of the activation's output);
    * ``batch_norm="before"``: ``hidden_i`` (linear, ``use_bias=False``,
      since BN's beta plays the bias's part), ``bn_i``, then ``activation_i``;

    followed by ``dropout_i`` when ``dropout > 0``.

    Args:
        depth: number of hidden layers, >= 0.
        width: units per hidden layer, >= 1.
        activation: hidden activation, a Keras name (``"relu"``, ``"sigmoid"``,
            ...) or a callable.
        initializer: a Keras initializer name, config or instance.
        example_shape: shape of one example.
        n_classes: units of the output layer, >= 1.
        output_activation: activation of the output layer.
        batch_norm: ``None``, ``"before"`` or ``"after"`` the activation.
        bn_momentum: the momentum of every BN layer's moving mean and variance,
            in [0, 1) (Keras's default, 0.99). After ``n`` training steps the
            moving averages still hold ``bn_momentum ** n`` of their starting
            values (mean 0, variance 1), which inference uses: a short run
            needs a lower momentum (0.9 forgets 99% in 44 steps, 0.99 in 459).
        dropout: dropout rate after every hidden block, in [0, 1).
        dropout_kind: ``"dropout"`` (``keras.layers.Dropout``) or ``"alpha"``
            (``keras.layers.AlphaDropout``, which keeps SELU's mean and variance).
        kernel_regularizer: a Keras regularizer (name, config or instance, e.g.
            ``keras.regularizers.L2(1e-4)``) for every Dense kernel, output included.
        kernel_constraint: a Keras constraint (e.g. ``keras.constraints.MaxNorm(1.0)``)
            for every Dense kernel, output included.
        name: the model's name.

    Example:
        >>> model = build_mlp(depth=3, width=16, activation="sigmoid")
        >>> [layer.name for layer in model.layers][-2:]
        ['hidden_3', 'output']
        >>> model.count_params()  # 784*16+16 + 2*(16*16+16) + 16*10+10
        13274
        >>> model = build_mlp(depth=1, width=16, batch_norm="before", dropout=0.2)
        >>> [layer.name for layer in model.layers]
        ['flatten', 'hidden_1', 'bn_1', 'activation_1', 'dropout_1', 'output']
        >>> build_mlp(depth=1, batch_norm="after", bn_momentum=0.9).get_layer("bn_1").momentum
        0.9
    """
    depth = check_int("depth", depth, minimum=0)
    width = check_int("width", width, minimum=1)
    n_classes = check_int("n_classes", n_classes, minimum=1)
    check_choice("batch_norm", batch_norm, BATCH_NORM_PLACEMENTS)
    check_choice("dropout_kind", dropout_kind, DROPOUT_KINDS)
    bn_momentum = check_real("bn_momentum", bn_momentum, low=0, high=1, closed="left")
    dropout = check_real("dropout", dropout, low=0, high=1, closed="left")
    example_shape = check_shape("example_shape", example_shape)
    check_string("name", name, allow_none=True)
    hidden = resolve_activation(activation)
    output = resolve_activation(output_activation, argument="output_activation")
    resolve_initializer(initializer)  # validate once, before building anything
    _fresh(keras.regularizers.get, kernel_regularizer, "kernel_regularizer",
           keras.regularizers)
    _fresh(keras.constraints.get, kernel_constraint, "kernel_constraint",
           keras.constraints)

    def dense(units, layer_activation, layer_name, offset, use_bias=True):
        return keras.layers.Dense(
            units, activation=layer_activation, use_bias=use_bias, name=layer_name,
            kernel_initializer=resolve_initializer(initializer, seed_offset=offset),
            kernel_regularizer=_fresh(keras.regularizers.get, kernel_regularizer,
                                      "kernel_regularizer", keras.regularizers),
            kernel_constraint=_fresh(keras.constraints.get, kernel_constraint,
                                     "kernel_constraint", keras.constraints))

    # All Dense layers first: an unseeded initializer or Dropout layer draws its seed
    # from the global random state when created, and this order keeps the initial
    # weights the same under one seed whether or not the model has dropout.
    hidden_layers = [dense(width, None if batch_norm == "before" else hidden,
                           f"hidden_{index}", index, use_bias=batch_norm != "before")
                     for index in range(1, depth + 1)]
    output_layer = dense(n_classes, output, "output", depth + 1)
    dropout_layer = keras.layers.AlphaDropout if dropout_kind == "alpha" \
        else keras.layers.Dropout
    layers = [keras.Input(shape=example_shape), keras.layers.Flatten(name="flatten")]
    for index, layer in enumerate(hidden_layers, start=1):
        layers.append(layer)
        if batch_norm is not None:
            layers.append(keras.layers.BatchNormalization(momentum=bn_momentum,
                                                          name=f"bn_{index}"))
        if batch_norm == "before":
            layers.append(keras.layers.Activation(hidden, name=f"activation_{index}"))
        if dropout > 0:
            layers.append(dropout_layer(dropout, name=f"dropout_{index}"))
    layers.append(output_layer)
    return keras.Sequential(layers, name=name or f"mlp_{depth}x{width}")


def build_autoencoder(*, depth=2, width=100, coding_size=30, activation="relu",
                      initializer="he_normal", example_shape=(28, 28), name=None):
    """Build an uncompiled stacked autoencoder whose encoder is a model of its own.

    The encoder (a ``Sequential`` named ``"encoder"``) flattens the input and
    passes it through ``depth`` Dense layers of ``width`` units named
    ``hidden_1`` ... ``hidden_<depth>``, as in :func:`build_mlp`, then a Dense
    layer ``coding`` of ``coding_size`` units. The decoder (``"decoder"``)
    mirrors it and ends in ``784`` sigmoid units reshaped to
    ``example_shape``, so the images must lie in [0, 1] (``scaling="unit"``).
    Because the encoder's hidden layers have the names and shapes of a
    :func:`build_mlp` of the same depth and width, the pretrained encoder can
    go under a classifier head (:func:`companion.replace_head`) and be
    compared with that MLP trained from scratch.

    Args:
        depth: hidden layers of the encoder (and of the decoder), >= 0.
        width: units per hidden layer, >= 1.
        coding_size: units of the coding layer, >= 1.
        activation, initializer: as for :func:`build_mlp`.
        example_shape: shape of one example.
        name: the model's name.

    Returns:
        The autoencoder, a ``Sequential`` of two models; get the encoder with
        ``autoencoder.get_layer("encoder")``.

    Example:
        >>> autoencoder = build_autoencoder(depth=1, width=16, coding_size=4)
        >>> [layer.name for layer in autoencoder.get_layer("encoder").layers]
        ['flatten', 'hidden_1', 'coding']
        >>> autoencoder.output_shape
        (None, 28, 28)
    """
    depth = check_int("depth", depth, minimum=0)
    width = check_int("width", width, minimum=1)
    coding_size = check_int("coding_size", coding_size, minimum=1)
    check_string("name", name, allow_none=True)
    hidden = resolve_activation(activation)
    resolve_initializer(initializer)
    example_shape = check_shape("example_shape", example_shape)
    n_pixels = 1
    for size in example_shape:
        n_pixels *= size

    def dense(units, layer_activation, layer_name, offset):
        return keras.layers.Dense(
            units, activation=layer_activation, name=layer_name,
            kernel_initializer=resolve_initializer(initializer, seed_offset=offset))

    encoder = keras.Sequential(
        [keras.Input(shape=example_shape), keras.layers.Flatten(name="flatten"),
         *[dense(width, hidden, f"hidden_{i}", i) for i in range(1, depth + 1)],
         dense(coding_size, hidden, "coding", depth + 1)], name="encoder")
    decoder = keras.Sequential(
        [keras.Input(shape=(coding_size,)),
         *[dense(width, hidden, f"decoder_{i}", depth + 1 + i) for i in range(1, depth + 1)],
         dense(n_pixels, "sigmoid", "pixels", 2 * depth + 2),
         keras.layers.Reshape(example_shape, name="image")], name="decoder")
    return keras.Sequential([keras.Input(shape=example_shape), encoder, decoder],
                            name=name or f"autoencoder_{depth}x{width}_{coding_size}")
