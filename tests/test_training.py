import math
import re
import types

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import companion
from companion.lab import training
from companion.lab.training import TrainingResult, target_table


def small_model():
    return companion.build_mlp(depth=1, width=16, example_shape=(8,), n_classes=3)


@pytest.fixture(scope="module")
def trained(make_data):
    data = make_data()
    keras.utils.set_random_seed(0)
    seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)

    result = companion.train(small_model(), data, epochs=3, learning_rate=0.05, batch_size=32,
                             callbacks=[Count()])
    return data, result, seen


def test_history_has_one_row_per_epoch(trained):
    _, result, seen = trained
    history = result.history
    assert isinstance(history, pd.DataFrame)
    assert len(history) == 3
    assert history.index.tolist() == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(history.columns)
    assert (history["seconds"] > 0).all()
    assert np.isfinite(history.drop(columns="seconds").to_numpy(dtype=float)).all()
    assert seen == [0, 1, 2]  # extra callbacks are passed to fit


def test_training_learns_the_tiny_problem(trained):
    _, result, _ = trained
    assert result.history["loss"].iloc[-1] < result.history["loss"].iloc[0]


def _numpy_metrics(model, x, y):
    probs = model.predict(x, verbose=0).astype(np.float64)
    return (np.mean(probs.argmax(axis=1) == y),
            -np.mean(np.log(probs[np.arange(len(y)), y])))


def test_last_validation_metrics_match_numpy(trained):
    # the last epoch is validated with the final weights
    data, result, _ = trained
    accuracy, loss = _numpy_metrics(result.model, data.x_valid, data.y_valid)
    assert result.history["val_accuracy"].iloc[-1] == pytest.approx(accuracy, abs=1e-6)
    assert result.history["val_loss"].iloc[-1] == pytest.approx(loss, rel=1e-5)


@pytest.mark.parametrize("batch_size, dtype, batches", [
    (32, "float32", [0, 1, 2]),  # 3 batches of 1024, the last partial, not 66 of 32
    (2048, "float32", [0, 1]),  # the training batch size where it is larger
    (32, "float64", [0, 1, 2]),  # arrays Keras batches itself (no data set of ours)
])
def test_validation_batches_hold_1024_examples_or_the_training_batch_if_larger(
        make_data, batch_size, dtype, batches):
    data = make_data(n_valid=2_100, n_test=1_100)
    data.x_valid = data.x_valid.astype(dtype)
    validation_batches = []

    class CountBatches(keras.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            validation_batches.append(batch)

    model = companion.compile_model(small_model(), steps_per_execution=1)
    result = companion.train(model, data, epochs=2, batch_size=batch_size, compile=False,
                             callbacks=[CountBatches()])
    assert validation_batches == batches * 2
    # the metrics do not depend on how the splits are batched
    for split in ("valid", "test"):
        accuracy, loss = _numpy_metrics(result.model, getattr(data, f"x_{split}"),
                                        getattr(data, f"y_{split}"))
        logged = (result.test if split == "test" else
                  {"accuracy": result.history["val_accuracy"].iloc[-1],
                   "loss": result.history["val_loss"].iloc[-1]})
        assert logged["accuracy"] == pytest.approx(accuracy, abs=1e-6)
        assert logged["loss"] == pytest.approx(loss, rel=1e-5)


def _recording_model(steps_per_execution=None):
    """A model that records the labels of every batch it trains on: run eagerly, or
    compiled with ``steps_per_execution`` steps per call."""
    seen = []

    class Recording(keras.Sequential):
        def train_step(self, batch):
            tf.py_function(lambda y: seen.append(y.numpy().tolist()) or 0, [batch[1]],
                           Tout=tf.int32)
            return super().train_step(batch)

    Recording.seen = seen  # on the class: Keras would track a copy of a list attribute
    model = Recording([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.01),
                  run_eagerly=steps_per_execution is None,
                  steps_per_execution=steps_per_execution or 1)
    return model


def _batch_labels(model, *, n=20, batch_size=6, epochs=3):
    """The batches ``train`` feeds ``model``, as labels: example ``i`` has label ``i``."""
    data = types.SimpleNamespace(x_train=np.arange(n, dtype="float32")[:, None],
                                 y_train=np.arange(n))
    model.seen.clear()
    companion.train(model, data, epochs=epochs, batch_size=batch_size, validate=False,
                    evaluate=False, compile=False)
    assert len(model.seen) == epochs * -(-n // batch_size)  # every step was recorded
    return list(model.seen)


def _seeded_batch_labels(seed, **kwargs):
    companion.reseed(seed)
    return _batch_labels(_recording_model(), **kwargs)


def test_training_visits_every_example_once_per_epoch_in_a_new_order():
    # Keras 3, given arrays under a global seed, repeats the first epoch's order
    batches = _seeded_batch_labels(1)
    assert [len(b) for b in batches] == [6, 6, 6, 2] * 3  # Keras's batches, the last short
    epochs = [sum(batches[i:i + 4], []) for i in range(0, 12, 4)]
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert len({tuple(order) for order in epochs}) == 3
    assert _seeded_batch_labels(1) == batches  # the global seed decides the orders
    assert _seeded_batch_labels(2) != batches
    assert len(_seeded_batch_labels(1, batch_size=5)) == 4 * 3  # no empty last batch


def test_compiled_steps_see_the_batches_of_an_eager_run():
    # 4 steps an epoch: 3 per call leave a short last call, 32 exceed the epoch
    eager = _seeded_batch_labels(4)
    for steps in (3, 32):
        companion.reseed(4)
        assert _batch_labels(_recording_model(steps_per_execution=steps)) == eager


def test_examples_and_labels_of_different_lengths_are_refused():
    data = types.SimpleNamespace(x_train=np.zeros((20, 1), "float32"), y_train=np.arange(21))
    with pytest.raises(ValueError, match="as many examples, got 20 and 21"):
        companion.train(_recording_model(), data, epochs=1, validate=False, evaluate=False,
                        compile=False)


def test_a_run_after_reinitialize_sees_the_orders_of_a_fresh_one():
    fresh = _seeded_batch_labels(3)
    companion.reseed(0)
    model = _recording_model()
    _batch_labels(model, epochs=2)
    companion.reinitialize(model, seed=3)
    assert _batch_labels(model) == fresh


def test_arrays_changed_in_place_are_evaluated_as_they_are_now(make_data):
    # train keeps the evaluation batches of the arrays it saw; changed arrays need new ones
    data = make_data(n_valid=96, n_test=64)
    model = training.compile_model(small_model(), optimizer="sgd", learning_rate=0.05)
    companion.train(model, data, epochs=1, compile=False)
    data.y_valid[:] = (data.y_valid + 1) % 3
    data.x_test[:] = data.x_test[::-1].copy()
    result = companion.train(model, data, epochs=1, compile=False)
    accuracy, loss = _numpy_metrics(model, data.x_valid, data.y_valid)
    assert result.history["val_accuracy"].iloc[-1] == pytest.approx(accuracy, abs=1e-6)
    assert result.history["val_loss"].iloc[-1] == pytest.approx(loss, rel=1e-5)
    accuracy, loss = _numpy_metrics(model, data.x_test, data.y_test)
    assert result.test["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert result.test["loss"] == pytest.approx(loss, rel=1e-5)


def test_evaluation_batches_are_kerass_batches_kept_per_content(make_data, monkeypatch):
    import collections

    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    monkeypatch.setattr(training, "_kept_batches", collections.OrderedDict())

    data = make_data(n_valid=70)  # two full batches of 32 and a partial one of 6
    model = small_model()
    first = training._evaluation_batches(model, data.x_valid, data.y_valid, 32)
    ours = list(first.as_numpy_iterator())
    keras_own = list(ArrayDataAdapter(data.x_valid, data.y_valid, batch_size=32,
                                      shuffle=False).get_numpy_iterator())
    assert [len(x) for x, _ in ours] == [len(x) for x, _ in keras_own] == [32, 32, 6]
    for (x, y), (kx, ky) in zip(ours, keras_own):
        np.testing.assert_array_equal(x, kx)
        np.testing.assert_array_equal(y, ky)
    again = training._evaluation_batches(model, data.x_valid.copy(), data.y_valid.copy(), 32)
    assert again is first  # same content, same batches
    by_16 = training._evaluation_batches(model, data.x_valid, data.y_valid, 16)
    assert by_16 is not first
    # at most _KEPT_BATCHES are kept, the least recently used leaving first
    assert training._KEPT_BATCHES == 4 and list(training._kept_batches.values()) == [first, by_16]
    others = [make_data(n_valid=8, seed=n + 1) for n in range(3)]
    for other in others[:2]:
        training._evaluation_batches(model, other.x_valid, other.y_valid, 32)
    assert training._evaluation_batches(model, data.x_valid, data.y_valid, 32) is first
    training._evaluation_batches(model, others[2].x_valid, others[2].y_valid, 32)
    assert len(training._kept_batches) == 4
    assert training._evaluation_batches(model, data.x_valid, data.y_valid, 32) is first
    assert training._evaluation_batches(model, data.x_valid, data.y_valid, 16) is not by_16


def test_evaluation_batches_leave_to_keras_what_they_would_change(make_data):
    import tensorflow as tf

    data = make_data()
    model = small_model()
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert training._evaluation_batches(model, data.x_valid, data.y_valid, 32) is None
        assigned = small_model()
    assert training._evaluation_batches(assigned, data.x_valid, data.y_valid, 32) is None
    for x, y in [(data.x_valid, np.array(["a", "b"] * 32, dtype=object)),  # not numbers
                 (data.x_valid.astype(np.float64), data.y_valid),  # Keras casts to float32
                 (data.x_valid[:0], data.y_valid[:0])]:  # empty
        assert training._evaluation_batches(model, x, y, 32) is None


def test_test_metrics_match_numpy_and_evaluate(trained):
    data, result, _ = trained
    probs = result.model.predict(data.x_test, verbose=0).astype(np.float64)
    accuracy = np.mean(probs.argmax(axis=1) == data.y_test)
    loss = -np.mean(np.log(probs[np.arange(len(data.y_test)), data.y_test]))
    assert set(result.test) == {"loss", "accuracy"}
    assert result.test["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert result.test["loss"] == pytest.approx(loss, rel=1e-5)
    evaluated = result.model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
    assert result.test["accuracy"] == pytest.approx(float(evaluated["accuracy"]), abs=1e-6)
    assert result.test["loss"] == pytest.approx(float(evaluated["loss"]), rel=1e-5)


def test_summary_and_seconds_per_epoch(trained):
    _, result, _ = trained
    assert result.seconds_per_epoch == pytest.approx(float(np.median(result.history["seconds"])))
    row = result.summary()
    assert "seconds" not in row
    assert row["val_accuracy"] == result.history["val_accuracy"].iloc[-1]
    assert row["test_accuracy"] == result.test["accuracy"]
    assert row["seconds_per_epoch"] == result.seconds_per_epoch


def test_evaluate_false_gives_empty_test(tiny_data):
    result = companion.train(small_model(), tiny_data, epochs=1, evaluate=False)
    assert result.test == {}
    assert len(result.history) == 1


@pytest.mark.parametrize("kwargs", [
    {"epochs": 0}, {"epochs": 1.0}, {"epochs": True},
    {"epochs": 1, "batch_size": 0}, {"epochs": 1, "batch_size": 8.0},
])
def test_bad_train_arguments(tiny_data, kwargs):
    with pytest.raises(ValueError):
        companion.train(small_model(), tiny_data, **kwargs)


def test_compare_same_builder_same_seed_is_identical(tiny_data):
    companion.setup(seed=0, announce=False)
    table, results = companion.compare({"a": small_model, "b": small_model}, tiny_data, seed=5,
                                       epochs=2, learning_rate=0.05)
    assert table.index.tolist() == ["a", "b"]
    assert table.index.name == "configuration"
    assert set(results) == {"a", "b"}
    metrics = [c for c in table.columns if c != "seconds_per_epoch"]
    assert {"loss", "val_accuracy", "test_accuracy", "test_loss"} <= set(metrics)
    assert table.loc["a", metrics].tolist() == table.loc["b", metrics].tolist()
    for wa, wb in zip(results["a"].model.get_weights(), results["b"].model.get_weights()):
        assert np.array_equal(wa, wb)
    # the metrics in the table are the ones of each result
    assert table.loc["a", "test_accuracy"] == results["a"].test["accuracy"]


def test_compare_differs_with_different_seed(tiny_data):
    companion.setup(seed=0, announce=False)
    _, first = companion.compare({"a": small_model}, tiny_data, seed=1, epochs=1, evaluate=False)
    _, second = companion.compare({"a": small_model}, tiny_data, seed=2, epochs=1, evaluate=False)
    assert not np.array_equal(first["a"].model.get_weights()[0],
                              second["a"].model.get_weights()[0])


def test_compare_empty_builders_raises(tiny_data):
    with pytest.raises(ValueError, match="empty"):
        companion.compare({}, tiny_data, epochs=1)


def test_compare_non_callable_builder_raises(tiny_data):
    with pytest.raises(TypeError, match=r"builders\['x'\] must be a function returning a model, got int"):
        companion.compare({"x": 42}, tiny_data, epochs=1)


def test_compare_model_instead_of_builder_raises_type_error(tiny_data):
    with pytest.raises(TypeError, match=r"builders\['x'\] must be a function.*got Sequential"):
        companion.compare({"x": small_model()}, tiny_data, epochs=1)


def _history_result(val_accuracy, seconds):
    history = pd.DataFrame({"val_accuracy": val_accuracy, "seconds": seconds},
                           index=pd.RangeIndex(1, len(seconds) + 1, name="epoch"))
    return TrainingResult(model=None, history=history, test={})


def test_time_to_target_sums_whole_epochs_up_to_the_first_hit():
    result = _history_result([0.5, 0.84, 0.86, 0.83, 0.9], [3.0, 1.0, 1.5, 1.0, 1.0])
    assert result.time_to_target(0.85) == {"epochs": 3, "seconds": 5.5}
    assert result.time_to_target(0.5) == {"epochs": 1, "seconds": 3.0}
    assert result.time_to_target(0.95) == {"epochs": None, "seconds": None}
    assert result.time_to_target(0.6, monitor="val_accuracy", mode="min") == {
        "epochs": 1, "seconds": 3.0}


def test_time_to_target_rejects_unknown_monitor_and_mode():
    result = _history_result([0.5], [1.0])
    with pytest.raises(ValueError, match="val_loss.*valid choices.*val_accuracy"):
        result.time_to_target(0.5, monitor="val_loss")
    with pytest.raises(ValueError, match="'up'.*valid choices"):
        result.time_to_target(0.5, mode="up")


def run(accuracies, seconds):
    history = pd.DataFrame({"val_accuracy": accuracies, "seconds": seconds},
                           index=pd.RangeIndex(1, len(accuracies) + 1, name="epoch"))
    return TrainingResult(model=None, history=history, test={})


def test_target_table_counts_epochs_and_medians_seconds():
    table = target_table({
        "fast": [run([0.5, 0.8, 0.9], [9.0, 2.0, 2.2]),
                 run([0.85, 0.9, 0.9], [8.0, 2.4, 2.6])],
        "slow": run([0.1, 0.2, 0.3, 0.5], [5.0, 1.0, 1.1, 1.2])}, 0.8)
    fast, slow = table.loc["fast"], table.loc["slow"]
    assert fast["runs"] == 2 and fast["reached"] == 2
    assert fast["epochs_to_target"] == 1.5           # median of 2 and 1
    assert fast["seconds_per_epoch"] == pytest.approx(2.3)  # median of 2, 2.2, 2.4, 2.6
    assert fast["max_epochs"] == 3
    assert slow["reached"] == 0 and math.isinf(slow["epochs_to_target"])
    assert slow["seconds_per_epoch"] == pytest.approx(1.1)   # first epoch left out
    assert slow["max_epochs"] == 4


def test_target_table_median_over_seeds_counts_unreached_as_infinite():
    table = target_table({"mixed": [run([0.9, 0.9], [1, 1]), run([0.1, 0.9], [1, 1]),
                                    run([0.1, 0.1], [1, 1])]}, 0.8)
    assert table.loc["mixed", "epochs_to_target"] == 2.0  # median of 1, 2, inf
    assert table.loc["mixed", "reached"] == 2


def test_target_table_skip_first_false_and_min_mode():
    table = target_table({"a": run([0.5, 0.3], [4.0, 1.0])}, 0.4, mode="min",
                         skip_first=False)
    assert table.loc["a", "epochs_to_target"] == 2.0
    assert table.loc["a", "seconds_per_epoch"] == pytest.approx(2.5)


@pytest.mark.parametrize("results, match", [
    ({}, "results is empty"),
    ({"x": []}, r"results\['x'\] must be"),
    ({"x": ["not a result"]}, r"results\['x'\] must be"),
    ({"x": run([0.9], [1.0])}, "no epoch left to time"),
])
def test_target_table_rejects_bad_input(results, match):
    with pytest.raises(ValueError, match=match):
        target_table(results, 0.5)


def test_target_table_rejects_unknown_monitor():
    with pytest.raises(ValueError, match="unknown monitor 'val_auc'"):
        target_table({"a": run([0.5, 0.6], [1, 1])}, 0.5, monitor="val_auc")


def test_epoch_seconds_times_each_model_once_per_round(tiny_data):
    import keras

    from companion import build_mlp, train
    from companion.lab.training import epoch_seconds

    models = {}
    for name in ("a", "b"):
        models[name] = build_mlp(depth=1, width=8, example_shape=(8,), n_classes=3)
        train(models[name], tiny_data, epochs=1, evaluate=False)
    before = models["a"].get_layer("hidden_1").kernel.numpy().copy()
    steps_before = int(models["b"].optimizer.iterations.numpy())
    timings = epoch_seconds(models, tiny_data, rounds=2)
    assert set(timings) == {"a", "b"}
    assert all(len(t.runs) == 2 and min(t.runs) > 0 for t in timings.values())
    after = models["a"].get_layer("hidden_1").kernel.numpy()
    assert abs(after - before).max() > 0  # the models went on training
    # one warm-up epoch and two timed ones, of ceil(256 / 32) = 8 steps each
    assert int(models["b"].optimizer.iterations.numpy()) - steps_before == 3 * 8
    epoch_seconds(models, tiny_data, rounds=1, warmup=0, batch_size=64)
    assert int(models["b"].optimizer.iterations.numpy()) - steps_before == 3 * 8 + 4
    with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
        epoch_seconds(models, tiny_data, rounds=0)
    with pytest.raises(ValueError, match="warmup must be an integer >= 0"):
        epoch_seconds(models, tiny_data, warmup=-1)
    with pytest.raises(ValueError, match=r"models\['c'\] must be a compiled"):
        epoch_seconds({"c": keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])},
                      tiny_data)
    with pytest.raises(ValueError, match="models is empty"):
        epoch_seconds({}, tiny_data)


def test_learning_rate_reaches_the_optimizer(tiny_data):
    result = companion.train(small_model(), tiny_data, epochs=1, optimizer="adam",
                             learning_rate=0.0123, evaluate=False)
    optimizer = result.model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert float(optimizer.learning_rate) == pytest.approx(0.0123, rel=1e-6)



def test_train_builds_before_fit_and_traces_the_step_once(tiny_data, count_traces):
    built = []

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            built.append(self.model.optimizer.built)

    model = small_model()
    traces = count_traces(model)
    companion.train(model, tiny_data, epochs=1, optimizer="adam", evaluate=False,
                    callbacks=[Probe()])
    assert traces == [False]  # Keras alone traces it twice (see test_tracing.py)
    model = small_model()
    model.compile(optimizer="nadam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    traces = count_traces(model)
    companion.train(model, tiny_data, epochs=1, compile=False, evaluate=False,
                    callbacks=[Probe()])
    assert traces == [False]
    assert built == [True, True]  # Keras alone would build it inside the first trace


@pytest.mark.parametrize("kwargs, error, message", [
    ({"model": None}, TypeError, "model must be a Keras model, got NoneType"),
    ({"optimizer": "adamx"}, ValueError, "unknown optimizer 'adamx'"),
    ({"steps_per_execution": 0}, ValueError,
     "steps_per_execution must be an integer >= 1, got 0"),
    ({"learning_rate": -1.0}, ValueError, "learning_rate must be a finite number in (0, inf)"),
])
def test_compile_model_rejects_bad_input(kwargs, error, message):
    arguments = {"model": small_model(), **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        companion.compile_model(**arguments)


def test_compile_model_compiles_as_train_does():
    model = companion.compile_model(small_model(), optimizer="adam", learning_rate=0.02)
    assert model.optimizer.built and isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)
    assert model.steps_per_execution == training.STEPS_PER_EXECUTION


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("kwargs, error, message", [
    ({"model": "mlp"}, TypeError, "model must be a Keras model, got str"),
    ({"data": "d"}, TypeError, "data must have x_train, y_train, x_valid, y_valid, x_test, y_test"),
    ({"steps_per_execution": 0}, ValueError, "steps_per_execution must be an integer >= 1, got 0"),
    ({"learning_rate": float("nan")}, ValueError,
     "learning_rate must be a finite number in (0, inf), got nan"),
    ({"metrics": "accuracy"}, TypeError,
     "metrics must be a list of metric names or objects, got the string 'accuracy'"),
    ({"callbacks": [3]}, TypeError, "callbacks[0] must be a keras.callbacks.Callback, got int 3"),
    ({"validate": "yes"}, ValueError, "validate must be True or False, got 'yes'"),
    ({"loss": "bogus"}, ValueError, "unknown loss 'bogus'"),
])
def test_bad_inputs_name_the_argument(tiny_data, kwargs, error, message):
    arguments = {"model": small_model(), "data": tiny_data, "epochs": 1, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        companion.train(**arguments)


@pytest.mark.parametrize("call, error, message", [
    (lambda data: training.target_table({"a": 3}, 0.5), ValueError,
     "results['a'] must be a TrainingResult or a non-empty list of them"),
    (lambda data: training.target_table({}, 0.5), ValueError, "results is empty"),
    (lambda data: training.epoch_seconds({"a": small_model()}, data), ValueError,
     "models['a'] must be a compiled Keras model"),
    (lambda data: training.epoch_seconds({"a": small_model()}, data, batch_size=0), ValueError,
     "batch_size must be an integer >= 1, got 0"),
    (lambda data: companion.compare("abc", data, epochs=1), TypeError,
     "builders must be a mapping (a dict) from configuration names to model builders, got str"),
])
def test_drivers_reject_bad_inputs(tiny_data, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(tiny_data)


def test_numpy_scalars_are_accepted(tiny_data):
    result = companion.train(small_model(), tiny_data, epochs=np.int64(1),
                             batch_size=np.int64(16), learning_rate=np.float32(0.05),
                             steps_per_execution=np.int64(2))
    assert len(result.history) == 1
    assert result.time_to_target(np.float32(0.0))["epochs"] == 1


def test_steps_per_call_is_one_over_several_replicas():
    """Asked for 32 steps per call over 2 replicas: 1, and a warning; else as asked."""
    replicated = types.SimpleNamespace(
        distribute_strategy=types.SimpleNamespace(num_replicas_in_sync=2))
    with pytest.warns(RuntimeWarning, match=r"instead of 32.*2 replicas.*keras#19246"):
        assert training.steps_per_call(replicated, training.STEPS_PER_EXECUTION) == 1
    assert training.steps_per_call(replicated, 1) == 1  # nothing to lower: no warning
    single = types.SimpleNamespace(
        distribute_strategy=types.SimpleNamespace(num_replicas_in_sync=1))
    assert training.steps_per_call(single, 32) == 32
    with pytest.raises(ValueError, match="steps_per_execution"):
        training.steps_per_call(single, 0)
