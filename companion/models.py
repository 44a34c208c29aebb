"""Model builders: the multilayer perceptron every chapter experiments on."""

from companion._quiet import keras


def _public_names(module):
    return sorted(n for n in dir(module) if n[:1].islower() and n not in {"get", "serialize", "deserialize"})


def resolve_activation(activation):
    """Return a Keras activation function from a name or a callable, with a clear error."""
    if callable(activation):
        return activation
    try:
        return keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            f"unknown activation {activation!r}; valid choices: "
            f"{_public_names(keras.activations)}"
        ) from None


def resolve_initializer(initializer, *, seed_offset=0):
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
                f"unknown initializer {initializer!r}; valid choices: "
                f"{_public_names(keras.initializers)} or a keras.initializers.Initializer"
            ) from None
        if not isinstance(initializer, keras.initializers.Initializer):
            return initializer  # a plain function: nothing to copy or reseed
    config = initializer.get_config()
    if isinstance(config.get("seed"), int):
        config["seed"] += seed_offset
    return initializer.__class__.from_config(config)


def _positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def build_mlp(*, depth=2, width=100, activation="relu", initializer="glorot_uniform",
              example_shape=(28, 28), n_classes=10, output_activation="softmax", name=None):
    """Build an uncompiled multilayer perceptron for image classification.

    The input is flattened, passed through ``depth`` Dense layers of ``width``
    units named ``hidden_1`` ... ``hidden_<depth>``, then a Dense layer named
    ``output``. Every Dense layer, the output included, draws its kernel from
    ``initializer``; biases start at zero.

    Args:
        depth: number of hidden layers, >= 0.
        width: units per hidden layer, >= 1.
        activation: hidden activation, a Keras name (``"relu"``, ``"sigmoid"``,
            ...) or a callable.
        initializer: a Keras initializer name, config or instance.
        example_shape: shape of one example.
        n_classes: units of the output layer, >= 1.
        output_activation: activation of the output layer.
        name: the model's name.

    Example:
        >>> model = build_mlp(depth=3, width=16, activation="sigmoid")
        >>> [layer.name for layer in model.layers][-2:]
        ['hidden_3', 'output']
        >>> model.count_params()  # 784*16+16 + 2*(16*16+16) + 16*10+10
        13274
    """
    _positive_int("depth", depth, minimum=0)
    _positive_int("width", width)
    _positive_int("n_classes", n_classes)
    hidden = resolve_activation(activation)
    output = resolve_activation(output_activation)
    resolve_initializer(initializer)  # validate once, before building anything
    layers = [keras.Input(shape=tuple(example_shape)), keras.layers.Flatten(name="flatten")]
    for index in range(1, depth + 1):
        layers.append(keras.layers.Dense(width, activation=hidden, name=f"hidden_{index}",
                                         kernel_initializer=resolve_initializer(
                                             initializer, seed_offset=index)))
    layers.append(keras.layers.Dense(n_classes, activation=output, name="output",
                                     kernel_initializer=resolve_initializer(
                                         initializer, seed_offset=depth + 1)))
    return keras.Sequential(layers, name=name or f"mlp_{depth}x{width}")
