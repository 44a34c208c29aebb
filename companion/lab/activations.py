"""Activation functions: the catalogue, SELU's constants and self-normalisation, latency.

The chapter on activation functions compares them in three ways: by their shapes
(:func:`companion.book.plots.plot_activation_grid`), by how a deep SELU stack keeps its
signal normalised (:func:`selu_stack`, :func:`signal_moments`), and by their cost
(:func:`activation_latency`).
"""

import functools
import itertools

import numpy as np
import pandas as pd

from companion._quiet import keras, tf
from companion.lab.models import resolve_activation, resolve_initializer
from companion.tools.checks import (
    check_array, check_bool, check_callable, check_columns, check_inputs, check_int,
    check_mapping, check_model, check_names, check_real, check_shape, check_string)
from companion.tools.timing import interleaved_times


def leaky_relu(x, negative_slope=0.2):
    """``x`` where positive, ``negative_slope * x`` elsewhere (Keras's leaky ReLU)."""
    return keras.activations.leaky_relu(x, negative_slope=negative_slope)


# Names as the chapter uses them; each maps to the Keras function that computes it.
ACTIVATIONS = {
    "sigmoid": keras.activations.sigmoid,
    "tanh": keras.activations.tanh,
    "relu": keras.activations.relu,
    "leaky_relu": leaky_relu,
    "elu": keras.activations.elu,
    "selu": keras.activations.selu,
    "softplus": keras.activations.softplus,
    "gelu": keras.activations.gelu,
    "swish": keras.activations.silu,
    "mish": keras.activations.mish,
}


def activation_functions(names=None):
    """A dict from name to activation function, e.g. for plots and latency tables.

    Args:
        names: names from ``ACTIVATIONS`` (all of them by default); a
            Keras activation name not in the catalogue is looked up in Keras.

    Example:
        >>> list(activation_functions(["relu", "gelu"]))
        ['relu', 'gelu']
    """
    if names is None:
        return dict(ACTIVATIONS)
    names = check_names("names", names)
    return {name: ACTIVATIONS.get(name) or resolve_activation(name, within="names")
            for name in names}


def selu_constants():
    """SELU's ``alpha`` and ``scale`` (lambda), read off Keras's own ``selu``.

    For large positive ``x``, ``selu(x) = scale * x``; for very negative ``x``,
    ``selu(x)`` tends to ``-scale * alpha``. Probing the function at those two
    points recovers the constants Keras uses, so nothing is typed in.

    Example:
        >>> constants = selu_constants()
        >>> round(constants["alpha"], 4), round(constants["scale"], 4)
        (1.6733, 1.0507)
    """
    x = tf.constant([1.0, -100.0], dtype=tf.float64)
    one, floor = keras.activations.selu(x).numpy()
    return {"alpha": float(-floor / one), "scale": float(one)}


def _activation_layer(activation, index):
    """A fresh activation layer for hidden block ``index``."""
    name = f"activation_{index}"
    if isinstance(activation, keras.layers.Layer):
        config = dict(activation.get_config(), name=name)
        return activation.__class__.from_config(config)
    return keras.layers.Activation(resolve_activation(activation), name=name)


def activation_mlp(activation, *, depth=4, width=100, initializer="he_normal",
                   example_shape=(28, 28), n_classes=10, name=None):
    """An MLP whose activations are layers of their own, for the parametric activations.

    Each hidden block is a linear Dense layer ``hidden_i`` followed by an
    activation layer ``activation_i``. Pass a Keras layer (``PReLU()``,
    ``LeakyReLU(negative_slope=0.2)``, ``companion.RReLU``) as a
    template: every block gets its own copy, made from the template's config, so a
    PReLU learns separate slopes in each layer. A name or function works too.
    Since ``hidden_i`` holds the pre-activation, :func:`companion.tools.diagnostics.dead_units`
    measures the same thing for every member of the ReLU family.

    Example:
        >>> model = activation_mlp(keras.layers.PReLU(), depth=2, width=8)
        >>> [layer.name for layer in model.layers][1:5]
        ['hidden_1', 'activation_1', 'hidden_2', 'activation_2']
    """
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    n_classes = check_int("n_classes", n_classes, minimum=1)
    example_shape = check_shape("example_shape", example_shape)
    check_string("name", name, allow_none=True)
    if not isinstance(activation, keras.layers.Layer):
        resolve_activation(activation)  # validate before building anything
    resolve_initializer(initializer)
    layers = [keras.Input(shape=example_shape), keras.layers.Flatten(name="flatten")]
    for index in range(1, depth + 1):
        layers += [keras.layers.Dense(
                       width, name=f"hidden_{index}",
                       kernel_initializer=resolve_initializer(initializer, seed_offset=index)),
                   _activation_layer(activation, index)]
    layers.append(keras.layers.Dense(
        n_classes, activation="softmax", name="output",
        kernel_initializer=resolve_initializer(initializer, seed_offset=depth + 1)))
    return keras.Sequential(layers, name=name or f"activation_mlp_{depth}x{width}")


def learned_slopes(model):
    """The negative slopes each ``PReLU`` layer of ``model`` learned, summarised.

    Returns:
        A DataFrame indexed by layer name with the ``mean``, ``min``,
        ``median`` and ``max`` of the layer's slopes (one per unit).

    Example:
        >>> model = activation_mlp(keras.layers.PReLU(), depth=1, width=4)
        >>> learned_slopes(model)["mean"].tolist()  # PReLU starts at slope 0
        [0.0]
    """
    check_model("model", model)
    rows = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.PReLU):
            alpha = np.asarray(layer.alpha.numpy()).ravel()
            rows[layer.name] = {"mean": alpha.mean(), "min": alpha.min(),
                                "median": np.median(alpha), "max": alpha.max()}
    if not rows:
        raise ValueError(f"model {model.name!r} has no PReLU layer")
    return pd.DataFrame.from_dict(rows, orient="index")


def selu_stack(n_inputs, *, depth=100, width=100, initializer="lecun_normal", dropout=0.0,
               dropout_kind="alpha", residual=False, name=None):
    """A stack of SELU Dense blocks whose outputs are all returned, for measuring.

    Block ``i`` is ``Dense(width, activation="selu")``, then dropout when
    ``dropout > 0``; with ``residual=True`` its input is added to its output
    from block 2 on (``h + f(h)``, a skip connection). The model's outputs are
    the ``depth`` block outputs, input side first.

    Args:
        n_inputs: features per example.
        initializer: a Keras initializer (``"lecun_normal"`` is SELU's own).
        dropout: rate in [0, 1).
        dropout_kind: ``"alpha"`` (``AlphaDropout``) or ``"dropout"``.
        residual: add skip connections.

    Example:
        >>> model = selu_stack(5, depth=3, width=4)
        >>> len(model.outputs)
        3
    """
    n_inputs = check_int("n_inputs", n_inputs, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    if dropout_kind not in ("alpha", "dropout"):
        raise ValueError(f"unknown dropout_kind {dropout_kind!r}; "
                         "valid choices: ['alpha', 'dropout']")
    dropout = check_real("dropout", dropout, low=0, high=1, closed="left")
    residual = check_bool("residual", residual)
    check_string("name", name, allow_none=True)
    resolve_initializer(initializer)
    drop = keras.layers.AlphaDropout if dropout_kind == "alpha" else keras.layers.Dropout
    inputs = keras.Input(shape=(n_inputs,))
    h, outputs = inputs, []
    for index in range(1, depth + 1):
        z = keras.layers.Dense(
            width, activation="selu", name=f"hidden_{index}",
            kernel_initializer=resolve_initializer(initializer, seed_offset=index))(h)
        if dropout > 0:
            z = drop(dropout, name=f"dropout_{index}")(z)
        if residual and index > 1:
            z = keras.layers.Add(name=f"skip_{index}")([h, z])
        h = z
        outputs.append(h)
    return keras.Model(inputs, outputs, name=name or f"selu_stack_{depth}x{width}")


def signal_moments(model, x, *, training=False):
    """Mean and standard deviation of each output of ``model`` over ``x``.

    Args:
        model: a model with one output per layer, such as :func:`selu_stack`.
        x: a batch, shape ``(examples, features)``.
        training: run in training mode, so that dropout layers drop.

    Returns:
        A DataFrame indexed by ``hidden_1`` ... with columns ``depth``, ``mean``
        and ``std`` (over all examples and units of the layer).

    Example:
        >>> table = signal_moments(selu_stack(5, depth=2, width=4), np.ones((3, 5)))
        >>> list(table.columns)
        ['depth', 'mean', 'std']
    """
    check_model("model", model, built=True)
    values = model(check_inputs("x", x, model), training=check_bool("training", training))
    if not isinstance(values, (list, tuple)):
        values = [values]
    rows = []
    for depth, v in enumerate(values, 1):
        v = np.asarray(v, dtype=np.float64)  # float32 sums overflow on exploding stacks
        rows.append({"layer": f"hidden_{depth}", "depth": depth, "mean": float(v.mean()),
                     "std": float(v.std())})
    return pd.DataFrame(rows).set_index("layer")


def normalization_error(table):
    """The largest departure from mean 0 and std 1 over the layers of a moments table.

    Returns:
        ``max(|mean|, |std - 1|)`` over all rows of a :func:`signal_moments` table.

    Example:
        >>> import pandas as pd
        >>> normalization_error(pd.DataFrame({"mean": [0.05, -0.1], "std": [1.02, 0.97]}))
        0.1
    """
    check_columns("table", table, ("mean", "std"), what="what signal_moments returns")
    if table.empty:
        raise ValueError("table is empty: it has no layer to measure")
    if table[["mean", "std"]].isna().any().any():
        raise ValueError("table holds NaN in 'mean' or 'std': the departure is undefined")
    return float(max(table["mean"].abs().max(), (table["std"] - 1).abs().max()))


def first_normalized_layer(table, tolerance):
    """Depth from which every layer keeps ``|mean|`` and ``|std - 1|`` within ``tolerance``.

    Returns:
        The ``depth`` of the first layer of the final run of layers within the
        tolerance, or ``None`` when the last layer is outside it.

    Example:
        >>> import pandas as pd
        >>> first_normalized_layer(pd.DataFrame({"depth": [1, 2, 3], "mean": [0.0] * 3,
        ...                                      "std": [0.5, 0.95, 1.02]}), 0.1)
        2
    """
    check_columns("table", table, ("depth", "mean", "std"), what="what signal_moments returns")
    if table.empty:
        raise ValueError("table is empty: it has no layer to look at")
    tolerance = check_real("tolerance", tolerance, low=0, closed="neither")
    inside = ((table["mean"].abs() <= tolerance)
              & ((table["std"] - 1).abs() <= tolerance)).to_numpy()
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    start = 0 if len(outside) == 0 else outside[-1] + 1
    return int(table["depth"].iloc[start])


def activation_latency(activations, *, shape=(512, 2048), repeats=7, number=20, seed=0):
    """Forward-pass time of each activation function on one fixed tensor.

    Each function runs inside a ``tf.function`` on the same float32 tensor of
    standard-normal values; a call ends with a sum of the output converted to
    NumPy, so the time covers the whole computation on any device (the sum's
    cost is the same for every function). The functions are timed in
    interleaved rounds (``companion.tools.timing.interleaved_times``): each of
    the ``repeats`` rounds times ``number`` calls of every function in turn, so
    a change in the machine's load hits all of them alike. Times are medians
    over the rounds.

    Args:
        activations: a mapping from name to function, or a list of names
            (see :func:`activation_functions`).
        shape: the tensor's shape.

    Returns:
        A DataFrame indexed by name, fastest first, with ``microseconds``
        (median per call), ``best`` and ``worst`` (microseconds), ``elements_per_ns``
        (throughput) and ``relative`` (the median over the fastest median).

    Example:
        >>> table = activation_latency(["relu", "tanh"], shape=(8, 8), repeats=2, number=2)
        >>> sorted(table.index)
        ['relu', 'tanh']
    """
    if isinstance(activations, dict):
        check_mapping("activations", activations, what="names to activation functions")
        for name, fn in activations.items():
            check_callable(f"activations[{name!r}]", fn)
    else:
        activations = activation_functions(check_names("activations", activations))
    shape = check_shape("shape", shape)
    check_int("repeats", repeats, minimum=1)
    check_int("number", number, minimum=1)
    x = tf.random.stateless_normal(shape, seed=(check_int("seed", seed, minimum=0), 0))
    calls = {name: _summed_call(fn, x) for name, fn in activations.items()}
    rows = {}
    for name, timing in interleaved_times(calls, rounds=repeats, warmup=2,
                                          number=number).items():
        rows[name] = {"microseconds": 1e6 * timing.median, "best": 1e6 * timing.best,
                      "worst": 1e6 * timing.worst,
                      "elements_per_ns": int(np.prod(shape)) / timing.median / 1e9}
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("microseconds")
    table["relative"] = table["microseconds"] / table["microseconds"].min()
    table.index.name = "activation"
    return table


def _summed(fn, x):
    return tf.reduce_sum(fn(x))


def _summed_call(fn, x):
    """A function of no argument: the compiled, summed ``fn`` on ``x``, as NumPy."""
    compiled = tf.function(functools.partial(_summed, fn))
    return lambda: compiled(x).numpy()


def ranking(scores, *, higher_is_better=True):
    """The names of ``scores`` ordered best first, joined as ``"a > b > c"``.

    Example:
        >>> ranking({"relu": 0.85, "tanh": 0.83, "selu": 0.86})
        'selu > relu > tanh'
    """
    _check_scores(scores)
    order = sorted(scores, key=lambda name: scores[name],
                   reverse=check_bool("higher_is_better", higher_is_better))
    return " > ".join(order)


def _check_scores(scores):
    check_mapping("scores", scores, what="names to measured scores")
    for name, value in scores.items():
        check_real(f"scores[{name!r}]", value)


def pair_agreement(scores, rule, *, higher_is_better=True):
    """Share of the pairs that ``rule`` orders which ``scores`` orders the same way.

    Args:
        scores: a mapping from name to a measured score.
        rule: names in the order a rule of thumb ranks them, best first; every
            name must be in ``scores``.

    Returns:
        A float in [0, 1]; 1 when the measurements reproduce the rule's order, 0
        when they reverse it; ties count as disagreements.

    Example:
        >>> pair_agreement({"a": 3, "b": 2, "c": 1}, ["a", "c", "b"])
        0.6666666666666666
    """
    _check_scores(scores)
    rule = check_names("rule", rule, min_size=2)
    missing = [name for name in rule if name not in scores]
    if missing:
        raise ValueError(f"rule names {missing} have no score; valid choices: {list(scores)}")
    sign = 1 if check_bool("higher_is_better", higher_is_better) else -1
    pairs = list(itertools.combinations(rule, 2))
    agree = sum(sign * (scores[a] - scores[b]) > 0 for a, b in pairs)
    return agree / len(pairs)


def activation_and_derivative(activation, x):
    """Values of ``activation`` and of its derivative at ``x``, the derivative by ``tf.GradientTape``.

    Example:
        >>> y, dy = activation_and_derivative("sigmoid", np.array([0.0]))
        >>> float(y[0]), float(dy[0])
        (0.5, 0.25)
    """
    fn = resolve_activation(activation)
    x = tf.constant(check_array("x", x, min_size=0, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()
