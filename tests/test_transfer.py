"""Cloning, head replacement, freezing and the autoencoder whose encoder is reused."""

import collections
import re
import types

import numpy as np
import pytest

from companion._quiet import keras
from companion.lab.training import compile_model, train
from companion.tools.layers import reinitialize
from companion.lab.models import build_autoencoder, build_mlp
from companion.lab.transfer import (clone_with_weights, fine_tune, FineTuner, max_weight_change,
                                replace_head, rotation_task, set_trainable, trainable_table)


def small_model(seed=0, n_classes=3, n_features=8):
    keras.utils.set_random_seed(seed)
    return build_mlp(depth=2, width=8, example_shape=(n_features,), n_classes=n_classes)


def fit(model, data, epochs=2, loss="sparse_categorical_crossentropy"):
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)


def binary(data):
    data.y_train = (data.y_train == 0).astype(np.float32)
    data.y_valid = (data.y_valid == 0).astype(np.float32)
    data.y_test = (data.y_test == 0).astype(np.float32)
    return data


def test_clone_copies_weights_into_new_variables():
    model = small_model()
    copy = clone_with_weights(model, name="copy")
    assert copy.name == "copy"
    assert all(a is not b for a, b in zip(copy.layers, model.layers))
    for a, b in zip(copy.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0))


def test_training_a_clone_leaves_the_original_unchanged(tiny_data):
    model_a = small_model()
    before = [w.copy() for w in model_a.get_weights()]
    model_b = replace_head(model_a, keras.layers.Dense(1, activation="sigmoid"))
    fit(model_b, binary(tiny_data), loss="binary_crossentropy")
    assert max_weight_change(before, model_a) == 0.0
    # the reused layers themselves did train
    assert not np.array_equal(model_b.get_layer("hidden_1").get_weights()[0], before[0])


def test_reusing_the_layers_directly_shares_them(tiny_data):
    model_a = small_model()
    before = [w.copy() for w in model_a.get_weights()]
    shared = replace_head(model_a, keras.layers.Dense(1, activation="sigmoid"), clone=False)
    assert shared.get_layer("hidden_1") is model_a.get_layer("hidden_1")
    fit(shared, binary(tiny_data), loss="binary_crossentropy")
    assert max_weight_change(before, model_a) > 0
    # the same holds for keras.Sequential(model_a.layers[:-1] + [head]), the pitfall itself
    pitfall = keras.Sequential(model_a.layers[:-1] + [keras.layers.Dense(1)])
    assert pitfall.layers[1] is model_a.layers[1]


def test_replace_head_drops_and_adds_layers():
    model = small_model()
    dropped = replace_head(model, None, drop=1)
    assert [layer.name for layer in dropped.layers] == ["flatten", "hidden_1", "hidden_2"]
    assert dropped.output_shape == (None, 8)
    two = replace_head(model, [keras.layers.Dense(4, name="a"), keras.layers.Dense(2, name="b")],
                       drop=2)
    assert [layer.name for layer in two.layers] == ["flatten", "hidden_1", "a", "b"]
    assert two.output_shape == (None, 2)
    np.testing.assert_array_equal(two.get_layer("hidden_1").get_weights()[0],
                                  model.get_layer("hidden_1").get_weights()[0])


@pytest.mark.parametrize("drop", [-1, 4, 1.0, True])
def test_replace_head_rejects_bad_drop(drop):
    with pytest.raises(ValueError, match="drop must be an integer in"):
        replace_head(small_model(), drop=drop)


def test_replace_head_rejects_non_layers():
    with pytest.raises(TypeError, match="head must be a keras Layer.*'str'"):
        replace_head(small_model(), head="dense")
    with pytest.raises(TypeError, match="model must be a Keras model, got str"):
        replace_head("model")


def test_set_trainable_counts_and_recompiles(tiny_data):
    model = small_model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    first_optimizer = model.optimizer
    assert len(model.trainable_weights) == 6
    set_trainable(model, False, layers=2)  # flatten and hidden_1
    assert len(model.trainable_weights) == 4
    assert model.optimizer is not first_optimizer  # compiled again
    table = trainable_table(model)
    assert table.loc["hidden_1", "trainable_params"] == 0
    assert table.loc["hidden_1", "frozen_params"] == 8 * 8 + 8
    assert table.loc["hidden_2", "trainable_params"] == 8 * 8 + 8
    before = [w.copy() for w in model.get_weights()]
    model.fit(tiny_data.x_train, tiny_data.y_train, epochs=1, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])  # frozen kernel
    assert not np.array_equal(after[2], before[2])  # hidden_2 trained
    set_trainable(model, True, learning_rate=0.01)
    assert len(model.trainable_weights) == 6
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    model.fit(tiny_data.x_train, tiny_data.y_train, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], before[0])


def test_set_trainable_by_name_and_errors():
    model = small_model()
    set_trainable(model, False, layers=["hidden_2"])
    assert trainable_table(model)["trainable"].tolist() == [True, True, False, True]
    with pytest.raises(ValueError, match="unknown layers"):
        set_trainable(model, False, layers=["nope"])
    with pytest.raises(ValueError, match="True or False"):
        set_trainable(model, "no")
    with pytest.raises(ValueError, match="not compiled"):
        set_trainable(model, True, learning_rate=0.1)


def test_fine_tune_freezes_then_unfreezes(tiny_data):
    model = small_model()
    model_b = replace_head(model, keras.layers.Dense(3, activation="softmax"))
    hidden_before = model_b.get_layer("hidden_1").get_weights()[0].copy()
    result = fine_tune(model_b, tiny_data, epochs=3, frozen_layers=3, frozen_epochs=3,
                       learning_rate=0.01)
    np.testing.assert_array_equal(model_b.get_layer("hidden_1").get_weights()[0], hidden_before)
    assert result.history["frozen"].tolist() == [True] * 3
    assert all(layer.trainable for layer in model_b.layers)  # unfrozen at the end
    result = fine_tune(model_b, tiny_data, epochs=4, frozen_layers=3, frozen_epochs=1,
                       learning_rate=0.01)
    assert result.history["frozen"].tolist() == [True, False, False, False]
    assert not np.array_equal(model_b.get_layer("hidden_1").get_weights()[0], hidden_before)
    assert set(result.test) == {"loss", "accuracy"}
    assert float(model_b.optimizer.learning_rate) == pytest.approx(0.001)


def test_fine_tune_rejects_bad_arguments(tiny_data):
    model = small_model()
    with pytest.raises(ValueError, match="frozen_epochs"):
        fine_tune(model, tiny_data, epochs=2, frozen_epochs=3)
    with pytest.raises(TypeError, match="optimizer must be a name"):
        fine_tune(model, tiny_data, epochs=2, optimizer=keras.optimizers.SGD())
    with pytest.raises(TypeError, match="frozen_layers must be .* got the string 'hidden_1'"):
        fine_tune(model, tiny_data, epochs=2, frozen_layers="hidden_1", frozen_epochs=1)


def reused_tuner(model_a):
    """A tuner for model A's hidden layers (flatten and two Dense: 3 layers) under a new head."""
    return FineTuner(replace_head(model_a, keras.layers.Dense(3, activation="softmax")),
                     frozen_layers=3)


RUN = dict(epochs=3, frozen_epochs=1, learning_rate=0.01, batch_size=32)


def fine_tune_by_hand(model_a, data, *, seed, epochs, frozen_epochs, learning_rate,
                      batch_size, fine_tune_learning_rate=None):
    """The two phases written out: freeze, compile, re-draw, put model A's weights back,
    train; unfreeze, compile again, train. Fresh model, fresh compilations."""
    model = replace_head(model_a, keras.layers.Dense(3, activation="softmax"))
    for layer in model.layers[:3]:
        layer.trainable = False
    compile_model(model, optimizer="adam", learning_rate=learning_rate,
                  steps_per_execution=1)
    reinitialize(model, seed=seed)
    for mine, reused in zip(model.layers[:3], model_a.layers[:3]):
        mine.set_weights(reused.get_weights())
    first = train(model, data, epochs=frozen_epochs, batch_size=batch_size, validate=False,
                  evaluate=False, compile=False)
    for layer in model.layers:
        layer.trainable = True
    compile_model(model, optimizer="adam", steps_per_execution=1,
                  learning_rate=fine_tune_learning_rate or learning_rate / 10)
    second = train(model, data, epochs=epochs - frozen_epochs, batch_size=batch_size,
                   validate=False, evaluate=False, compile=False)
    return model, np.concatenate([first.history["loss"], second.history["loss"]])


def assert_same_run(result, model, losses):
    # Same start, batches and arithmetic: only float32 rounding could differ, and 24
    # steps of a small net amplify a few ulps (1e-7 relative) well below 1e-5.
    for mine, reference in zip(result.model.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.history["loss"], losses, rtol=1e-5)


def test_a_kept_tuner_runs_a_seed_as_fine_tuning_by_hand_does(tiny_data, monkeypatch):
    traced = collections.Counter()  # model: traces (train_step runs in Python only then)
    trace_step = keras.Model.train_step  # the backend's, which keras.Model inherits

    def counting(self, data):
        traced[self] += 1
        return trace_step(self, data)
    monkeypatch.setattr(keras.Model, "train_step", counting)
    model_a = small_model()
    kept = reused_tuner(model_a)
    other = kept.run(tiny_data, seed=1, **RUN)
    other_weights = [w.copy() for w in other.model.get_weights()]
    assert sorted(traced.values()) == [1, 1]  # one model per phase, each traced once
    first_traces = collections.Counter(traced)
    again = kept.run(tiny_data, seed=2, **RUN)
    assert traced == first_traces  # the second run traced nothing
    assert again.history["frozen"].tolist() == [True, False, False]
    assert_same_run(again, *fine_tune_by_hand(model_a, tiny_data, seed=2, **RUN))
    # another seed ends elsewhere: the comparison above can tell seeds apart
    assert max(np.abs(a - b).max()
               for a, b in zip(other_weights, again.model.get_weights())) > 1e-3
    # other rates on the same kept models: the rates change, nothing is traced again
    rates = dict(RUN, learning_rate=0.02, fine_tune_learning_rate=0.005)
    traces = collections.Counter(traced)  # the tuner's, and now the model by hand's
    third = kept.run(tiny_data, seed=2, **rates)
    assert traced == traces
    assert float(third.model.optimizer.learning_rate) == pytest.approx(0.005)
    assert_same_run(third, *fine_tune_by_hand(model_a, tiny_data, seed=2, **rates))
    # the model compiled by someone else in between: compiled again, same run
    kept.model.compile(optimizer="sgd", loss="mse")
    fourth = kept.run(tiny_data, seed=2, **RUN)
    assert type(fourth.model.optimizer).__name__ == "Adam"
    assert_same_run(fourth, *fine_tune_by_hand(model_a, tiny_data, seed=2, **RUN))


def test_every_seeded_run_starts_from_the_reused_weights(tiny_data):
    model_a = small_model()
    tuner = reused_tuner(model_a)
    tuner.run(tiny_data, seed=1, **RUN)  # the reused layers train in the second phase
    hidden = tuner.model.get_layer("hidden_1")
    assert not np.array_equal(hidden.get_weights()[0],
                              model_a.get_layer("hidden_1").get_weights()[0])
    head_after_first = tuner.model.layers[-1].get_weights()[0].copy()
    tuner.run(tiny_data, seed=2, epochs=2, frozen_epochs=2, learning_rate=0.01)  # frozen only
    for name in ("hidden_1", "hidden_2"):
        for mine, reused in zip(tuner.model.get_layer(name).get_weights(),
                                model_a.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(mine, reused)
    assert not np.allclose(tuner.model.layers[-1].get_weights()[0], head_after_first)
    assert all(layer.trainable for layer in tuner.model.layers)


def test_one_seed_draws_one_start_whatever_the_phases(tiny_data):
    """Scratch and two-phase scratch of one seed start from the same weights (paired arms).

    At a learning rate of 1e-30, a run of Adam moves no weight by more than about 1e-29
    per step (its step is about the rate), so the weights after it are the start.
    """
    tuner = FineTuner(small_model())
    built = [w.copy() for w in tuner.model.get_weights()]
    tiny = dict(epochs=2, seed=3, learning_rate=1e-30, fine_tune_learning_rate=1e-30)
    plain = [w.copy() for w in tuner.run(tiny_data, frozen_epochs=0, **tiny).model.get_weights()]
    phased = tuner.run(tiny_data, frozen_epochs=1, **tiny).model.get_weights()
    for a, b in zip(plain, phased, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert not np.allclose(plain[0], built[0])  # re-drawn for the seed, not the built weights


def test_fine_tuner_rejects_bad_arguments(tiny_data):
    model = small_model()
    with pytest.raises(TypeError, match="optimizer must be a name"):
        FineTuner(model, optimizer=keras.optimizers.SGD())
    with pytest.raises(ValueError, match="unknown optimizer 'bogus'"):
        FineTuner(model, optimizer="bogus")
    with pytest.raises(ValueError, match="unknown frozen_layers"):
        FineTuner(model, frozen_layers=["nope"])
    with pytest.raises(TypeError, match="loss must be a Keras loss name or a callable, got int"):
        FineTuner(model, loss=3)
    tuner = FineTuner(model, frozen_layers=2)
    with pytest.raises(ValueError, match="seed"):
        tuner.run(tiny_data, epochs=2, seed=-1)
    with pytest.raises(ValueError, match="frozen_epochs"):
        tuner.run(tiny_data, epochs=2, frozen_epochs=3)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden, self.out = keras.layers.Dense(4), keras.layers.Dense(3)

    def call(self, x):
        return self.out(self.hidden(x))


def test_a_refused_or_failed_run_leaves_the_model_as_it_was(tiny_data):
    subclassed = Subclassed()
    subclassed(np.zeros((1, 8), np.float32))  # built by a call
    with pytest.raises(TypeError, match="a frozen phase needs a Sequential or functional"):
        FineTuner(subclassed, frozen_layers=1).run(tiny_data, epochs=2, frozen_epochs=1)
    assert FineTuner(subclassed).run(tiny_data, epochs=1).history["frozen"].tolist() == [False]
    model = small_model()
    before = [w.copy() for w in model.get_weights()]
    tuner = FineTuner(model, frozen_layers=2)
    short = types.SimpleNamespace(**{**vars(tiny_data), "y_train": tiny_data.y_train[:-1]})
    with pytest.raises(ValueError, match="as many examples"):
        tuner.run(short, epochs=2, frozen_epochs=1, seed=1)
    for mine, old in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(mine, old)
    assert all(layer.trainable for layer in model.layers)
    # a layer reinitialize cannot re-draw, above a reused one: the reused weights come back
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(4, name="hidden")(inputs)
    scaled = keras.layers.Normalization(name="scaled")(hidden)  # adapt()ed weights
    odd = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(scaled))
    kernel = odd.get_layer("hidden").kernel.numpy().copy()
    with pytest.raises(TypeError, match="layer 'scaled' has no mean_initializer"):
        FineTuner(odd, frozen_layers=3).run(tiny_data, epochs=2, frozen_epochs=1, seed=1)
    np.testing.assert_array_equal(odd.get_layer("hidden").kernel.numpy(), kernel)
    assert all(layer.trainable for layer in odd.layers)


def test_max_weight_change_is_the_largest_absolute_difference():
    model = small_model()
    before = [w.copy() for w in model.get_weights()]
    weights = model.get_weights()
    weights[2][0, 0] += 0.25
    weights[4][1] -= 0.5
    model.set_weights(weights)
    assert max_weight_change(before, model) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="arrays"):
        max_weight_change(before[:2], model)


def test_rotation_task_rotates_by_the_label():
    images = np.random.default_rng(0).normal(size=(50, 5, 5))
    rotated, k = rotation_task(images, seed=1)
    assert k.dtype == np.uint8 and set(np.unique(k)) == {0, 1, 2, 3}
    for image, turned, quarter in zip(images, rotated, k):
        np.testing.assert_array_equal(turned, np.rot90(image, int(quarter)))
    # a quarter turn counter-clockwise, by hand
    square = np.array([[[1, 2], [3, 4]]])
    turned, k = rotation_task(np.repeat(square, 40, axis=0), seed=0)
    np.testing.assert_array_equal(turned[k == 1][0], [[2, 4], [1, 3]])
    np.testing.assert_array_equal(rotation_task(images, seed=1)[1],
                                  rotation_task(images, seed=1)[1])
    assert not np.array_equal(rotation_task(images, seed=2)[1], rotation_task(images, seed=1)[1])
    with pytest.raises(ValueError, match="shape"):
        rotation_task(np.zeros((3, 4, 5)))


def test_autoencoder_reconstructs_the_input_shape_and_learns():
    keras.utils.set_random_seed(0)
    autoencoder = build_autoencoder(depth=1, width=16, coding_size=4, example_shape=(6, 6))
    encoder = autoencoder.get_layer("encoder")
    assert autoencoder.output_shape == (None, 6, 6)
    assert encoder.output_shape == (None, 4)
    assert [layer.name for layer in encoder.layers] == ["flatten", "hidden_1", "coding"]
    x = np.random.default_rng(0).uniform(size=(64, 6, 6)).astype(np.float32)
    out = autoencoder.predict(x, verbose=0)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    autoencoder.compile(optimizer="adam", loss="mse")
    start = autoencoder.evaluate(x, x, verbose=0)
    autoencoder.fit(x, x, epochs=30, verbose=0)
    assert autoencoder.evaluate(x, x, verbose=0) < start


def test_encoder_is_reusable_under_a_classifier_head(tiny_data):
    keras.utils.set_random_seed(0)
    autoencoder = build_autoencoder(depth=2, width=8, coding_size=3, example_shape=(8,))
    encoder = autoencoder.get_layer("encoder")
    classifier = replace_head(encoder, keras.layers.Dense(3, activation="softmax"), drop=1)
    assert [layer.name for layer in classifier.layers][:3] == ["flatten", "hidden_1",
                                                               "hidden_2"]
    # same shapes as the MLP trained from scratch, so the two can be compared
    scratch = build_mlp(depth=2, width=8, example_shape=(8,), n_classes=3)
    assert [w.shape for w in classifier.weights] == [w.shape for w in scratch.weights]
    before = [w.copy() for w in encoder.get_weights()]
    fit(classifier, tiny_data)
    assert max_weight_change(before, encoder) == 0.0


def test_autoencoder_rejects_bad_sizes():
    with pytest.raises(ValueError, match="coding_size"):
        build_autoencoder(coding_size=0)
    with pytest.raises(ValueError, match="depth"):
        build_autoencoder(depth=-1)


def test_evaluate_eagerly_matches_keras_evaluate(tiny_data):
    from companion.lab.transfer import evaluate_eagerly

    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    fit(model, tiny_data, epochs=1)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    expected = model.evaluate(tiny_data.x_test, tiny_data.y_test, batch_size=len(tiny_data.x_test),
                              verbose=0, return_dict=True)
    got = evaluate_eagerly(model, tiny_data.x_test, tiny_data.y_test)
    assert set(got) == {"loss", "accuracy"}
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert got["accuracy"] == pytest.approx(expected["accuracy"])
    probabilities = model.predict(tiny_data.x_test, verbose=0)
    assert got["accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == tiny_data.y_test))
    with pytest.raises(ValueError, match="not compiled"):
        evaluate_eagerly(small_model(), tiny_data.x_test, tiny_data.y_test)


def test_keras_ignores_a_trainable_change_until_compiled_again(tiny_data):
    """Why set_trainable recompiles: checked against the installed Keras."""
    model = small_model()
    model.layers[1].trainable = False
    fit(model, tiny_data, epochs=1)
    kernel = model.get_layer("hidden_1").get_weights()[0].copy()
    model.layers[1].trainable = True
    model.fit(tiny_data.x_train, tiny_data.y_train, epochs=1, verbose=0)  # not recompiled
    np.testing.assert_array_equal(model.get_layer("hidden_1").get_weights()[0], kernel)
    set_trainable(model, True)  # recompiles
    model.fit(tiny_data.x_train, tiny_data.y_train, epochs=1, verbose=0)
    assert not np.array_equal(model.get_layer("hidden_1").get_weights()[0], kernel)


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda data: replace_head(small_model(), drop=2.5), ValueError,
     "drop must be an integer in [0, 3], got 2.5"),
    (lambda data: replace_head(small_model(), clone="no"), ValueError,
     "clone must be True or False, got 'no'"),
    (lambda data: set_trainable(small_model(), False, layers="hidden_1"), TypeError,
     "layers must be a list of layer names (or None, or an integer), got the string 'hidden_1'"),
    (lambda data: set_trainable(small_model(), "no"), ValueError,
     "trainable must be True or False, got 'no'"),
    (lambda data: fine_tune(small_model(), data, epochs=2, learning_rate=float("nan")),
     ValueError, "learning_rate must be a finite number in (0, inf), got nan"),
    (lambda data: fine_tune(small_model(), data, epochs=1, batch_size=0), ValueError,
     "batch_size must be an integer >= 1, got 0"),
    (lambda data: fine_tune(small_model(), data, epochs=1, steps_per_execution=0), ValueError,
     "steps_per_execution must be an integer >= 1, got 0"),
    (lambda data: max_weight_change("abc", small_model()), TypeError,
     "before must be a list of weight arrays (model.get_weights()), got str"),
    (lambda data: rotation_task(np.zeros((2, 3, 3)), seed=-1), ValueError,
     "seed must be an integer >= 0, got -1"),
])
def test_bad_inputs_name_the_argument(tiny_data, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(tiny_data)


def test_numpy_integers_are_accepted(tiny_data):
    model = small_model()
    assert len(replace_head(model, drop=np.int64(1)).layers) == 3
    set_trainable(model, np.bool_(False), layers=np.int64(2))
    assert [layer.trainable for layer in model.layers] == [False, False, True, True]
