"""Recipes: the guidelines tables of chapter 9 as functions that build and compile a model.

Each recipe returns a :class:`Recipe`: a compiled model together with the input
scaling it expects (a ``scaling`` value of :func:`companion.load_fashion_mnist`)
and the settings it was built with. Every choice of a guidelines table is a
keyword argument with the table's value as its default, so the table printed in
the chapter is read from the functions' signatures (:func:`recipe_table`) and
cannot drift from the code:

* :func:`default_recipe`: He initialisation, ReLU, no normalisation (Batch
  Normalization optional), optional weight decay, L2 and dropout, AdamW under a
  1cycle schedule (momentum cycled too), batch 128: chapter 9's default, a choice
  of the cheaper shallow network that section 9.2 compares with alternatives
  (with Batch Normalization among them) and need not find the best;
* :func:`self_normalizing_recipe`: LeCun normal initialisation, SELU, no
  normalisation layer, AlphaDropout if any dropout, standardised inputs;
* :func:`naive_recipe`: the baseline of the 1990s, sigmoid units with weights
  drawn from N(0, 1) and plain SGD at a constant rate (kept as history);
* :func:`keras_defaults_recipe`: what a practitioner gets by leaving Keras at
  its defaults: ReLU, He normal, Adam at its default rate, constant, batch 32,
  pixels in [0, 1];
* :func:`sgd_1cycle_recipe`: a tuned peer set-up, 3x100 ReLU/He with plain SGD
  under a linear 1cycle peaking at 0.1, batch 128, pixels in [0, 1].

Every recipe has a ``batch_size`` keyword: the batch size it is meant to be
trained with (:func:`companion.run_once` and :func:`companion.time_to_accuracy`
use it unless told otherwise); it is recorded, not used, by the builder. A
recipe whose schedule is meant for a training run of a given length has a
``schedule_epochs`` keyword, recorded the same way (:func:`default_recipe`: 8
epochs); the others' schedules are laid over the whole run.

:data:`RECIPES` maps a name to each builder.
"""

import dataclasses
import inspect

import pandas as pd

from companion._quiet import keras
from companion.lab.models import build_mlp
from companion.tools.checks import check_choice, check_int, check_names, check_real
from companion.tools.schedules import cycle_momentum, OneCycleSchedule
from companion.lab.training import make_optimizer, STEPS_PER_EXECUTION, steps_per_call

SCHEDULES = (None, "1cycle", "linear_1cycle", "cosine", "warmup_cosine")
#: The linear 1cycle of :func:`sgd_1cycle_recipe`: the keyword arguments of
#: :class:`~companion.OneCycleSchedule` that make it rise linearly from a tenth of
#: the peak over the first 45% of the steps, then fall linearly to a thousandth
#: of the start, a ten-thousandth of the peak (a two-phase form of the three-phase
#: linear 1cycle of Smith 2018).
LINEAR_1CYCLE = {"warmup_fraction": 0.45, "initial_divisor": 10.0, "final_divisor": 1e3,
                 "annealing": "linear"}
OPTIMIZER_NAMES = {"sgd": "plain SGD", "nadam": "Nadam", "adam": "Adam", "adamw": "AdamW",
                   "rmsprop": "RMSprop"}


@dataclasses.dataclass
class Recipe:
    """What a recipe returns.

    Attributes:
        name: the recipe's name, a key of :data:`RECIPES`.
        model: the compiled Keras model (sparse categorical cross-entropy,
            accuracy).
        scaling: the input scaling the model expects, for
            :func:`companion.load_fashion_mnist` (``"unit"`` or ``"standard"``).
        settings: every keyword value the recipe was built with.
    """

    name: str
    model: keras.Model
    scaling: str
    settings: dict


def _optimizer(optimizer, learning_rate, schedule, total_steps, weight_decay=None):
    """An optimizer driven by ``schedule`` over ``total_steps`` (1cycle also cycles momentum).

    ``weight_decay`` (decoupled, Keras's ``weight_decay``) replaces the
    optimizer's own when given; ``None`` keeps it (AdamW's is 0.004).
    """
    check_choice("schedule", schedule, SCHEDULES)
    learning_rate = check_real("learning_rate", learning_rate, low=0, closed="neither")
    if total_steps is not None:
        total_steps = check_int("total_steps", total_steps, minimum=2)
    if weight_decay is not None:
        weight_decay = check_real("weight_decay", weight_decay, low=0)
    if schedule is None:
        return _decayed(make_optimizer(optimizer, learning_rate), weight_decay)
    if total_steps is None:
        raise ValueError(f"schedule={schedule!r} needs total_steps, the optimizer steps of "
                         f"the whole run (epochs * steps per epoch), an integer >= 2; "
                         f"got None")
    if schedule == "1cycle":
        rates = OneCycleSchedule(learning_rate, total_steps)
    elif schedule == "linear_1cycle":
        rates = OneCycleSchedule(learning_rate, total_steps, **LINEAR_1CYCLE)
    elif schedule == "warmup_cosine":  # a linear warm-up over 10% of the steps, then cosine
        warmup = max(1, total_steps // 10)
        rates = keras.optimizers.schedules.CosineDecay(
            learning_rate / 25, total_steps - warmup, warmup_target=learning_rate,
            warmup_steps=warmup)
    else:
        rates = keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
    optimizer = make_optimizer(optimizer, None)
    optimizer.learning_rate = rates  # before the first step: Keras accepts a schedule
    if schedule in ("1cycle", "linear_1cycle") and (isinstance(getattr(optimizer, "beta_1", None), float)
                                 or float(getattr(optimizer, "momentum", 0.0) or 0.0)):
        cycle_momentum(optimizer, rates)
    return _decayed(optimizer, weight_decay)


def _decayed(optimizer, weight_decay):
    """``optimizer`` with its decoupled weight decay set (before its first step)."""
    if weight_decay is not None:
        optimizer.weight_decay = weight_decay or None
    return optimizer


def _compile(name, model, optimizer, scaling, settings, steps_per_execution):
    steps_per_execution = steps_per_call(model, steps_per_execution)
    if "steps_per_execution" in settings:  # what the model was compiled with
        settings = {**settings, "steps_per_execution": steps_per_execution}
    check_int("batch_size", settings["batch_size"], minimum=1)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return Recipe(name=name, model=model, scaling=scaling, settings=settings)


def default_recipe(*, total_steps=None, depth=3, width=100, initializer="he_normal",
                   activation="relu", batch_norm=None, bn_momentum=0.99, l2=0.0,
                   dropout=0.0, optimizer="adamw", learning_rate=3e-3, weight_decay=None,
                   schedule="1cycle",
                   scaling="standard", batch_size=128, schedule_epochs=8,
                   example_shape=(28, 28), n_classes=10,
                   steps_per_execution=STEPS_PER_EXECUTION):
    """The default configuration of chapter 9: He init, ReLU, AdamW, 8-epoch 1cycle, batch 128.

    A choice for a shallow network, the cheaper per epoch: chapter 9 (section
    9.2) compares it over seeds with alternatives, Batch Normalization among
    them, and says in each build whether it is among those not separated from
    the best after a fixed number of epochs. No normalisation layer by default
    (``batch_norm="after"`` for a deep network); the peak rate is fixed, and
    section 9.2 shows it beside the range test's suggestion for this network.

    Args:
        total_steps: optimizer steps of the whole run (epochs times steps per
            epoch); required unless ``schedule=None``.
        depth, width: hidden layers and units per layer.
        initializer: kernel initializer of every Dense layer.
        activation: hidden activation (``"relu"``, ``"swish"``, ``"elu"`` ...).
        batch_norm: ``"after"`` or ``"before"`` the activation, or ``None``.
        bn_momentum: the BN layers' moving-average momentum, as for
            :func:`companion.build_mlp` (lower it for a run of few steps).
        l2: L2 penalty factor on every kernel; 0 for none.
        dropout: dropout rate after every hidden block, in [0, 1).
        optimizer: a Keras optimizer name (``"nadam"``, ``"adam"``, ``"adamw"``,
            ``"sgd"`` ...).
        learning_rate: the peak (1cycle) or initial (cosine) or constant rate.
        weight_decay: decoupled weight decay (Keras's ``weight_decay``, applied
            as ``w -= weight_decay * rate * w`` every step); ``None`` keeps the
            optimizer's own (AdamW: 0.004; the others: none). Prefer it to
            ``l2`` with an adaptive optimizer (Loshchilov and Hutter, 2019).
        schedule: ``"1cycle"`` (:class:`~companion.OneCycleSchedule`, with
            momentum or ``beta_1`` cycled), ``"linear_1cycle"`` (the same with
            :data:`LINEAR_1CYCLE`'s linear phases), ``"cosine"`` (``CosineDecay``),
            ``"warmup_cosine"`` (a linear warm-up over a tenth of the steps, then
            cosine decay) or ``None`` (constant).
        scaling: ``"standard"`` or ``"unit"`` input scaling.
        batch_size: the batch size the recipe is meant to train with (recorded in
            ``settings``; :func:`companion.run_once` reads it).
        schedule_epochs: the epochs of training the schedule is meant for, >= 1
            (recorded in ``settings``: the builder lays the schedule over
            ``total_steps``). :func:`companion.run_once` and
            :func:`companion.time_to_accuracy` lay it over this many epochs, or
            over the run's cap if that is shorter; ``None`` for the whole run.
            Eight epochs is the budget chapter 9 and the README's benchmark time
            on Fashion-MNIST.
        example_shape, n_classes: shape of one input and number of classes.
        steps_per_execution: passed to ``compile``.

    Returns:
        A :class:`Recipe`.

    Example:
        >>> recipe = default_recipe(total_steps=1000)
        >>> [layer.name for layer in recipe.model.layers][:3]
        ['flatten', 'hidden_1', 'hidden_2']
        >>> isinstance(recipe.model.optimizer, keras.optimizers.AdamW), recipe.scaling
        (True, 'standard')
        >>> recipe.settings["batch_size"], recipe.settings["schedule_epochs"]
        (128, 8)
    """
    return _mlp_recipe("default", dict(locals()))


def _mlp_recipe(name, settings):
    """Build and compile the MLP of a recipe whose keyword values are ``settings``."""
    options = {"batch_norm": None, "bn_momentum": 0.99, "l2": 0.0, "dropout": 0.0, **settings}
    check_choice("scaling", options["scaling"], ("standard", "unit"))
    check_int("steps_per_execution", options["steps_per_execution"], minimum=1)
    if options.get("schedule_epochs") is not None:
        check_int("schedule_epochs", options["schedule_epochs"], minimum=1)
    optimizer = _optimizer(options["optimizer"], options["learning_rate"], options["schedule"],
                           options["total_steps"], options.get("weight_decay"))
    l2 = check_real("l2", options["l2"], low=0)
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    model = build_mlp(depth=options["depth"], width=options["width"],
                      activation=options["activation"], initializer=options["initializer"],
                      batch_norm=options["batch_norm"], bn_momentum=options["bn_momentum"],
                      dropout=options["dropout"],
                      kernel_regularizer=regularizer, example_shape=options["example_shape"],
                      n_classes=options["n_classes"], name=f"{name}_recipe")
    return _compile(name, model, optimizer, options["scaling"], settings,
                    options["steps_per_execution"])


def self_normalizing_recipe(*, total_steps=None, depth=3, width=100,
                            initializer="lecun_normal", activation="selu", dropout=0.0,
                            optimizer="nadam", learning_rate=1e-3, schedule="1cycle",
                            batch_size=32, example_shape=(28, 28), n_classes=10,
                            steps_per_execution=STEPS_PER_EXECUTION):
    """The self-normalising configuration: LeCun normal init, SELU, no BN, standardised inputs.

    Self-normalisation (chapter 3) needs a plain stack of Dense layers, LeCun
    normal weights and inputs of mean 0 and variance 1: the recipe's
    ``scaling`` is always ``"standard"``, and any dropout is AlphaDropout,
    which keeps SELU's mean and variance. No L2 or max-norm either: both pull
    the weights' variance away from 1/fan-in.

    Args:
        total_steps: as for :func:`default_recipe`.
        depth, width: hidden layers and units per layer.
        initializer: kernel initializer (``"lecun_normal"`` for self-normalisation).
        activation: hidden activation (``"selu"`` for self-normalisation).
        dropout: AlphaDropout rate after every hidden layer, in [0, 1).
        optimizer, learning_rate, schedule: as for :func:`default_recipe`.
        batch_size, example_shape, n_classes, steps_per_execution: as for
            :func:`default_recipe`.

    Returns:
        A :class:`Recipe` whose ``scaling`` is ``"standard"``.

    Example:
        >>> recipe = self_normalizing_recipe(total_steps=1000, dropout=0.1)
        >>> [layer.name for layer in recipe.model.layers][1:3]
        ['hidden_1', 'dropout_1']
        >>> recipe.scaling
        'standard'
    """
    settings = dict(locals())
    check_int("steps_per_execution", steps_per_execution, minimum=1)
    optimizer = _optimizer(optimizer, learning_rate, schedule, total_steps)
    model = build_mlp(depth=depth, width=width, activation=activation, initializer=initializer,
                      dropout=dropout, dropout_kind="alpha",
                      example_shape=example_shape, n_classes=n_classes,
                      name="self_normalizing_recipe")
    return _compile("self_normalizing", model, optimizer, "standard", settings,
                    steps_per_execution)


def naive_recipe(*, total_steps=None, depth=3, width=100, initializer="normal_1",
                 activation="sigmoid", optimizer="sgd", learning_rate=0.01, schedule=None,
                 scaling="unit", batch_size=32, example_shape=(28, 28), n_classes=10,
                 steps_per_execution=STEPS_PER_EXECUTION):
    """The naive baseline: sigmoid units, weights from N(0, 1), plain SGD at a constant rate.

    ``initializer="normal_1"`` stands for ``keras.initializers.RandomNormal(
    stddev=1.0)``, the "small random numbers" of early practice, which for a
    layer of 784 inputs are far too large. ``total_steps`` is accepted for a
    uniform interface and used only with a schedule. The arguments not listed
    below are as for :func:`default_recipe`.

    Args:
        total_steps: as for :func:`default_recipe`.
        initializer: ``"normal_1"`` or any Keras initializer.

    Returns:
        A :class:`Recipe`.

    Example:
        >>> recipe = naive_recipe()
        >>> recipe.model.get_layer("hidden_1").kernel_initializer.stddev
        1.0
    """
    settings = dict(locals())
    check_choice("scaling", scaling, ("standard", "unit"))
    check_int("steps_per_execution", steps_per_execution, minimum=1)
    optimizer = _optimizer(optimizer, learning_rate, schedule, total_steps)
    if isinstance(initializer, str) and initializer == "normal_1":
        initializer = keras.initializers.RandomNormal(stddev=1.0)
    model = build_mlp(depth=depth, width=width, activation=activation, initializer=initializer,
                      example_shape=example_shape, n_classes=n_classes, name="naive_recipe")
    return _compile("naive", model, optimizer, scaling, settings, steps_per_execution)


def keras_defaults_recipe(*, total_steps=None, depth=3, width=100, initializer="he_normal",
                          activation="relu", optimizer="adam", learning_rate=1e-3,
                          schedule=None, scaling="unit", batch_size=32,
                          example_shape=(28, 28), n_classes=10,
                          steps_per_execution=STEPS_PER_EXECUTION):
    """A baseline from Keras's defaults: ReLU, He normal, Adam at 0.001, constant, batch 32.

    What a practitioner gets who writes a plain ``Sequential`` of ReLU layers
    with He initialisation, compiles it with ``optimizer="adam"`` and calls
    ``fit`` with its default batch size, on pixels divided by 255. The
    arguments are as for :func:`default_recipe` (no normalisation, no
    regularisation).

    Returns:
        A :class:`Recipe` whose ``scaling`` is ``"unit"``.

    Example:
        >>> recipe = keras_defaults_recipe()
        >>> type(recipe.model.optimizer).__name__, recipe.settings["batch_size"]
        ('Adam', 32)
        >>> round(float(recipe.model.optimizer.learning_rate), 6), recipe.scaling
        (0.001, 'unit')
    """
    return _mlp_recipe("keras_defaults", dict(locals()))


def sgd_1cycle_recipe(*, total_steps=None, depth=3, width=100, initializer="he_normal",
                      activation="relu", optimizer="sgd", learning_rate=0.1,
                      schedule="linear_1cycle", scaling="unit", batch_size=128,
                      example_shape=(28, 28), n_classes=10,
                      steps_per_execution=STEPS_PER_EXECUTION):
    """A tuned peer baseline: 3x100 ReLU/He, plain SGD under a linear 1cycle peaking at 0.1.

    The best Fashion-MNIST set-up of the 1cycle section of Geron's chapter 11
    notebook, built with the companion's own schedule: :class:`~companion.OneCycleSchedule`
    with :data:`LINEAR_1CYCLE` (a linear rise from 0.01 to 0.1 over 45% of the
    steps, then a linear fall to 1e-5; the notebook's version has a third, short
    phase for the final fall). Plain SGD has no momentum to cycle. Batch 128,
    pixels in [0, 1]. The arguments are as for :func:`default_recipe`.

    Returns:
        A :class:`Recipe` whose ``scaling`` is ``"unit"``.

    Example:
        >>> recipe = sgd_1cycle_recipe(total_steps=100)
        >>> rates = recipe.model.optimizer._learning_rate
        >>> [round(float(rates(step)), 4) for step in (0, 45, 100)]
        [0.01, 0.1, 0.0]
        >>> recipe.settings["batch_size"], float(recipe.model.optimizer.momentum)
        (128, 0.0)
    """
    return _mlp_recipe("sgd_1cycle", dict(locals()))


RECIPES = {"naive": naive_recipe, "default": default_recipe,
           "self_normalizing": self_normalizing_recipe,
           "keras_defaults": keras_defaults_recipe, "sgd_1cycle": sgd_1cycle_recipe}
"""The recipes by name; ``RECIPES["default"](total_steps=...)`` builds one."""


def get_recipe(name):
    """The builder registered under ``name`` in :data:`RECIPES`, with a clear error.

    Example:
        >>> get_recipe("default").__name__
        'default_recipe'
    """
    return RECIPES[check_choice("recipe", name, list(RECIPES))]


def recipe_defaults(name):
    """The keyword defaults of recipe ``name``, read from its signature.

    Example:
        >>> recipe_defaults("self_normalizing")["activation"]
        'selu'
    """
    return {key: parameter.default
            for key, parameter in inspect.signature(get_recipe(name)).parameters.items()}


def _describe(defaults, recipe):
    """The rows of the guidelines table, from one recipe's defaults."""
    init = {"normal_1": "N(0, 1)", "he_normal": "He normal", "lecun_normal": "LeCun normal",
            "glorot_uniform": "Glorot uniform"}.get(defaults["initializer"],
                                                    str(defaults["initializer"]))
    if recipe == "self_normalizing":
        normalization = "none (self-normalising)"
        dropout = "AlphaDropout" if defaults["dropout"] else "AlphaDropout if needed"
        regularization = dropout
    else:
        bn = defaults.get("batch_norm")
        normalization = f"Batch Normalization ({bn} the activation)" if bn else "none"
        parts = []
        if defaults.get("l2", 0):
            parts.append(f"L2 ({defaults['l2']:g})")
        if defaults.get("dropout", 0):
            parts.append(f"dropout ({defaults['dropout']:g})")
        decay = defaults.get("weight_decay")
        if decay is None and defaults["optimizer"] == "adamw":
            decay = 0.004  # Keras's AdamW default
        if decay:
            parts.append(f"weight decay ({decay:g})")
        if "l2" in defaults:
            regularization = "early stopping; " + (", ".join(parts) or "none") + \
                "; more if needed"
        else:
            regularization = ", ".join(parts) or "none"
    cycled = "momentum cycled" if defaults["optimizer"] != "sgd" else "no momentum"
    schedule = {None: "constant", "1cycle": f"1cycle ({cycled})",
                "linear_1cycle": f"linear 1cycle ({cycled})",
                "cosine": "cosine decay",
                "warmup_cosine": "linear warm-up (10%), then cosine decay"}[defaults["schedule"]]
    if defaults["schedule"] is not None:
        epochs = defaults.get("schedule_epochs")
        schedule += f", over {epochs} epochs" if epochs else ", over the whole run"
    scaling = defaults.get("scaling", "standard")
    activation = {"elu": "ELU", "selu": "SELU", "relu": "ReLU", "swish": "Swish",
                  "gelu": "GELU"}.get(defaults["activation"], str(defaults["activation"]))
    return {"initialization": init, "activation": activation,
            "normalization": normalization, "regularization": regularization,
            "optimizer": f"{OPTIMIZER_NAMES.get(defaults['optimizer'], defaults['optimizer'])}"
                         f", rate {defaults['learning_rate']:g}",
            "schedule": schedule,
            "input scaling": {"standard": "standardised", "unit": "[0, 1]"}[scaling],
            "architecture": f"{defaults['depth']} x {defaults['width']} Dense",
            "batch size": str(defaults.get("batch_size", 32))}


def recipe_table(names=("default", "self_normalizing")):
    """The guidelines table: one column per recipe, built from the recipes' defaults.

    Example:
        >>> recipe_table(["default"]).loc["activation", "default"]
        'ReLU'
    """
    if isinstance(names, str):  # one recipe's column
        names = [names]
    names = check_names("names", names, choices=list(RECIPES))
    table = pd.DataFrame({name: _describe(recipe_defaults(name), name) for name in names})
    table.index.name = "choice"
    return table
