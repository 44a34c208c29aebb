import ast

import keras
import numpy as np
import pandas as pd
import pytest

import companion
from companion import training
from companion.training import StopAtTarget, TrainingResult


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


def test_learning_rate_reaches_the_optimizer(tiny_data):
    result = companion.train(small_model(), tiny_data, epochs=1, optimizer="adam",
                             learning_rate=0.0123, evaluate=False)
    optimizer = result.model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert float(optimizer.learning_rate) == pytest.approx(0.0123, rel=1e-6)


@pytest.mark.parametrize("kwargs", [
    {"epochs": 0}, {"epochs": 1.0}, {"epochs": True},
    {"epochs": 1, "batch_size": 0}, {"epochs": 1, "batch_size": 8.0},
])
def test_bad_train_arguments(tiny_data, kwargs):
    with pytest.raises(ValueError):
        companion.train(small_model(), tiny_data, **kwargs)


@pytest.mark.parametrize("name, cls", [
    ("sgd", keras.optimizers.SGD), ("adam", keras.optimizers.Adam),
    ("rmsprop", keras.optimizers.RMSprop), ("SGD", keras.optimizers.SGD),
])
def test_make_optimizer_by_name_sets_learning_rate(name, cls):
    optimizer = training.make_optimizer(name, learning_rate=0.25)
    assert isinstance(optimizer, cls)
    assert float(optimizer.learning_rate) == pytest.approx(0.25)


def test_make_optimizer_default_learning_rate():
    assert float(training.make_optimizer("sgd").learning_rate) == pytest.approx(
        float(keras.optimizers.SGD().learning_rate))


def test_make_optimizer_instance_passes_through():
    optimizer = keras.optimizers.Adam(learning_rate=0.5)
    assert training.make_optimizer(optimizer) is optimizer


def test_make_optimizer_instance_with_learning_rate_raises():
    with pytest.raises(ValueError, match="learning_rate"):
        training.make_optimizer(keras.optimizers.SGD(), learning_rate=0.1)


def _advertised_choices():
    with pytest.raises(ValueError) as info:
        training.make_optimizer("nosuchopt")
    message = str(info.value)
    assert "'nosuchopt'" in message
    return ast.literal_eval(message.split("valid choices:", 1)[1].strip())


def test_unknown_optimizer_lists_choices():
    choices = _advertised_choices()
    assert {"sgd", "adam", "rmsprop"} <= set(choices)


def test_every_advertised_optimizer_can_be_built():
    failures = {}
    for choice in _advertised_choices():
        try:
            training.make_optimizer(choice)
        except Exception as err:  # noqa: BLE001 - report any failure
            failures[choice] = type(err).__name__
    assert failures == {}


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
    with pytest.raises(ValueError, match="'x'"):
        companion.compare({"x": 42}, tiny_data, epochs=1)


def test_compare_model_instead_of_builder_raises_value_error(tiny_data):
    with pytest.raises(ValueError, match="'x'"):
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


def test_stop_at_target_stops_after_the_epoch_that_reaches_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = StopAtTarget(0.9, monitor="accuracy")
    history = model.fit(x, y, epochs=50, batch_size=32, callbacks=[stop], verbose=0).history
    accuracies = history["accuracy"]
    assert stop.reached_epoch == len(accuracies) < 50
    assert accuracies[-1] >= 0.9 and all(a < 0.9 for a in accuracies[:-1])


def test_stop_at_target_names_a_metric_the_fit_does_not_log():
    x = np.zeros((8, 2), dtype="float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="val_accuracy.*logged: \\['loss'\\]"):
        model.fit(x, x[:, :1], epochs=1, callbacks=[StopAtTarget(0.5)], verbose=0)
    with pytest.raises(ValueError, match="'sideways'"):
        StopAtTarget(0.5, mode="sideways")
