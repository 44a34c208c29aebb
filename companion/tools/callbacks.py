"""Keras callbacks the experiments need and Keras lacks: epoch wall times, stop at a target."""

import time

from companion._quiet import keras
from companion.tools.checks import check_choice, check_real, check_string


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every training epoch (validation included), in :attr:`seconds`."""

    def __init__(self):
        super().__init__()
        #: Seconds of each finished epoch, in order.
        self.seconds = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class StopAtTarget(keras.callbacks.Callback):
    """Stop training at the end of the first epoch where ``monitor`` reaches ``target``.

    Keras's ``EarlyStopping`` stops when a metric stops improving; time-to-accuracy
    measurements need the opposite: stop as soon as it is good enough, so that a
    capped run costs no more epochs than it has to.

    Example:
        >>> stop = StopAtTarget(0.85)  # doctest: +SKIP
        >>> result = train(model, data, epochs=20, callbacks=[stop])  # doctest: +SKIP
        >>> stop.reached_epoch  # 1-based, None if never reached  # doctest: +SKIP
        4
    """

    def __init__(self, target, *, monitor="val_accuracy", mode="max"):
        super().__init__()
        self.mode = check_choice("mode", mode, ("max", "min"))
        self.target = check_real("target", target)
        self.monitor = check_string("monitor", monitor)
        self.reached_epoch = None

    def on_train_begin(self, logs=None):
        self.reached_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise ValueError(f"StopAtTarget monitors {self.monitor!r}, which this fit does "
                             f"not log; logged: {sorted(logs or {})}")
        if _reached(logs[self.monitor], self.target, self.mode):
            self.reached_epoch = epoch + 1
            self.model.stop_training = True


def _reached(value, target, mode):
    return value >= target if mode == "max" else value <= target
