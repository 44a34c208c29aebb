"""Tests of companion.lab.recipes: the guidelines tables as model builders."""

import re

import numpy as np
import pytest

from companion._quiet import keras
from companion.lab import recipes
from companion.lab.recipes import (default_recipe, keras_defaults_recipe, naive_recipe, RECIPES,
                               recipe_defaults, recipe_table, self_normalizing_recipe,
                               sgd_1cycle_recipe)
from companion.tools.schedules import OneCycleSchedule


def _dense(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_default_recipe_architecture_and_optimizer():
    recipe = default_recipe(total_steps=100)
    model = recipe.model
    assert model.compiled and recipe.name == "default" and recipe.scaling == "standard"
    assert recipe.settings["batch_size"] == 128
    names = [layer.name for layer in model.layers]
    assert names == ["flatten", "hidden_1", "hidden_2", "hidden_3", "output"]
    for layer in _dense(model):
        assert isinstance(layer.kernel_initializer, keras.initializers.HeNormal)
    for layer in _dense(model)[:-1]:
        assert layer.activation is keras.activations.relu
        assert layer.kernel_regularizer is None
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    assert model.optimizer.weight_decay == pytest.approx(0.004)  # Keras's AdamW default
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, OneCycleSchedule)
    assert schedule.total_steps == 100 and schedule.max_learning_rate == pytest.approx(3e-3)
    assert float(model.optimizer.beta_1) == pytest.approx(0.95)  # cycled: max momentum at 0


def test_weight_decay_is_set_on_the_optimizer_and_decays_weights_as_keras_documents():
    decayed = default_recipe(total_steps=10, weight_decay=0.1).model.optimizer
    assert decayed.weight_decay == pytest.approx(0.1)
    assert default_recipe(total_steps=10, weight_decay=0.0).model.optimizer.weight_decay is None
    nadam = default_recipe(total_steps=10, optimizer="nadam", weight_decay=0.01)
    assert nadam.model.optimizer.weight_decay == pytest.approx(0.01)
    # with a zero gradient the only change is the decay: w -= weight_decay * rate * w
    optimizer = default_recipe(schedule=None, optimizer="sgd", learning_rate=0.5,
                               weight_decay=0.1).model.optimizer
    w = keras.Variable(np.ones(3, dtype="float32"))
    optimizer.apply_gradients([(keras.ops.zeros(3), w)])
    np.testing.assert_allclose(w.numpy(), 1.0 - 0.1 * 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match=re.escape("weight_decay must be a finite number in "
                                                   "[0, inf), got -1")):
        default_recipe(total_steps=10, weight_decay=-1)


def test_warmup_cosine_schedule_matches_its_formula():
    total, peak = 100, 0.01
    rates = default_recipe(total_steps=total, learning_rate=peak,
                           schedule="warmup_cosine").model.optimizer._learning_rate
    warmup = total // 10
    steps = np.arange(total + 1)
    start = peak / 25
    expected = np.where(
        steps < warmup, start + (peak - start) * steps / warmup,
        peak * 0.5 * (1 + np.cos(np.pi * np.clip(steps - warmup, 0, total - warmup)
                                 / (total - warmup))))
    got = np.array([float(rates(int(step))) for step in steps])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)


def test_default_recipe_options():
    recipe = default_recipe(total_steps=50, batch_norm="before", activation="relu", l2=1e-4,
                            dropout=0.2, optimizer="adamw", schedule="cosine", depth=2)
    names = [layer.name for layer in recipe.model.layers]
    assert names == ["flatten", "hidden_1", "bn_1", "activation_1", "dropout_1", "hidden_2",
                     "bn_2", "activation_2", "dropout_2", "output"]
    assert all(isinstance(l.kernel_regularizer, keras.regularizers.L2)
               for l in _dense(recipe.model))
    assert np.isclose(_dense(recipe.model)[0].kernel_regularizer.l2, 1e-4)
    assert isinstance(recipe.model.optimizer, keras.optimizers.AdamW)
    assert isinstance(recipe.model.optimizer._learning_rate,
                      keras.optimizers.schedules.CosineDecay)
    constant = default_recipe(schedule=None, optimizer="adam", learning_rate=0.01)
    assert float(constant.model.optimizer.learning_rate) == pytest.approx(0.01)
    assert recipe.model.get_layer("bn_1").momentum == pytest.approx(0.99)  # Keras's default
    quick = default_recipe(schedule=None, batch_norm="after", bn_momentum=0.9, depth=2)
    assert [quick.model.get_layer(f"bn_{i}").momentum for i in (1, 2)] == [0.9, 0.9]
    with pytest.raises(ValueError, match=r"bn_momentum must be .*\[0, 1\), got 1.5"):
        default_recipe(schedule=None, batch_norm="after", bn_momentum=1.5)


def test_self_normalizing_recipe():
    recipe = self_normalizing_recipe(total_steps=100, dropout=0.1)
    model = recipe.model
    assert recipe.scaling == "standard"
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in model.layers)
    assert sum(isinstance(l, keras.layers.AlphaDropout) for l in model.layers) == 3
    for layer in _dense(model):
        assert isinstance(layer.kernel_initializer, keras.initializers.LecunNormal)
    assert all(l.activation is keras.activations.selu for l in _dense(model)[:-1])
    assert isinstance(model.optimizer, keras.optimizers.Nadam)
    assert isinstance(model.optimizer._learning_rate, OneCycleSchedule)


def test_naive_recipe():
    recipe = naive_recipe()
    model = recipe.model
    assert recipe.scaling == "unit"
    for layer in _dense(model):
        assert isinstance(layer.kernel_initializer, keras.initializers.RandomNormal)
        assert layer.kernel_initializer.stddev == 1.0
    assert all(l.activation is keras.activations.sigmoid for l in _dense(model)[:-1])
    optimizer = model.optimizer
    assert type(optimizer) is keras.optimizers.SGD
    assert float(optimizer.momentum) == 0.0 and not optimizer.nesterov
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    weights = _dense(model)[0].kernel.numpy()
    assert 0.95 < weights.std() < 1.05  # N(0, 1): 78,400 draws


def test_recipes_train_one_step():
    x = np.random.default_rng(0).normal(size=(64, 28, 28)).astype("float32")
    y = np.arange(64) % 10
    for name, build in RECIPES.items():
        model = build(total_steps=10, depth=1, width=8).model
        history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        assert np.isfinite(history.history["loss"][0]), name


@pytest.mark.parametrize("kwargs, message", [
    ({"schedule": "step"}, "unknown schedule 'step'"),
    ({"total_steps": None}, "needs total_steps"),
    ({"total_steps": 1}, "total_steps must be an integer >= 2, got 1"),
    ({"steps_per_execution": 0, "total_steps": 10}, "steps_per_execution must be an integer >= 1, got 0"),
    ({"schedule_epochs": 0, "total_steps": 10}, "schedule_epochs must be an integer >= 1, got 0"),
    ({"learning_rate": float("inf"), "total_steps": 10}, r"learning_rate must be a finite number in \(0, inf\), got inf"),
    ({"batch_norm": "middle", "total_steps": 10}, "unknown batch_norm"),
    ({"dropout": 1.0, "total_steps": 10}, "dropout must be"),
    ({"l2": -1.0, "total_steps": 10}, "l2 must be"),
    ({"learning_rate": 0, "total_steps": 10}, "learning_rate must be"),
    ({"optimizer": "adamm", "total_steps": 10}, "unknown optimizer 'adamm'"),
    ({"scaling": "minmax", "total_steps": 10}, "unknown scaling 'minmax'"),
    ({"activation": "swishy", "total_steps": 10}, "unknown activation"),
])
def test_default_recipe_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        default_recipe(**kwargs)


def test_self_normalizing_and_naive_reject_bad_arguments():
    with pytest.raises(ValueError, match="dropout must be"):
        self_normalizing_recipe(total_steps=10, dropout=-0.1)
    with pytest.raises(ValueError, match="unknown scaling"):
        naive_recipe(scaling="raw")
    with pytest.raises(ValueError, match="total_steps must be an integer >= 2, got 1"):
        naive_recipe(total_steps=1)  # used only with a schedule, but checked when given
    with pytest.raises(ValueError, match="unknown recipe 'fancy'.*'default'"):
        recipe_defaults("fancy")


def test_table_is_read_from_the_signatures(monkeypatch):
    table = recipe_table(["naive", "default", "self_normalizing"])
    assert list(table.columns) == ["naive", "default", "self_normalizing"]
    assert table.loc["initialization"].tolist() == ["N(0, 1)", "He normal", "LeCun normal"]
    assert table.loc["activation"].tolist() == ["sigmoid", "ReLU", "SELU"]
    assert table.loc["schedule", "naive"] == "constant"
    assert table.loc["input scaling", "self_normalizing"] == "standardised"
    assert table.loc["normalization", "default"] == "none"
    assert "weight decay (0.004)" in table.loc["regularization", "default"]
    # the default's 1cycle is meant for 8 epochs, the table says so
    assert table.loc["schedule", "default"] == "1cycle (momentum cycled), over 8 epochs"

    def swapped(*, total_steps=None, depth=3, width=100, initializer="he_normal",
                activation="relu", batch_norm="before", l2=1e-4, dropout=0.0,
                optimizer="adam", learning_rate=1e-3, schedule="cosine", scaling="unit"):
        """A stand-in with other defaults."""

    monkeypatch.setitem(recipes.RECIPES, "default", swapped)
    changed = recipe_table("default")["default"]
    assert changed["activation"] == "ReLU" and "before" in changed["normalization"]
    assert changed["regularization"] == "early stopping; L2 (0.0001); more if needed"
    assert changed["schedule"] == "cosine decay, over the whole run"  # no schedule_epochs
    assert changed["optimizer"] == "Adam, rate 0.001"


# One script, two stages: "save" trains a 1cycle recipe for one epoch, saves it, trains one
# more epoch (the uninterrupted run); "resume" loads the saved model in a new interpreter
# and trains the same second epoch. No shuffling, so both second epochs see the same batches.
RESUME_SCRIPT = '''
import json, pathlib, sys
import numpy as np
import companion as cp
from companion._quiet import keras

stage, folder = sys.argv[1], pathlib.Path(sys.argv[2])
cp.setup(seed=0, announce=False)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 8)).astype("float32")
y = rng.integers(0, 3, size=64)
if stage == "save":
    model = cp.default_recipe(total_steps=8, depth=1, width=8, example_shape=(8,), optimizer="nadam",
                              n_classes=3, steps_per_execution=1).model
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    model.save(folder / "half.keras")
else:
    model = keras.models.load_model(folder / "half.keras")
step = int(model.optimizer.iterations)
beta_1 = float(keras.ops.convert_to_numpy(model.optimizer.beta_1 + 0.0))
model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
np.savez(folder / f"{stage}.npz", *model.get_weights())
(folder / f"{stage}.json").write_text(json.dumps({"step": step, "beta_1": beta_1}))
'''


# Keras's saving code (not ours) trips NumPy 2's __array__(copy=...) deprecation.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept:DeprecationWarning")
def test_a_saved_1cycle_recipe_resumes_with_its_momentum_still_cycling(run_python, tmp_path):
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    for stage in ("save", "resume"):
        done = run_python(str(script), stage, str(tmp_path))
        assert done.returncode == 0, done.stderr[-3000:]
    import json
    saved, resumed = (json.loads((tmp_path / f"{s}.json").read_text()) for s in ("save", "resume"))
    schedule = OneCycleSchedule(3e-3, total_steps=8)
    # at the resumed step (4 of 8) the cycled beta_1 is well below its step-0 value 0.95
    assert resumed["step"] == saved["step"] == 4
    expected = float(schedule.momentum(4))
    assert resumed["beta_1"] == pytest.approx(expected, abs=1e-7) and expected < 0.9
    uninterrupted = np.load(tmp_path / "save.npz")
    again = np.load(tmp_path / "resume.npz")
    # Tolerance. Both second epochs run the same float32 operations on the same batches
    # with the same thread count and oneDNN setting, so they should agree to the bit; the
    # bound allows a kernel of the new process to sum in another order. Per step, a
    # gradient (a sum over the 16 examples of a batch) then moves by at most gamma_16
    # relative; Nadam's step is at most about 5 * lr (Adam's bound lr (1 - beta_1) /
    # sqrt(1 - beta_2) = 0.15 / 0.032 * lr), so it moves by at most 5 * lr * gamma_16,
    # and writing the weight rounds by u |w|. Over the 4 steps, for two runs:
    u = 2.0 ** -24
    gamma_16 = 16 * u / (1 - 16 * u)
    for name in uninterrupted:
        w = uninterrupted[name]
        tolerance = 2 * 4 * (5 * 3e-3 * gamma_16 + u * np.abs(w).max())
        np.testing.assert_allclose(again[name], w, rtol=0, atol=tolerance)


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, message", [
    (lambda: naive_recipe(steps_per_execution=True), "steps_per_execution must be an integer >= 1, got True"),
    (lambda: self_normalizing_recipe(total_steps=10, dropout=float("nan")),
     "dropout must be a finite number in [0, 1), got nan"),
    (lambda: default_recipe(total_steps=10, l2=float("inf")), "l2 must be a finite number in [0, inf), got inf"),
    (lambda: default_recipe(total_steps=2.5), "total_steps must be an integer >= 2, got 2.5"),
    (lambda: recipe_table(["bogus"]), "unknown names ['bogus']; valid choices: ['naive', 'default', 'self_normalizing', "
     "'keras_defaults', 'sgd_1cycle']"),
])
def test_bad_inputs_name_the_argument(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_numpy_scalars_are_accepted():
    recipe = default_recipe(total_steps=np.int64(100), learning_rate=np.float32(0.01),
                            steps_per_execution=np.int64(4), dropout=np.float32(0.25))
    schedule = recipe.model.optimizer._learning_rate
    assert schedule.total_steps == 100 and schedule.max_learning_rate == pytest.approx(0.01)


# --- the practitioners' baselines ---------------------------------------------------------

def test_keras_defaults_recipe_is_keras_left_at_its_defaults():
    recipe = keras_defaults_recipe()
    model = recipe.model
    assert recipe.name == "keras_defaults" and recipe.scaling == "unit"
    assert recipe.settings["batch_size"] == 32
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in model.layers)
    assert [l.units for l in _dense(model)] == [100, 100, 100, 10]
    assert all(isinstance(l.kernel_initializer, keras.initializers.HeNormal)
               for l in _dense(model))
    assert all(l.activation is keras.activations.relu for l in _dense(model)[:-1])
    assert type(model.optimizer) is keras.optimizers.Adam
    # Keras's own default rate and betas, not cycled
    assert float(model.optimizer.learning_rate) == pytest.approx(
        keras.optimizers.Adam().get_config()["learning_rate"])
    assert float(model.optimizer.beta_1) == pytest.approx(0.9)


def test_sgd_1cycle_recipe_follows_the_linear_three_point_cycle():
    total = 200
    recipe = sgd_1cycle_recipe(total_steps=total)
    optimizer = recipe.model.optimizer
    assert recipe.name == "sgd_1cycle" and recipe.scaling == "unit"
    assert recipe.settings["batch_size"] == 128
    assert type(optimizer) is keras.optimizers.SGD and float(optimizer.momentum) == 0.0
    assert all(l.activation is keras.activations.relu for l in _dense(recipe.model)[:-1])
    rates = optimizer._learning_rate
    steps = np.arange(0, total + 1)
    # independent: a linear rise 0.01 -> 0.1 over the first 45%, then a linear fall to 1e-5
    peak = 0.45 * total
    expected = np.where(steps <= peak, 0.01 + (0.1 - 0.01) * steps / peak,
                        0.1 + (1e-5 - 0.1) * (steps - peak) / (total - peak))
    got = np.array([float(rates(int(step))) for step in steps])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


def test_the_table_shows_the_baselines_and_their_batch_sizes():
    table = recipe_table(["keras_defaults", "sgd_1cycle"])
    assert table.loc["optimizer"].tolist() == ["Adam, rate 0.001", "plain SGD, rate 0.1"]
    assert table.loc["schedule"].tolist() == ["constant",
                                              "linear 1cycle (no momentum), over the whole run"]
    assert table.loc["batch size"].tolist() == ["32", "128"]
    assert table.loc["normalization"].tolist() == ["none", "none"]
    assert table.loc["input scaling"].tolist() == ["[0, 1]", "[0, 1]"]
