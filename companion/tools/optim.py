"""Optimizers: NumPy reference update rules, 2-D test landscapes, trajectories, a bake-off.

Every reference rule has the signature ``rule(w, g, state, **hyperparameters)``:
it takes the weights ``w`` and the gradient ``g`` (NumPy arrays of one shape) and
a dict ``state`` that the rule fills with its own slots on the first call (start
with ``{}``), and returns the new weights. Each follows the arithmetic of the
Keras 3 optimizer of the same name, including where epsilon sits and how the
bias correction is folded in, so that :func:`compare_with_keras` finds them equal
to rounding error; the docstrings state those details.
"""

import dataclasses
import inspect
import math

import numpy as np
import pandas as pd

from companion._quiet import keras, tf
from companion.tools.checks import (
    check_array, check_bool, check_choice, check_int, check_mapping, check_real)


# --- reference update rules ---------------------------------------------------------

def sgd(w, g, state, *, learning_rate=0.01):
    """Plain gradient descent: ``w - lr * g`` (Keras ``SGD()``)."""
    return w - learning_rate * g


def momentum(w, g, state, *, learning_rate=0.01, momentum=0.9):
    """Momentum (Keras ``SGD(momentum=...)``).

    Keras keeps a velocity that already contains the learning rate,
    ``m <- momentum * m - lr * g``, and adds it to the weights.
    """
    m = state["m"] = momentum * state.get("m", 0.0) - learning_rate * g
    return w + m


def nesterov(w, g, state, *, learning_rate=0.01, momentum=0.9):
    """Nesterov accelerated gradient (Keras ``SGD(momentum=..., nesterov=True)``).

    Keras uses the reformulation in which the stored weights are the look-ahead
    point: the velocity is updated as for momentum, then the step is
    ``momentum * m - lr * g`` (the new velocity once more, plus the gradient
    step), so the gradient is never evaluated at a shifted point.
    """
    m = state["m"] = momentum * state.get("m", 0.0) - learning_rate * g
    return w + momentum * m - learning_rate * g


def adagrad(w, g, state, *, learning_rate=0.001, initial_accumulator_value=0.1,
            epsilon=1e-7):
    """AdaGrad (Keras ``Adagrad``).

    The accumulator of squared gradients starts at ``initial_accumulator_value``
    (0.1 in Keras), not 0, and epsilon sits inside the square root:
    ``w - lr * g / sqrt(s + eps)``.
    """
    s = state["s"] = state.get("s", initial_accumulator_value) + g**2
    return w - learning_rate * g / np.sqrt(s + epsilon)


def rmsprop(w, g, state, *, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
            centered=False):
    """RMSProp (Keras ``RMSprop``).

    ``s <- rho * s + (1 - rho) * g**2`` and the step is ``lr * g / sqrt(s + eps)``,
    epsilon inside the square root. ``centered=True`` subtracts the square of a
    running mean of the gradient from ``s`` (inside the root too). With
    ``momentum > 0`` the steps are accumulated, ``m <- momentum * m + step``, and
    ``m`` is subtracted from the weights.
    """
    s = state["s"] = rho * state.get("s", 0.0) + (1 - rho) * g**2
    if centered:
        mean = state["mean"] = rho * state.get("mean", 0.0) + (1 - rho) * g
        s = s - mean**2
    step = learning_rate * g / np.sqrt(s + epsilon)
    if momentum > 0:
        step = state["m"] = momentum * state.get("m", 0.0) + step
    return w - step


def adam(w, g, state, *, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adam (Keras ``Adam``).

    Both bias corrections are folded into the learning rate,
    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, and epsilon sits
    outside the square root, added to ``sqrt(v)`` of the *uncorrected* ``v``:
    ``w - alpha * m / (sqrt(v) + eps)``. (The paper adds epsilon to the corrected
    ``sqrt(v_hat)``; the two differ only in epsilon's effective size.)
    """
    t = state["t"] = state.get("t", 0) + 1
    m = state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    v = state["v"] = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g**2
    alpha = learning_rate * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return w - alpha * m / (np.sqrt(v) + epsilon)


def adamax(w, g, state, *, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """AdaMax (Keras ``Adamax``).

    The second moment becomes an exponentially weighted infinity norm,
    ``u <- max(beta_2 * u, |g|)``, which needs no bias correction; the first
    moment is corrected by ``1 - beta_1**t`` and epsilon is added to ``u``.
    """
    t = state["t"] = state.get("t", 0) + 1
    m = state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    u = state["u"] = np.maximum(beta_2 * state.get("u", 0.0), np.abs(g))
    return w - learning_rate * m / ((1 - beta_1**t) * (u + epsilon))


def nadam(w, g, state, *, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Nadam: Adam with Nesterov momentum (Keras ``Nadam``).

    The momentum coefficient warms up, ``mu_t = beta_1 * (1 - 0.5 * 0.96**t)``;
    Keras uses ``0.96**t``, so the warm-up is over within about a hundred steps
    (Dozat's paper has ``0.96**(t/250)``). The first moment is corrected by the
    running product of the ``mu`` and mixed Nesterov-style with the current
    gradient; epsilon sits outside ``sqrt(v_hat)``, ``v_hat`` bias-corrected.
    """
    t = state["t"] = state.get("t", 0) + 1
    mu_t = beta_1 * (1 - 0.5 * 0.96**t)
    mu_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    product = state["mu_product"] = state.get("mu_product", 1.0) * mu_t
    m = state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    v = state["v"] = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g**2
    m_hat = (mu_next * m / (1 - product * mu_next)
             + (1 - mu_t) * g / (1 - product))
    v_hat = v / (1 - beta_2**t)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)


def adamw(w, g, state, *, learning_rate=0.001, weight_decay=0.004, beta_1=0.9,
          beta_2=0.999, epsilon=1e-7):
    """AdamW: Adam with decoupled weight decay (Keras ``AdamW``).

    Before the Adam step, Keras shrinks the weights by ``lr * weight_decay``:
    ``w <- w - lr * wd * w``. The decay never enters the gradient, so Adam's
    moments do not see it. Keras multiplies ``wd`` by the learning rate (a
    schedule scales both); its default ``weight_decay`` is 0.004.
    """
    w = w - learning_rate * weight_decay * w
    return adam(w, g, state, learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                epsilon=epsilon)


def lion(w, g, state, *, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    """Lion, evolved sign momentum (Keras ``Lion``).

    The step is the *sign* of an interpolation between the momentum and the
    gradient, ``lr * sign(beta_1 * m + (1 - beta_1) * g)``, so every coordinate
    moves by exactly ``lr``; only then is the momentum updated, with ``beta_2``.
    """
    step = learning_rate * np.sign(beta_1 * state.get("m", 0.0) + (1 - beta_1) * g)
    state["m"] = beta_2 * state.get("m", 0.0) + (1 - beta_2) * g
    return w - step


@dataclasses.dataclass(frozen=True)
class Rule:
    """A reference rule and the Keras optimizer it reproduces.

    Attributes:
        update: the NumPy function ``update(w, g, state, **hyperparameters)``.
        keras_class: the name of the class in ``keras.optimizers``.
        keras_fixed: keyword arguments the Keras optimizer needs besides the
            shared hyperparameters (e.g. ``nesterov=True``).
        hyperparameters: the reference's defaults, which equal Keras's.
    """

    update: object
    keras_class: str
    keras_fixed: dict
    hyperparameters: dict

    def keras_optimizer(self, **hyperparameters):
        """A fresh Keras optimizer with the given (else default) hyperparameters."""
        config = {**self.hyperparameters, **hyperparameters, **self.keras_fixed}
        return getattr(keras.optimizers, self.keras_class)(**config)


def _rule(update, keras_class, **keras_fixed):
    defaults = {name: p.default for name, p in inspect.signature(update).parameters.items()
                if p.kind is p.KEYWORD_ONLY}
    return Rule(update, keras_class, keras_fixed, defaults)


#: The update rules by name, each with the Keras optimizer it reproduces.
#:
#: :meta hide-value:
RULES = {
    "sgd": _rule(sgd, "SGD"),
    "momentum": _rule(momentum, "SGD"),
    "nesterov": _rule(nesterov, "SGD", nesterov=True),
    "adagrad": _rule(adagrad, "Adagrad"),
    "rmsprop": _rule(rmsprop, "RMSprop"),
    "adam": _rule(adam, "Adam"),
    "adamax": _rule(adamax, "Adamax"),
    "nadam": _rule(nadam, "Nadam"),
    "adamw": _rule(adamw, "AdamW"),
    "lion": _rule(lion, "Lion"),
}


def _get_rule(name, argument="rule name"):
    return RULES[check_choice(argument, name, sorted(RULES))]


def _check_hyperparameters(name, rule, hyperparameters, argument="hyperparameters"):
    """Each hyperparameter of ``rule``, checked: a bool where the default is one, else a
    finite number, positive for the learning rate and in [0, 1) for a decay rate."""
    unknown = sorted(set(hyperparameters) - set(rule.hyperparameters))
    if unknown:
        raise ValueError(f"unknown {argument} {unknown} for {name!r}; valid choices: "
                         f"{sorted(rule.hyperparameters)}")
    checked = {}
    for key, value in hyperparameters.items():
        if isinstance(rule.hyperparameters[key], bool):
            checked[key] = check_bool(key, value)
        elif key == "learning_rate":
            checked[key] = check_real(key, value, low=0, closed="neither")
        elif key in ("beta_1", "beta_2", "rho", "momentum"):
            checked[key] = check_real(key, value, low=0, high=1, closed="left")
        else:
            checked[key] = check_real(key, value, low=0)
    return checked


def gradient_sequence(steps=50, size=8, *, seed=0):
    """A reproducible sequence of random gradients, ``(steps, size)``, float64.

    Each coordinate has its own scale, spread over three decades (0.01 to 10),
    so that the adaptive rules treat the coordinates differently.

    Example:
        >>> gradient_sequence(steps=3, size=2).shape
        (3, 2)
    """
    steps = check_int("steps", steps, minimum=1)
    size = check_int("size", size, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    scales = 10.0 ** rng.uniform(-2, 1, size=size)
    return rng.normal(size=(steps, size)) * scales


def run_reference(update, gradients, w0, **hyperparameters):
    """Apply a NumPy rule to each gradient in turn; the weights after every step.

    Args:
        update: a reference rule (e.g. :func:`adam`) or its name in :data:`RULES`.
        gradients: an array ``(steps, *w0.shape)``.
        w0: the initial weights.

    Returns:
        An array ``(steps, *w0.shape)``.

    Example:
        >>> run_reference("sgd", np.ones((2, 1)), np.zeros(1), learning_rate=0.5)
        array([[-0.5],
               [-1. ]])
    """
    if isinstance(update, str):
        update = _get_rule(update).update
    w, state, path = np.array(w0, dtype=np.float64), {}, []
    for g in np.asarray(gradients, dtype=np.float64):
        w = update(w, g, state, **hyperparameters)
        path.append(w)
    return np.array(path)


def run_keras(optimizer, gradients, w0, *, dtype="float64"):
    """Apply a Keras optimizer to a ``tf.Variable`` with the given gradients, in turn.

    Args:
        optimizer: a fresh (unbuilt) Keras optimizer.
        gradients: an array ``(steps, *w0.shape)``.
        w0: the initial weights.
        dtype: the variable's dtype, ``"float64"`` or ``"float32"``.

    Returns:
        The weights after every step, ``(steps, *w0.shape)``, float64.

    Example:
        >>> run_keras(keras.optimizers.SGD(0.5), np.ones((2, 1)), np.zeros(1))
        array([[-0.5],
               [-1. ]])
    """
    _check_fresh(optimizer)
    if dtype not in ("float64", "float32"):
        raise ValueError(f"unknown dtype {dtype!r}; valid choices: ['float32', 'float64']")
    w = tf.Variable(np.asarray(w0), dtype=dtype)
    path = []
    for g in np.asarray(gradients):
        optimizer.apply_gradients([(tf.constant(g, dtype=dtype), w)])
        path.append(w.numpy().astype(np.float64))
    return np.array(path)


def compare_with_keras(name, *, steps=50, size=8, seed=0, dtype="float64",
                       **hyperparameters):
    """Largest absolute difference between a reference rule and its Keras optimizer.

    Both start from the same random weights and receive the same sequence of
    random gradients (:func:`gradient_sequence`); the difference is taken over
    every coordinate after every step. Even with float64 weights the two do
    not agree to the last digit: Keras keeps the learning rate in a float32
    variable and turns ``beta_1`` and ``beta_2`` into float32 tensors before
    raising them to the power ``t``, so they enter rounded to about 7 digits.

    Args:
        name: a key of :data:`RULES`, e.g. ``"adam"``.
        hyperparameters: passed to both, e.g. ``learning_rate=0.01``.

    Example:
        >>> compare_with_keras("adam", steps=10) < 1e-5
        True
    """
    rule = _get_rule(name)
    hyperparameters = _check_hyperparameters(name, rule, hyperparameters)
    check_choice("dtype", dtype, ("float32", "float64"))
    gradients = gradient_sequence(steps, size, seed=seed)
    w0 = np.random.default_rng(seed + 1).normal(size=size)
    reference = run_reference(rule.update, gradients, w0, **hyperparameters)
    actual = run_keras(rule.keras_optimizer(**hyperparameters), gradients, w0, dtype=dtype)
    return float(np.max(np.abs(reference - actual)))


#: One non-default setting per rule, chosen so that each Keras detail matters. A large
#: epsilon makes its placement visible, a large initial accumulator its start, etc.
STRESS_SETTINGS = {
    "sgd": {"learning_rate": 0.1},
    "momentum": {"learning_rate": 0.05, "momentum": 0.5},
    "nesterov": {"learning_rate": 0.05, "momentum": 0.5},
    "adagrad": {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 0.1},
    "rmsprop": {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "epsilon": 0.01},
    "adam": {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.1},
    "adamax": {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.5, "epsilon": 0.1},
    "nadam": {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.1},
    "adamw": {"learning_rate": 0.05, "weight_decay": 0.5, "epsilon": 0.1},
    "lion": {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9},
}


def agreement_table(settings=None, *, steps=50, seed=0):
    """One row per rule and setting: the Keras class and the largest difference.

    Args:
        settings: a mapping from rule name to a list of hyperparameter dicts;
            by default every rule at its Keras defaults and at its
            :data:`STRESS_SETTINGS`.

    Returns:
        A DataFrame with columns ``rule``, ``keras``, ``hyperparameters``,
        ``steps`` and ``max_abs_difference``.

    Example:
        >>> bool(agreement_table({"sgd": [{}]})["max_abs_difference"].max() < 1e-5)
        True
    """
    if settings is None:
        settings = {name: [{}, STRESS_SETTINGS[name]] for name in RULES}
    check_mapping("settings", settings, what="rule names to lists of hyperparameter dicts")
    steps = check_int("steps", steps, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    for name, variants in settings.items():
        rule = _get_rule(name, argument="rule name in settings")
        if not isinstance(variants, (list, tuple)) or not all(isinstance(hp, dict)
                                                              for hp in variants):
            raise TypeError(f"settings[{name!r}] must be a list of hyperparameter dicts, got "
                            f"{variants!r}")
        for hp in variants:
            try:
                _check_hyperparameters(name, rule, hp, argument=f"settings[{name!r}] keys")
            except (TypeError, ValueError) as error:
                raise type(error)(f"settings[{name!r}]: {error}") from None
    rows = []
    for name, variants in settings.items():
        rule = _get_rule(name)
        for hp in variants:
            shown = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in hp.items()) or "defaults"
            rows.append({"rule": name, "keras": _keras_label(rule), "hyperparameters": shown,
                         "steps": steps,
                         "max_abs_difference": compare_with_keras(name, steps=steps,
                                                                  seed=seed, **hp)})
    return pd.DataFrame(rows)


def _keras_label(rule):
    extra = ", ".join(f"{k}={v}" for k, v in rule.keras_fixed.items())
    if rule.update is momentum:
        extra = "momentum=0.9"
    if rule.update is nesterov:
        extra = "momentum=0.9, " + extra
    return f"{rule.keras_class}({extra})"


def _check_fresh(optimizer):
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(f"optimizer must be a keras.optimizers.Optimizer, got "
                         f"{type(optimizer).__name__}")
    if optimizer.built:
        raise ValueError("optimizer has already been used; pass a fresh one, since its "
                         "state (step count, moments) would carry over")


# --- 2-D landscapes and trajectories -------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Landscape:
    """A 2-D loss surface for drawing optimizer paths.

    Attributes:
        name: a label.
        function: ``f(w)`` for ``w = (x, y)``, written with arithmetic that works
            on NumPy arrays (also on grids: ``w`` of shape ``(2, ...)``) and on
            TensorFlow tensors, so that ``tf.GradientTape`` can differentiate it.
        gradient: the analytic gradient, NumPy.
        minimum: the minimiser ``(x, y)``.
        start: the default starting point.
        xlim, ylim: the region to draw.
    """

    name: str
    function: object
    gradient: object
    minimum: tuple
    start: tuple
    xlim: tuple
    ylim: tuple

    def __call__(self, w):
        return self.function(w)


def ill_conditioned_quadratic(condition=25.0):
    """The bowl ``f(x, y) = (x**2 + condition * y**2) / 2``, minimum 0 at the origin.

    Its Hessian is ``diag(1, condition)``: the curvature across the valley is
    ``condition`` times the curvature along it.

    Example:
        >>> q = ill_conditioned_quadratic(25.0)
        >>> float(q(np.array([1.0, 1.0])))
        13.0
    """
    condition = check_real("condition", condition, low=1)
    return Landscape(
        name=f"quadratic, condition number {condition:g}",
        function=lambda w: 0.5 * (w[0] ** 2 + condition * w[1] ** 2),
        gradient=lambda w: np.array([w[0], condition * w[1]], dtype=np.float64),
        minimum=(0.0, 0.0), start=(-4.0, 1.0), xlim=(-4.5, 2.0), ylim=(-1.5, 1.5))


def rosenbrock(a=1.0, b=100.0):
    """Rosenbrock's banana ``f(x, y) = (a - x)**2 + b * (y - x**2)**2``, minimum 0 at ``(a, a**2)``.

    Example:
        >>> float(rosenbrock()(np.array([1.0, 1.0])))
        0.0
    """
    a = check_real("a", a)
    b = check_real("b", b, low=0, closed="neither")
    return Landscape(
        name="Rosenbrock",
        function=lambda w: (a - w[0]) ** 2 + b * (w[1] - w[0] ** 2) ** 2,
        gradient=lambda w: np.array([-2 * (a - w[0]) - 4 * b * w[0] * (w[1] - w[0] ** 2),
                                     2 * b * (w[1] - w[0] ** 2)], dtype=np.float64),
        minimum=(a, a * a), start=(-1.5, 2.0), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0))


def trajectory(optimizer, landscape, *, steps=100, start=None):
    """Step a real Keras optimizer on a 2-D landscape; the path it takes.

    The point is a float64 ``tf.Variable``; at every step ``tf.GradientTape``
    differentiates ``landscape(w)`` and ``optimizer.apply_gradients`` moves it.
    The loop runs inside one ``tf.function`` (not XLA-compiled).

    Args:
        optimizer: a fresh Keras optimizer (it keeps state between steps).
        landscape: a :class:`Landscape`.
        steps: number of optimizer steps, >= 1.
        start: the starting point; by default ``landscape.start``.

    Returns:
        An array ``(steps + 1, 2)``: the start, then the point after each step.

    Example:
        >>> path = trajectory(keras.optimizers.SGD(0.1), ill_conditioned_quadratic(),
        ...                   steps=5)
        >>> path.shape
        (6, 2)
    """
    _check_fresh(optimizer)
    _check_landscape(landscape)
    steps = check_int("steps", steps, minimum=1)
    start = landscape.start if start is None else check_array("start", start, ndim=1)
    if np.shape(start) != (2,):
        raise ValueError(f"start must be a point (x, y), got {start!r}")
    w = tf.Variable(np.array(start, dtype=np.float64))
    optimizer.build([w])

    @tf.function  # one compiled loop: far faster than eager steps, same arithmetic
    def run():
        path = tf.TensorArray(tf.float64, size=steps)
        for i in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = landscape(w)
            optimizer.apply_gradients([(tape.gradient(loss, w), w)])
            path = path.write(i, w.read_value())
        return path.stack()

    return np.concatenate([w.numpy()[None], run().numpy()])


def _check_landscape(landscape):
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a Landscape (e.g. rosenbrock()), got "
                        f"{type(landscape).__name__}")


def distance_to_minimum(path, landscape):
    """Euclidean distance from each point of ``path`` to the landscape's minimiser.

    Example:
        >>> distance_to_minimum([[3.0, 4.0], [0.0, 0.0]], ill_conditioned_quadratic()).tolist()
        [5.0, 0.0]
    """
    _check_landscape(landscape)
    path = check_array("path", path, finite=False)
    if path.shape[-1:] != (2,):
        raise ValueError(f"path must hold points (x, y), shape (steps, 2), got shape "
                         f"{path.shape}")
    return np.linalg.norm(path - np.asarray(landscape.minimum), axis=-1)


# --- L2 regularisation versus decoupled weight decay --------------------------------

def decay_versus_l2(*, scales=(10.0, 1.0, 0.01), steps=200, learning_rate=0.01,
                    weight_decay=0.1):
    """How much a decay term shrinks each weight under Adam + L2 and under AdamW.

    Each weight starts at 1 and receives a loss gradient of its own scale that
    flips sign at every step (``scale * (-1)**t``): pure noise, no direction, so
    that without decay the weights stay where they are. Each variant runs twice
    on the same gradients, with and without its decay term, and the shrinkage
    is the difference of the final weights. With an L2 penalty the decay term
    ``weight_decay * w`` is added to the gradient and so passes through Adam's
    division by ``sqrt(v)``; AdamW applies it directly to the weights.

    Returns:
        A DataFrame indexed by the gradient scale, with the shrinkage under
        ``adam + L2`` and ``adamw``.

    Example:
        >>> table = decay_versus_l2()
        >>> table.columns.tolist()
        ['adam + L2', 'adamw']
    """
    scales = check_array("scales", scales, ndim=1)
    if not np.all(scales > 0):
        raise ValueError(f"scales must be positive numbers, got {scales.tolist()}")
    steps = check_int("steps", steps, minimum=1)
    learning_rate = check_real("learning_rate", learning_rate, low=0, closed="neither")
    weight_decay = check_real("weight_decay", weight_decay, low=0)
    noise = (-1.0) ** np.arange(steps)[:, None] * scales

    def final(update, l2, **hp):
        w, state = np.ones_like(scales), {}
        for g in noise:
            w = update(w, g + l2 * w, state, learning_rate=learning_rate, **hp)
        return w

    return pd.DataFrame({
        "adam + L2": final(adam, 0.0) - final(adam, weight_decay),
        "adamw": (final(adamw, 0.0, weight_decay=0.0)
                  - final(adamw, 0.0, weight_decay=weight_decay)),
    }, index=pd.Index(scales, name="gradient scale"))
