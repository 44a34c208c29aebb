"""companion.tools.callbacks: epoch wall times and stopping at a target."""

import re

import numpy as np
import pytest

from companion._quiet import keras
from companion.tools.callbacks import EpochTimer, StopAtTarget


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


def test_epoch_timer_records_one_positive_duration_per_epoch():
    x = np.zeros((16, 2), dtype="float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    timer = EpochTimer()
    model.fit(x, x[:, :1], epochs=3, callbacks=[timer], verbose=0)
    assert len(timer.seconds) == 3 and all(s > 0 for s in timer.seconds)


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("kwargs, error, message", [
    ({"target": float("nan")}, ValueError, "target must be a finite number in (-inf, inf), got nan"),
    ({"target": "0.8"}, ValueError, "target must be a finite number in (-inf, inf), got '0.8'"),
    ({"target": True}, ValueError, "target must be a finite number in (-inf, inf), got True"),
    ({"target": 0.8, "mode": "up"}, ValueError, "unknown mode 'up'; valid choices: ['max', 'min']"),
    ({"target": 0.8, "monitor": 3}, TypeError, "monitor must be a non-empty string, got int 3"),
])
def test_stop_at_target_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        StopAtTarget(**kwargs)


def test_stop_at_target_accepts_a_numpy_target():
    assert StopAtTarget(np.float32(0.5)).target == 0.5
