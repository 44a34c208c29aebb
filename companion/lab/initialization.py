"""Weight initialisation: fans, the variance each initializer draws, and depth sweeps.

:func:`initializer_spec` says what a Keras initializer will draw for a weight
shape (fan-in, fan-out, variance, bounds) without drawing anything;
:func:`variance_check` draws the weights and compares; :func:`depth_sweep`
measures how the scale of the activations evolves through a deep network for a
grid of activations and initializers, with one forward pass per network.
"""

import dataclasses
import gc
import math

import numpy as np
import pandas as pd

from companion._quiet import keras
from companion.tools.diagnostics import dense_layers, layer_outputs
from companion.lab.models import build_mlp, resolve_activation, resolve_initializer
from companion.lab.seeding import reseed, seed_list
from companion.tools.checks import (
    check_array, check_columns, check_int, check_names, check_range, check_real, check_shape)


def truncated_normal_std(bound=2.0):
    """Standard deviation of a standard normal truncated to ``[-bound, bound]``.

    Keras's truncated normal discards draws beyond two standard deviations, which
    narrows the distribution; at ``bound=2`` the result is the constant
    0.8796... by which :class:`keras.initializers.VarianceScaling` divides its
    standard deviation to undo the narrowing.

    Example:
        >>> round(truncated_normal_std(2.0), 6)
        0.879626
    """
    bound = check_real("bound", bound, low=0, closed="neither")
    density = math.exp(-bound**2 / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(bound / math.sqrt(2))
    return math.sqrt(1 - 2 * bound * density / mass)


#: The standard deviation of N(0, 1) truncated to [-2, 2] (Keras's 0.87962566103423978).
TRUNCATION_STD = truncated_normal_std(2.0)

MODES = ("fan_in", "fan_out", "fan_avg")


def compute_fans(shape, input_axes=None, output_axes=None):
    """Fan-in and fan-out of a weight tensor, by Keras's convention.

    A Dense kernel ``(n_in, n_out)`` has fan-in ``n_in`` and fan-out ``n_out``;
    a convolution kernel ``(*window, channels_in, channels_out)`` multiplies both
    by the window's size; a vector has both equal to its length, a scalar 1.
    ``input_axes`` and ``output_axes`` name the axes explicitly.

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    shape = _shape(shape)
    if (input_axes is None) != (output_axes is None):
        raise ValueError("give both input_axes and output_axes, or neither")
    if input_axes is not None:
        return (int(np.prod([shape[a] for a in input_axes], dtype=np.int64)),
                int(np.prod([shape[a] for a in output_axes], dtype=np.int64)))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    window = int(np.prod(shape[:-2], dtype=np.int64))
    return shape[-2] * window, shape[-1] * window


def _shape(shape):
    return check_shape("shape", shape, min_ndim=0)


@dataclasses.dataclass(frozen=True)
class InitializerSpec:
    """What an initializer draws for one weight shape, from its configuration alone.

    Attributes:
        name: the initializer's class name, e.g. ``"HeNormal"``.
        shape: the weight shape.
        fan_in, fan_out, fan_avg: inputs and outputs per unit and their mean.
        scale, mode: the :class:`keras.initializers.VarianceScaling` settings
            (``None`` for other initializers).
        distribution: ``"truncated_normal"``, ``"untruncated_normal"``,
            ``"uniform"``, ``"orthogonal"`` or ``"constant"``.
        mean: the mean of the weights.
        variance, stddev: the variance and standard deviation of the drawn
            weights (after truncation, for a truncated normal; the mean square,
            which the draw gives exactly, for an orthogonal matrix).
        limit: the largest possible ``|w - mean|``: ``r`` of a uniform
            ``[-r, r]``, two pre-truncation standard deviations of a truncated
            normal, the gain of an orthogonal matrix (no entry of an
            orthonormal column exceeds 1), ``None`` for a normal.
        draw_stddev: the standard deviation handed to the normal sampler, before
            any truncation. ``VarianceScaling`` passes ``stddev / 0.8796...``
            (Keras's correction for the truncation); a plain ``TruncatedNormal``
            passes its ``stddev`` argument unchanged, so its weights spread
            only ``0.8796...`` times that much.
    """

    name: str
    shape: tuple
    fan_in: int
    fan_out: int
    fan_avg: float
    scale: float | None
    mode: str | None
    distribution: str
    mean: float
    variance: float
    stddev: float
    limit: float | None
    draw_stddev: float | None

    @property
    def fan(self):
        """The fan the variance is divided by (``None`` without a mode)."""
        return None if self.mode is None else getattr(self, self.mode)


def _resolve(initializer, within=None):
    init = resolve_initializer(initializer, within=within)
    if not isinstance(init, keras.initializers.Initializer):
        raise ValueError(f"initializer {initializer!r} is a plain function; give a "
                         "keras.initializers.Initializer, its name or its config")
    return init


SUPPORTED = ("VarianceScaling (GlorotUniform, GlorotNormal, HeUniform, HeNormal, "
             "LecunUniform, LecunNormal), RandomNormal, TruncatedNormal, RandomUniform, "
             "Orthogonal, Constant, Zeros, Ones")


def initializer_spec(initializer, shape):
    """Fans, variance and bounds of the weights ``initializer`` draws for ``shape``.

    Args:
        initializer: a Keras initializer, its name (``"he_normal"``) or config.
        shape: the weight shape, e.g. ``(784, 300)`` for a Dense kernel.

    Returns:
        An :class:`InitializerSpec`.

    Example:
        >>> spec = initializer_spec("he_uniform", (600, 100))
        >>> spec.fan_in, spec.variance, round(spec.limit, 4)  # 2/600, sqrt(3 * 2/600)
        (600, 0.0033333333333333335, 0.1)
    """
    init = _resolve(initializer)
    shape = _shape(shape)
    config = init.get_config()
    axes = (config.get("input_axes"), config.get("output_axes"))
    fan_in, fan_out = compute_fans(shape, *axes) if axes != (None, None) else compute_fans(shape)
    fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    common = dict(name=type(init).__name__, shape=shape, **fans)
    vs, tn = keras.initializers.VarianceScaling, keras.initializers.TruncatedNormal
    if isinstance(init, vs):
        variance = init.scale / max(1.0, fans[init.mode])
        stddev = math.sqrt(variance)
        if init.distribution == "truncated_normal":
            draw, limit = stddev / TRUNCATION_STD, 2 * stddev / TRUNCATION_STD
        elif init.distribution == "untruncated_normal":
            draw, limit = stddev, None
        else:
            draw, limit = None, math.sqrt(3 * variance)
        return InitializerSpec(**common, scale=float(init.scale), mode=init.mode,
                               distribution=init.distribution, mean=0.0, variance=variance,
                               stddev=stddev, limit=limit, draw_stddev=draw)
    if isinstance(init, (keras.initializers.RandomNormal, tn)):
        draw = float(init.stddev)
        truncated = isinstance(init, tn)
        stddev = draw * TRUNCATION_STD if truncated else draw
        return InitializerSpec(**common, scale=None, mode=None,
                               distribution="truncated_normal" if truncated
                               else "untruncated_normal",
                               mean=float(init.mean), variance=stddev**2, stddev=stddev,
                               limit=2 * draw if truncated else None, draw_stddev=draw)
    if isinstance(init, keras.initializers.RandomUniform):
        low, high = float(init.minval), float(init.maxval)
        half = (high - low) / 2
        return InitializerSpec(**common, scale=None, mode=None, distribution="uniform",
                               mean=(low + high) / 2, variance=half**2 / 3,
                               stddev=half / math.sqrt(3), limit=half, draw_stddev=None)
    if isinstance(init, keras.initializers.Orthogonal):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank >= 2, got {shape!r}")
        rows = int(np.prod(shape[:-1], dtype=np.int64))
        variance = float(init.gain) ** 2 / max(rows, shape[-1])
        return InitializerSpec(**common, scale=None, mode=None, distribution="orthogonal",
                               mean=0.0, variance=variance, stddev=math.sqrt(variance),
                               limit=abs(float(init.gain)), draw_stddev=None)
    constants = {keras.initializers.Zeros: 0.0, keras.initializers.Ones: 1.0}
    if isinstance(init, (keras.initializers.Constant, *constants)):
        value = constants.get(type(init), None)
        value = float(init.value) if value is None else value
        return InitializerSpec(**common, scale=None, mode=None, distribution="constant",
                               mean=value, variance=0.0, stddev=0.0, limit=0.0,
                               draw_stddev=None)
    raise ValueError(f"initializer_spec does not know {type(init).__name__}; "
                     f"valid choices: {SUPPORTED}")


#: The three families of variance-scaling initializers, with their Keras classes and
#: the activations each is usually paired with.
FAMILIES = {
    "Glorot": ("GlorotNormal", "GlorotUniform", "none (linear), tanh, softmax (output)"),
    "He": ("HeNormal", "HeUniform", "ReLU and its variants (leaky ReLU, ELU, GELU, Swish)"),
    "LeCun": ("LecunNormal", "LecunUniform", "SELU"),
}


def variance_table(shape=None):
    """The Glorot / He / LeCun table, read from the Keras classes' own configurations.

    Each family's ``scale`` and ``mode`` are taken from its Keras classes
    (normal and uniform forms must agree), and the formulas are written from
    them: ``sigma^2 = scale / fan`` for the normal form, ``r = sqrt(3 scale / fan)``
    for the uniform form on ``[-r, r]`` (whose variance is ``r^2 / 3``).

    Args:
        shape: optionally a weight shape; adds the columns ``sigma^2`` and ``r``
            with the values for that shape.

    Returns:
        A DataFrame indexed by family.

    Example:
        >>> variance_table().loc["He", "σ² (normal)"]
        '2 / fan_in'
    """
    rows = {}
    for family, (normal_name, uniform_name, activations) in FAMILIES.items():
        # The subclasses' configs leave scale and mode out; the instances carry them.
        normal = getattr(keras.initializers, normal_name)()
        uniform = getattr(keras.initializers, uniform_name)()
        if (normal.scale, normal.mode) != (uniform.scale, uniform.mode):
            raise RuntimeError(f"Keras's {normal_name} and {uniform_name} disagree on scale/mode")
        scale, mode = float(normal.scale), normal.mode
        row = {"activations": activations, "scale": scale, "mode": mode,
               "σ² (normal)": f"{scale:g} / {mode}",
               "r (uniform)": f"√({3 * scale:g} / {mode})"}
        if shape is not None:
            row["σ²"] = initializer_spec(normal_name, shape).variance
            row["r"] = initializer_spec(uniform_name, shape).limit
        rows[family] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "family"
    return table


NAMED = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
         "lecun_uniform", "lecun_normal")


def named_initializers(names=NAMED):
    """How each named Keras initializer maps onto ``VarianceScaling(scale, mode, distribution)``.

    Example:
        >>> [str(v) for v in named_initializers(["he_normal"]).loc["he_normal"]]
        ['HeNormal', '2.0', 'fan_in', 'truncated_normal']
    """
    rows = {}
    for name in check_names("names", names):
        init = _resolve(name, within="names")
        if not isinstance(init, keras.initializers.VarianceScaling):
            raise ValueError(f"{name!r} is not a VarianceScaling initializer; "
                             f"valid choices: {list(NAMED)}")
        rows[name] = {"class": type(init).__name__, "scale": float(init.scale),
                      "mode": init.mode, "distribution": init.distribution}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "name"
    return table


def variance_check(initializers, shape, *, seed=0):
    """Draw a weight tensor from each initializer and compare it with the formula.

    Args:
        initializers: a mapping from label to initializer, or a sequence of names.
        shape: the weight shape drawn.
        seed: the first initializer draws with this seed, the next with
            ``seed + 1``, and so on.

    Returns:
        A DataFrame indexed by label with columns ``distribution``, ``variance``
        (the formula), ``empirical`` (of the drawn weights), ``relative_error``
        (``empirical / variance - 1``), ``uncorrected`` (for a
        ``VarianceScaling`` truncated normal, the variance it would draw
        without Keras's division by 0.8796...: ``variance * 0.8796**2``),
        ``limit`` and ``max_deviation`` (the largest drawn ``|w - mean|``).

    Example:
        >>> check = variance_check(["he_normal"], (784, 300))
        >>> bool(abs(check.loc["he_normal", "relative_error"]) < 0.03)
        True
    """
    items = _labelled(initializers, "initializers")
    seed = check_int("seed", seed, minimum=0)
    rows = {}
    for offset, (label, initializer) in enumerate(items):
        spec = initializer_spec(initializer, shape)
        init = _resolve(initializer)
        config = init.get_config()
        if "seed" in config:  # its own seed each, so the draws are independent
            config["seed"] = seed + offset
        init = init.__class__.from_config(config)
        weights = np.asarray(init(spec.shape, dtype="float32"), dtype=np.float64)
        corrected = (spec.distribution == "truncated_normal" and spec.scale is not None)
        rows[label] = {
            "distribution": spec.distribution, "variance": spec.variance,
            "empirical": float(weights.var()),
            "relative_error": (float(weights.var()) / spec.variance - 1
                               if spec.variance > 0 else float("nan")),
            "uncorrected": spec.variance * TRUNCATION_STD**2 if corrected else float("nan"),
            "limit": float("nan") if spec.limit is None else spec.limit,
            "max_deviation": float(np.abs(weights - spec.mean).max()),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "initializer"
    return table


def _labelled(items, what):
    if isinstance(items, (str, bytes)) or items is None:
        raise TypeError(f"{what} must be a mapping or a sequence of names, got {items!r}")
    try:
        pairs = list(items.items()) if hasattr(items, "items") else [(str(i), i) for i in items]
    except TypeError:
        raise TypeError(f"{what} must be a mapping or a sequence of names, got "
                        f"{type(items).__name__} {items!r}") from None
    if not pairs:
        raise ValueError(f"{what} is empty: give at least one")
    return pairs


#: Output range of the bounded activations, for the ``saturated`` column.
SATURATION_BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}

#: Bytes of weights that the networks :func:`depth_sweep` has dropped may hold before it
#: runs the garbage collector. A Keras model sits in reference cycles, so a dropped
#: network keeps its weights until a collection. Collecting after every network held at
#: most one dropped network but cost a full collection each time (0.2 to 0.3 s on the
#: 2-core development machine, against about 1 s to draw and probe a 50 x 1024 network,
#: 210 MB of weights); with this bound, counted across calls, the dropped networks hold
#: at most this much more.
UNCOLLECTED_BYTES = 2**29
_uncollected_bytes = 0  # of the networks dropped since the last collection


def depth_sweep(activations, initializers, x, *, depth=50, width=100, seeds=None,
                tolerance=0.05, batch_size=1024):
    """Standard deviation of every hidden layer's output, for activations x initializers.

    For each combination (and seed), the global random generators are re-seeded,
    an MLP of ``depth`` hidden layers of ``width`` units is built with
    :func:`companion.build_mlp`, ``x`` is passed through it once (no training)
    and each hidden layer's outputs are summarised over all units and examples.
    Statistics are computed in float64; once a layer's float32 outputs overflow
    (a non-finite value), its ``std`` and those of all later layers are ``inf``.

    Args:
        activations: names of hidden activations, e.g. ``["tanh", "relu"]``.
        initializers: a mapping from label to initializer (instance, name or
            config), or a sequence of names.
        x: the batch fed to the first layer (standardised, as a rule).
        depth, width: the network's hidden layers and units per layer.
        seeds: one network is drawn per seed: a list of seeds, a count, or
            ``None`` for the seed of :func:`companion.setup` (see
            :func:`companion.lab.seeding.seed_list`).
        tolerance: an output within this distance of a bound of a bounded
            activation (:data:`SATURATION_BOUNDS`) counts as saturated.

    Returns:
        A tidy DataFrame, one row per (activation, initializer, seed, layer),
        with columns ``activation, initializer, seed, width, layer, mean, std,
        ratio, overflow, saturated``: ``ratio`` is ``std`` divided by the
        standard deviation of ``x`` over all its values (also in
        ``.attrs["input_std"]``); ``saturated`` is NaN for unbounded activations.

    Example:
        >>> sweep = depth_sweep(["relu"], ["he_normal"], np.ones((8, 4)) * [1, -1, 2, 0],
        ...                     depth=3, width=16)
        >>> sweep[["layer", "ratio"]].shape
        (3, 2)
    """
    activations = _labelled(activations, "activations")
    initializers = _labelled(initializers, "initializers")
    for label, activation in activations:
        if not isinstance(activation, str) and not callable(activation):
            raise TypeError(f"activations must hold names or functions, got {activation!r}")
        resolve_activation(activation, within="activations")
    for label, initializer in initializers:
        resolve_initializer(initializer, within="initializers")
    seeds = seed_list(seeds)
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    tolerance = check_real("tolerance", tolerance, low=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    x = check_array("x", x, min_size=0, dtype=np.float32)
    if x.ndim < 2 or len(x) < 2:
        raise ValueError(f"x must be a batch of at least 2 examples, got shape {x.shape}")
    input_std = float(x.astype(np.float64).std())
    if not input_std > 0:
        raise ValueError("x has zero spread: the ratio to its standard deviation is undefined")
    global _uncollected_bytes
    rows = []
    for act_label, activation in activations:
        bounds = SATURATION_BOUNDS.get(activation) if isinstance(activation, str) else None
        for init_label, initializer in initializers:
            for seed in seeds:
                reseed(seed)
                model = build_mlp(depth=depth, width=width, activation=activation,
                                  initializer=initializer, example_shape=x.shape[1:])
                outputs = layer_outputs(model, x, batch_size=batch_size)
                _uncollected_bytes += sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize
                                          for w in model.weights)
                del model
                if _uncollected_bytes > UNCOLLECTED_BYTES:
                    gc.collect()
                    _uncollected_bytes = 0
                overflow = False
                for layer in range(1, depth + 1):
                    a = outputs[f"hidden_{layer}"].astype(np.float64)
                    overflow = overflow or not np.isfinite(a).all()
                    std = np.inf if overflow else float(a.std())
                    saturated = np.nan
                    if bounds is not None and not overflow:
                        near = np.minimum(np.abs(a - bounds[0]), np.abs(a - bounds[1]))
                        saturated = float((near <= tolerance).mean())
                    rows.append({"activation": act_label, "initializer": init_label,
                                 "seed": seed, "width": width, "layer": layer,
                                 "mean": np.nan if overflow else float(a.mean()),
                                 "std": std, "ratio": std / input_std, "overflow": overflow,
                                 "saturated": saturated})
    sweep = pd.DataFrame(rows)
    sweep.attrs["input_std"] = input_std
    return sweep


GROUPS = ("activation", "initializer", "seed", "width")


def summarize_sweep(sweep, band=(0.5, 2.0)):
    """One row per network of a :func:`depth_sweep`: how far its ``ratio`` strays.

    Returns:
        A DataFrame indexed by (activation, initializer, seed, width) with
        columns ``first`` and ``last`` (the ratio at the first and last layer),
        ``min``, ``max``, ``within`` (every layer's ratio inside ``band``,
        bounds included) and ``first_outside`` (the first layer outside it, 0
        when none is).

    Example:
        >>> frame = pd.DataFrame({"activation": "relu", "initializer": "he", "seed": 1,
        ...                       "width": 8, "layer": [1, 2, 3], "ratio": [0.9, 0.6, 0.4]})
        >>> row = summarize_sweep(frame).iloc[0]
        >>> bool(row["within"]), int(row["first_outside"])
        (False, 3)
    """
    low, high = check_range("band", band, low=0)
    if low == 0:
        raise ValueError(f"band must be (low, high) with 0 < low < high, got {band!r}")
    check_columns("sweep", sweep, (*GROUPS, "layer", "ratio"), what="what depth_sweep returns")
    if sweep.empty:
        raise ValueError("sweep is empty: it holds no network to summarise")

    def one(frame):
        frame = frame.sort_values("layer")
        ratio = frame["ratio"].to_numpy()
        outside = (ratio < low) | (ratio > high) | np.isnan(ratio)
        return pd.Series({"first": ratio[0], "last": ratio[-1], "min": ratio.min(),
                          "max": ratio.max(), "within": not outside.any(),
                          "first_outside": int(frame["layer"].to_numpy()[outside][0])
                          if outside.any() else 0})

    groups = sweep.groupby(list(GROUPS), sort=False)
    return pd.DataFrame({key: one(frame) for key, frame in groups}).T.rename_axis(
        list(GROUPS)).astype({"first": float, "last": float, "min": float, "max": float,
                              "within": bool, "first_outside": int})


def unit_differences(model):
    """How different the units of each Dense layer are: the test of broken symmetry.

    A unit is its column of the kernel (its incoming weights) and its bias.

    Returns:
        A DataFrame indexed by layer name with columns ``units``,
        ``distinct_units`` (how many different columns-with-bias the layer has)
        and ``max_difference`` (the largest ``|w - w'|`` between a unit's
        parameters and the first unit's).

    Example:
        >>> model = build_mlp(depth=1, width=4, initializer="zeros", example_shape=(3,))
        >>> unit_differences(model).loc["hidden_1"].tolist()
        [4.0, 1.0, 0.0]
    """
    rows = {}
    for layer in dense_layers(model):
        kernel = np.asarray(layer.kernel.numpy())
        params = kernel if layer.bias is None else np.vstack([kernel, layer.bias.numpy()])
        rows[layer.name] = {
            "units": params.shape[1],
            "distinct_units": len(np.unique(params, axis=1).T),
            "max_difference": float(np.abs(params - params[:, :1]).max()),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "layer"
    return table
