"""Quiet training runs that return tidy results: history, timings, test metrics."""

import collections
import dataclasses
import functools
import hashlib
import warnings

import numpy as np
import pandas as pd

from companion._quiet import keras, tf
from companion.tools.callbacks import _reached, EpochTimer, StopAtTarget  # noqa: F401
from companion.lab.seeding import reseed
from companion.tools.checks import (
    check_attributes, check_bool, check_choice, check_int, check_list, check_mapping,
    check_model, check_real)
from companion.tools.diagnostics import resolve_loss
from companion.tools.optimizers import make_optimizer
from companion.tools.timing import interleaved_times
from companion.tools.tracing import build_for_fit

#: Optimizer steps per call into the compiled graph. On a CPU this cuts the Python
#: overhead that dominates small MLPs; ``python -m companion steps`` measures it
#: (README: about 2x against 1 at batch size 32; little gained beyond 32).
STEPS_PER_EXECUTION = 32

#: Examples per batch when :func:`train` evaluates, on the validation split after every
#: epoch and on the test split at the end (or the training batch size, if larger).
#: Evaluation computes no gradient and keeps no activations for one, so a large batch
#: costs little memory. Keras weights each batch's loss by the batch's size and counts
#: accuracy per example, so for the losses and metrics the course compiles (averaged
#: over examples) any batching gives the same values up to float rounding; a loss summed
#: over a batch, or a metric computed once per batch, would not. On 5,000 validation
#: images (a 3 x 100 MLP, 2-core development machine), evaluating in batches of 1024
#: took 19 to 21 ms against 81 to 96 ms in batches of 32 (the medians of 7 calls, in two
#: runs): a saving of about a quarter of an epoch on 10,000 training images.
EVALUATION_BATCH_SIZE = 1024


def steps_per_call(model, steps_per_execution):
    """``steps_per_execution`` for ``model``; 1 where Keras cannot loop over several steps.

    Keras 3 runs several steps per call in a ``tf.while_loop`` whose body holds a
    ``tf.cond``, and under a ``MirroredStrategy`` of two replicas (two logical CPUs,
    TensorFlow 2.21, Keras 3.15) such a step failed with "You must feed a value for
    placeholder tensor", apparently keras-team/keras#19246. For a model distributed over
    several replicas, with any strategy (a precaution beyond the case reproduced), this
    returns 1, with a warning that says so. The optimizer steps and their results are
    the same; the Python overhead per step is larger, and batch-level callbacks run after
    every step instead of every ``steps_per_execution`` steps.

    Example:
        >>> net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> steps_per_call(net, 32)  # one replica: as asked
        32
    """
    steps_per_execution = check_int("steps_per_execution", steps_per_execution, minimum=1)
    replicas = getattr(model, "distribute_strategy", tf.distribute.get_strategy())
    if steps_per_execution > 1 and replicas.num_replicas_in_sync > 1:
        warnings.warn(
            f"compiling with steps_per_execution=1 instead of {steps_per_execution}: under "
            f"a strategy of {replicas.num_replicas_in_sync} replicas, Keras's loop of several "
            "steps per call fails (keras-team/keras#19246)", RuntimeWarning, stacklevel=3)
        return 1
    return steps_per_execution


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model.
        history: one row per epoch: the training and validation metrics Keras
            logged, plus ``seconds`` (wall time of the epoch).
        test: test-set metrics, e.g. ``{"loss": 0.41, "accuracy": 0.85}`` (empty
            when not evaluated).
    """

    model: keras.Model
    history: pd.DataFrame
    test: dict

    @property
    def seconds_per_epoch(self):
        """Median wall time of an epoch (the first epoch includes tracing)."""
        return float(self.history["seconds"].median())

    def time_to_target(self, target, *, monitor="val_accuracy", mode="max"):
        """Epochs and wall seconds until ``monitor`` first reached ``target``.

        Seconds are summed over whole epochs up to and including the one that
        reached the target (validation and the first epoch's tracing included),
        which is what a user waits.

        Returns:
            ``{"epochs": int, "seconds": float}``, or
            ``{"epochs": None, "seconds": None}`` when the run never reached the target.

        Example:
            >>> result.time_to_target(0.85)  # doctest: +SKIP
            {'epochs': 3, 'seconds': 2.4}
        """
        check_choice("monitor", monitor, [c for c in self.history.columns if c != "seconds"])
        check_choice("mode", mode, ("max", "min"))
        target = check_real("target", target)
        hits = self.history.index[_reached(self.history[monitor], target, mode)]
        if len(hits) == 0:
            return {"epochs": None, "seconds": None}
        epoch = int(hits[0])
        return {"epochs": epoch,
                "seconds": float(self.history["seconds"].loc[:epoch].sum())}

    def summary(self):
        """One row of numbers: final metrics, test metrics, seconds per epoch."""
        row = self.history.iloc[-1].drop("seconds").to_dict()
        row.update({f"test_{k}": v for k, v in self.test.items()})
        row["seconds_per_epoch"] = self.seconds_per_epoch
        return row


def train(model, data, *, epochs, optimizer="sgd", learning_rate=None, batch_size=32,
          loss="sparse_categorical_crossentropy", metrics=("accuracy",), callbacks=(),
          target=None, validate=True, evaluate=True, compile=True,
          steps_per_execution=STEPS_PER_EXECUTION):
    """Compile ``model``, fit it quietly on ``data`` and measure it: the course's one fit path.

    Every training run of the course goes through here (the benchmark and
    fine-tuning included), so every run is timed, tabulated and stopped at a
    target the same way. Given NumPy arrays outside a distribution strategy, the
    training examples are shuffled anew every epoch, by a stateless shuffle seeded by
    the global seed and the epoch's number (given arrays under a global seed, Keras 3
    alone repeats the first epoch's order, as it still does in the other cases).

    Args:
        model: a Keras model; compiled here unless ``compile=False``.
        data: an object with ``x_train, y_train, x_valid, y_valid, x_test,
            y_test`` arrays, such as :func:`companion.load_fashion_mnist` returns.
        epochs: number of epochs (the cap, with ``target``), >= 1.
        optimizer: a Keras optimizer name or instance.
        learning_rate: the learning rate, with an optimizer name.
        batch_size: examples per optimizer step. Evaluation, on the validation split
            after every epoch and on the test split, takes batches of
            ``cp.EVALUATION_BATCH_SIZE`` (1024), or of ``batch_size`` if larger.
        loss, metrics: as for ``Model.compile``.
        callbacks: extra Keras callbacks.
        target: stop at the end of the first epoch whose validation accuracy
            reaches it (:class:`~companion.StopAtTarget`); ``None`` to run all epochs.
        validate: evaluate the validation split after every epoch.
        evaluate: evaluate on the test split at the end.
        compile: compile with ``optimizer``, ``loss``, ``metrics`` and
            ``steps_per_execution``; ``False`` keeps the model's own compilation
            (a recipe's, say), and then those four must be left at their defaults.
        steps_per_execution: optimizer steps per compiled call.

    Returns:
        A :class:`TrainingResult`.

    Example:
        >>> result = train(build_mlp(depth=2), data, epochs=2)  # doctest: +SKIP
        >>> result.history.columns.tolist()  # doctest: +SKIP
        ['accuracy', 'loss', 'val_accuracy', 'val_loss', 'seconds']
    """
    check_model("model", model)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    validate = check_bool("validate", validate)
    evaluate = check_bool("evaluate", evaluate)
    compile = check_bool("compile", compile)
    _check_data(data, validate=validate, evaluate=evaluate)
    if target is not None:
        target = check_real("target", target, low=0, high=1, closed="right")
        if not validate:
            raise ValueError("target needs the validation accuracy: pass validate=True")
    callbacks = _check_callbacks(callbacks)
    if compile:
        compile_model(model, optimizer=optimizer, learning_rate=learning_rate, loss=loss,
                      metrics=metrics, steps_per_execution=steps_per_execution)
    elif not getattr(model, "compiled", False):
        raise ValueError(f"compile=False needs a compiled model; {model.name!r} is not")
    # one trace of the training step instead of two (see companion.tools.tracing)
    build_for_fit(model, data.x_train, data.y_train)
    timer = EpochTimer()
    stops = [] if target is None else [StopAtTarget(target)]
    evaluation_batch_size = max(EVALUATION_BATCH_SIZE, batch_size)
    valid = None
    if validate:
        valid = _evaluation_batches(model, data.x_valid, data.y_valid, evaluation_batch_size)
        if valid is None:
            valid = (data.x_valid, data.y_valid)
    train_batches = _training_batches(model, data.x_train, data.y_train, batch_size)
    training = (dict(x=data.x_train, y=data.y_train, batch_size=batch_size)
                if train_batches is None else
                dict(x=train_batches, steps_per_epoch=int(train_batches.cardinality()),
                     shuffle=False))
    if isinstance(valid, tuple):  # arrays: Keras batches them
        training["validation_batch_size"] = evaluation_batch_size
    fitted = model.fit(**training, validation_data=valid, epochs=epochs,
                       callbacks=[timer, *stops, *callbacks], verbose=0)
    history = pd.DataFrame(fitted.history)
    history.index = pd.RangeIndex(1, len(history) + 1, name="epoch")
    history["seconds"] = timer.seconds
    test = {}
    if evaluate:
        batches = _evaluation_batches(model, data.x_test, data.y_test, evaluation_batch_size)
        given = (dict(x=data.x_test, y=data.y_test, batch_size=evaluation_batch_size)
                 if batches is None else dict(x=batches))
        test = model.evaluate(**given, verbose=0, return_dict=True)
        test = {name: float(value) for name, value in test.items()}
    return TrainingResult(model=model, history=history, test=test)


def _check_data(data, *, validate, evaluate):
    """Refuse a data set that lacks the splits a run will use, or whose x and y differ in length."""
    check_attributes("data", data, ["x_train", "y_train"]
                     + (["x_valid", "y_valid"] if validate else [])
                     + (["x_test", "y_test"] if evaluate else []),
                     what="a data set such as load_fashion_mnist returns")
    if len(data.x_train) != len(data.y_train):
        raise ValueError(f"data.x_train and data.y_train must hold as many examples, got "
                         f"{len(data.x_train)} and {len(data.y_train)}")


# The evaluation batches of the last few data sets (_evaluation_batches): few, because a
# chapter evaluates on one or two data sets at a time.
_KEPT_BATCHES = 4
_kept_batches = collections.OrderedDict()


def _plain_arrays(model, x, y):
    """Whether ``(x, y)`` may go into a data set of ours rather than to Keras as arrays.

    Not under a distribution strategy, which shards the arrays it is given itself; not
    for inputs other than NumPy arrays of integers or of Keras's float type (Keras would
    cast other floats first); not for empty ones.
    """
    floatx = keras.config.floatx()
    return (not tf.distribute.has_strategy()
            and model.distribute_strategy is tf.distribute.get_strategy()
            and all(isinstance(a, np.ndarray) and a.size > 0
                    and (a.dtype.kind in "biu" or a.dtype == floatx) for a in (x, y)))


def _training_batches(model, x, y, batch_size):
    """The training arrays as one epoch of shuffled batches, in a new order every epoch.

    Given arrays, Keras 3 shuffles them with a random operation inside its input
    pipeline, over which it creates a new iterator for every epoch; under a global seed
    (which :func:`companion.setup` and :func:`companion.reseed` set) that operation
    restarts from the same state with each iterator, so every epoch of a run visits the
    examples in the same order (Keras 3.15, TensorFlow 2.21). Here the order of epoch
    ``k`` is a stateless shuffle under the seed ``(s, k)``: ``s`` is drawn the way Keras
    draws its shuffle (from the global seed, the same for every run under one seed, so
    a run after :func:`companion.reinitialize` sees the orders of a fresh one), and
    ``k`` counts the epochs of this run. Batches are Keras's: consecutive slices of the
    order, the last one smaller when ``batch_size`` does not divide the examples. Each
    run counts its epochs from the first, so two runs in a row under one global seed
    (a second ``train`` call on the same model, the second phase of
    :func:`companion.fine_tune`) see the same sequence of orders, as two fresh runs do.

    The data set has a known number of batches, which ``fit`` gets as
    ``steps_per_epoch``: Keras then creates the next epoch's iterator once, at the end
    of an epoch, instead of twice (10 to 60 ms each here).

    Returns ``None`` when :func:`_plain_arrays` says no: Keras then gets the arrays, and
    repeats one order every epoch.
    """
    if not _plain_arrays(model, x, y):
        return None
    n = len(x)
    full, partial = divmod(n, batch_size)
    with tf.device("/CPU:0"):  # where tf.data runs, whatever the model's device
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # this run's epochs so far

    def order(_):
        # a stateful draw inside a data set's function starts again with every iterator
        run_seed = tf.random.uniform([], maxval=2**31 - 1, dtype=tf.int64)
        seed = tf.stack([run_seed, epoch.assign_add(1)])
        return tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed)

    def batch_indices(indices):
        batches = tf.data.Dataset.from_tensor_slices(
            tf.reshape(indices[:full * batch_size], [full, batch_size]))
        if partial:
            batches = batches.concatenate(
                tf.data.Dataset.from_tensors(indices[full * batch_size:]))
        return batches

    indices = tf.data.Dataset.range(1).map(order).flat_map(batch_indices)
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
    batches = tf.data.Dataset.zip(indices, arrays).map(
        lambda i, xy: (tf.gather(xy[0], i), tf.gather(xy[1], i)))
    steps = full + (partial > 0)
    return batches.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(
        tf.data.AUTOTUNE)


def _evaluation_batches(model, x, y, batch_size):
    """``(x, y)`` to evaluate on, as a data set of batches of ``batch_size``.

    Given arrays, Keras builds a new input pipeline in every ``fit`` (for the validation
    split) and ``evaluate`` call: with both pipelines built here instead, once per
    content (a hash of the arrays, so that changed arrays get a new one) and with their
    batches cached, a 3-epoch run on 3,000 images (2,000 validation images, and the
    10,000 test images) took 0.95 s instead of 1.15 s. The batches and their order are
    those Keras makes of the arrays, so the metrics are the same. Up to
    ``_KEPT_BATCHES`` data sets are kept, each twice (the arrays and the cached batches):
    about 250 MB for four sets of 10,000 images.

    Returns ``None`` (Keras then gets the arrays) when :func:`_plain_arrays` says no.
    """
    if not _plain_arrays(model, x, y):
        return None
    # SHA-1 as a fast content hash (17 ms for 10,000 images here), not for security
    digest = hashlib.sha1(usedforsecurity=False)
    for a in (x, y):
        a = np.ascontiguousarray(a)
        digest.update(repr((a.shape, a.dtype.str)).encode())
        digest.update(memoryview(a).cast("B"))
    key = (digest.hexdigest(), batch_size)
    if key not in _kept_batches:
        _kept_batches[key] = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache()
        if len(_kept_batches) > _KEPT_BATCHES:
            _kept_batches.popitem(last=False)
    _kept_batches.move_to_end(key)
    return _kept_batches[key]


def compile_model(model, *, optimizer="sgd", learning_rate=None,
                  loss="sparse_categorical_crossentropy", metrics=("accuracy",),
                  steps_per_execution=STEPS_PER_EXECUTION):
    """Compile ``model`` the way :func:`train` does, and return it.

    For a model that several runs will train: compile it once, then start each run
    with :func:`companion.reinitialize` and ``train(..., compile=False)``, so that
    Keras traces its training step once rather than once per run.

    Args:
        model: a Keras model.
        optimizer, learning_rate, loss, metrics, steps_per_execution: as for
            :func:`train`.

    Returns:
        ``model``, compiled, its optimizer built (unless the model is not built yet,
        or was compiled under a distribution strategy: then ``fit`` builds it).

    Example:
        >>> net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> net = compile_model(net, optimizer="adam", learning_rate=1e-3)
        >>> type(net.optimizer).__name__, net.optimizer.built
        ('Adam', True)
    """
    check_model("model", model)
    optimizer = make_optimizer(optimizer, learning_rate)
    if isinstance(loss, str):
        resolve_loss(loss)
    metrics = _check_metrics(metrics)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics,
                  steps_per_execution=steps_per_call(model, steps_per_execution))
    return build_for_fit(model)


def _check_metrics(metrics):
    return check_list("metrics", metrics, what="metric names or objects")


def _check_callbacks(callbacks):
    callbacks = check_list("callbacks", callbacks, what="keras.callbacks.Callback",
                           single=(keras.callbacks.Callback,))
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(f"callbacks[{i}] must be a keras.callbacks.Callback, got "
                            f"{type(callback).__name__} {callback!r}")
    return callbacks


def compare(builders, data, *, seed=None, **train_kwargs):
    """Train one model per configuration under the same seed and tabulate the results.

    Args:
        builders: a mapping from a configuration's name to a function of no
            argument that returns a fresh model.
        data: as for :func:`train`.
        seed: re-applied before each configuration, so all start from the same
            random state; by default the seed of :func:`companion.setup`.
        **train_kwargs: passed to :func:`train` (``epochs`` is required).

    Returns:
        ``(table, results)``: a DataFrame with one row per configuration (see
        :meth:`TrainingResult.summary`) and a dict of :class:`TrainingResult`.

    Example:
        >>> table, results = compare(  # doctest: +SKIP
        ...     {"relu": lambda: build_mlp(activation="relu"),
        ...      "tanh": lambda: build_mlp(activation="tanh")}, data, epochs=3)
    """
    check_mapping("builders", builders, what="configuration names to model builders")
    for name, build in builders.items():
        if isinstance(build, keras.Model) or not callable(build):
            raise TypeError(f"builders[{name!r}] must be a function returning a model, "
                            f"got {type(build).__name__}")
    check_attributes("data", data, ("x_train", "y_train"), what="a data set")
    seed = reseed(seed)  # checked before the first configuration trains
    results = {}
    for name, build in builders.items():
        reseed(seed)
        results[name] = train(build(), data, **train_kwargs)
    table = pd.DataFrame({name: r.summary() for name, r in results.items()}).T
    table.index.name = "configuration"
    return table, results



def target_table(results, target, *, monitor="val_accuracy", mode="max", skip_first=True):
    """Epochs to a target and seconds per epoch, one row per configuration.

    Args:
        results: a mapping from a configuration's name to a
            :class:`TrainingResult` or a list of them (one per seed).
        target: the value of ``monitor`` to reach.
        skip_first: leave each run's first epoch, which includes tracing and
            compiling the graph, out of the seconds per epoch.

    Returns:
        A DataFrame indexed by configuration with columns ``runs``, ``reached``
        (runs that reached the target), ``epochs_to_target`` (median over runs,
        a run that never reached it counting as infinitely many epochs, so the
        value is ``inf`` unless most runs reached it), ``max_epochs`` (longest
        run) and ``seconds_per_epoch`` (median over the epochs of all runs).

    Example:
        >>> target_table({"bn": [r1, r2], "plain": [r3, r4]}, 0.8)  # doctest: +SKIP
               runs  reached  epochs_to_target  max_epochs  seconds_per_epoch
        bn        2        2               2.0           5               1.21
        plain     2        0               inf           5               0.47
    """
    check_mapping("results", results, what="configuration names to TrainingResults")
    target = check_real("target", target)
    check_choice("mode", mode, ("max", "min"))
    skip_first = check_bool("skip_first", skip_first)
    rows = {}
    for name, runs in results.items():
        runs = [runs] if isinstance(runs, TrainingResult) else runs
        if not isinstance(runs, (list, tuple)) or not runs \
                or not all(isinstance(r, TrainingResult) for r in runs):
            raise ValueError(f"results[{name!r}] must be a TrainingResult or a non-empty "
                             "list of them")
        epochs = [r.time_to_target(target, monitor=monitor, mode=mode)["epochs"]
                  for r in runs]
        seconds = pd.concat([r.history["seconds"].iloc[1 if skip_first else 0:]
                             for r in runs])
        if seconds.empty:
            raise ValueError(f"results[{name!r}]: no epoch left to time; train for at "
                             "least 2 epochs or pass skip_first=False")
        rows[name] = {"runs": len(runs), "reached": sum(e is not None for e in epochs),
                      "epochs_to_target": float(pd.Series(
                          [float("inf") if e is None else e for e in epochs]).median()),
                      "max_epochs": max(len(r.history) for r in runs),
                      "seconds_per_epoch": float(seconds.median())}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "configuration"
    return table


def epoch_seconds(models, data, *, rounds=3, batch_size=32, warmup=1, clock="wall"):
    """Seconds of one training epoch per model, measured in interleaved rounds.

    On a shared machine the load drifts, and a model timed later can look
    slower or faster for reasons of its own. Here every round trains each
    model for one epoch on ``data.x_train`` in turn (no validation), so drifts
    hit all models alike; compare two models round by round with
    :meth:`~companion.tools.timing.Timing.ratio_to`. The epoch's batches are
    prepared once, as a cached ``tf.data`` pipeline that every model reads:
    what is timed is the models' training steps, not the conversion and
    shuffling of the NumPy arrays that ``fit`` would redo at every call, which
    costs every model the same and would only dilute the comparison.
    The models must be compiled (e.g. by :func:`train`); they go on training
    (``warmup + rounds`` more epochs each), so measure after the results you keep.

    Args:
        models: a mapping from a name to a compiled Keras model.
        data: as for :func:`train`.
        rounds: epochs timed per model, >= 1.
        batch_size: examples per step.
        warmup: untimed epochs per model first (they fill the cache and trace
            the training step for this input), >= 0.
        clock: ``"wall"`` or ``"cpu"``, as for
            :func:`~companion.tools.timing.interleaved_times`: CPU seconds compare
            the models' work even beside busy neighbours.

    Returns:
        A dict from name to :class:`~companion.tools.timing.Timing`.

    Example:
        >>> timings = epoch_seconds({"bn": bn_model, "plain": plain_model},  # doctest: +SKIP
        ...                         data, rounds=3)
        >>> timings["bn"].ratio_to(timings["plain"])  # doctest: +SKIP
        1.6
    """
    rounds = check_int("rounds", rounds, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    check_mapping("models", models, what="names to compiled models")
    check_attributes("data", data, ("x_train", "y_train"), what="a data set")
    for name, model in models.items():
        check_model(f"models[{name!r}]", model)
        if not model.compiled:
            raise ValueError(f"models[{name!r}] must be a compiled Keras model; "
                             "train it with companion.train first")
    batches = (tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
               .batch(batch_size).cache().prefetch(tf.data.AUTOTUNE))
    return interleaved_times(
        {name: functools.partial(model.fit, batches, epochs=1, shuffle=False, verbose=0)
         for name, model in models.items()}, rounds=rounds, warmup=warmup, clock=clock)
