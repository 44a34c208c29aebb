"""companion.lab.initialization against formulas and against the weights Keras actually draws.

Tolerance of the empirical checks: the sample variance of N independent draws has a
relative standard deviation of sqrt((kurtosis - 1) / N), which is at most sqrt(2 / N)
for the distributions here (normal: kurtosis 3; truncated normal at 2 sigma: about
2.4; uniform: 1.8). For N = 10**6 that is 0.0014, so a 1% tolerance is 7 standard
deviations: a correct formula cannot fail it by chance, while a missing truncation
correction (a 23% error) or a wrong fan (a factor of 2 here) cannot pass it.
"""

import math
import re

import keras
import numpy as np
import pandas as pd
import pytest
from scipy.integrate import trapezoid

import companion
from companion.lab import initialization as ci

KERAS_CONSTANT = 0.87962566103423978  # what keras.initializers.VarianceScaling divides by
BIG = (1000, 1000)  # 10**6 draws: see the module docstring for the tolerance


def draw(initializer, shape, seed=7):
    config = initializer.get_config()
    if "seed" in config:
        config["seed"] = seed
    init = initializer.__class__.from_config(config)
    return np.asarray(init(shape, dtype="float32"), dtype=np.float64)


# --- the truncation constant ---------------------------------------------------------

def test_truncated_normal_std_matches_keras_constant():
    assert ci.truncated_normal_std(2.0) == pytest.approx(KERAS_CONSTANT, abs=1e-15)
    assert ci.TRUNCATION_STD == pytest.approx(KERAS_CONSTANT, abs=1e-15)


def test_truncated_normal_std_by_numerical_integration():
    for bound in (0.5, 1.0, 2.0, 3.0):
        x = np.linspace(-bound, bound, 200_001)
        density = np.exp(-x**2 / 2)
        # scipy's trapezoid: NumPy names it trapezoid only from 2.0 (trapz before)
        variance = trapezoid(x**2 * density, x) / trapezoid(density, x)
        assert ci.truncated_normal_std(bound) == pytest.approx(math.sqrt(variance), rel=1e-8)
    assert ci.truncated_normal_std(50.0) == pytest.approx(1.0)


def test_truncated_normal_std_rejects_bad_bound():
    with pytest.raises(ValueError, match="bound"):
        ci.truncated_normal_std(0)


# --- fans ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, fans", [
    ((), (1, 1)),
    ((7,), (7, 7)),
    ((784, 300), (784, 300)),
    ((5, 16, 32), (80, 160)),
    ((3, 3, 64, 128), (576, 1152)),
])
def test_compute_fans_formulas(shape, fans):
    assert ci.compute_fans(shape) == fans


def test_compute_fans_explicit_axes():
    assert ci.compute_fans((2, 3, 4), input_axes=[0, 1], output_axes=[2]) == (6, 4)
    with pytest.raises(ValueError, match="both"):
        ci.compute_fans((2, 3), input_axes=[0])


@pytest.mark.parametrize("shape", [(0, 3), (3, -1), (2.5, 3), "ab", 3])
def test_bad_shape(shape):
    with pytest.raises(ValueError, match="shape"):
        ci.initializer_spec("he_normal", shape)


# --- initializer_spec: formulas --------------------------------------------------------

N_IN, N_OUT = 300, 200
AVG = (N_IN + N_OUT) / 2


@pytest.mark.parametrize("name, variance, distribution", [
    ("glorot_uniform", 1 / AVG, "uniform"),
    ("glorot_normal", 1 / AVG, "truncated_normal"),
    ("he_uniform", 2 / N_IN, "uniform"),
    ("he_normal", 2 / N_IN, "truncated_normal"),
    ("lecun_uniform", 1 / N_IN, "uniform"),
    ("lecun_normal", 1 / N_IN, "truncated_normal"),
])
def test_named_initializer_formulas(name, variance, distribution):
    spec = ci.initializer_spec(name, (N_IN, N_OUT))
    assert (spec.fan_in, spec.fan_out, spec.fan_avg) == (N_IN, N_OUT, AVG)
    assert spec.distribution == distribution and spec.mean == 0.0
    assert spec.variance == pytest.approx(variance, rel=1e-12)
    assert spec.stddev == pytest.approx(math.sqrt(variance), rel=1e-12)
    if distribution == "uniform":
        assert spec.limit == pytest.approx(math.sqrt(3 * variance), rel=1e-12)  # r = sqrt(3 s^2)
        assert spec.draw_stddev is None
    else:
        assert spec.draw_stddev == pytest.approx(math.sqrt(variance) / KERAS_CONSTANT, rel=1e-12)
        assert spec.limit == pytest.approx(2 * spec.draw_stddev, rel=1e-12)
    assert spec.fan == {"glorot": AVG, "he": N_IN, "lecun": N_IN}[name.split("_")[0]]


def test_spec_of_variance_scaling_and_plain_initializers():
    vs = keras.initializers.VarianceScaling(scale=0.5, mode="fan_out",
                                            distribution="untruncated_normal")
    spec = ci.initializer_spec(vs, (N_IN, N_OUT))
    assert (spec.scale, spec.mode, spec.variance) == (0.5, "fan_out", pytest.approx(0.5 / N_OUT))
    assert spec.limit is None and spec.draw_stddev == pytest.approx(math.sqrt(0.5 / N_OUT))
    normal = ci.initializer_spec(keras.initializers.RandomNormal(mean=0.1, stddev=0.3), (4, 4))
    assert (normal.mean, normal.variance, normal.limit) == (0.1, pytest.approx(0.09), None)
    assert normal.scale is None and normal.fan is None
    # A plain TruncatedNormal is *not* corrected: its weights spread 0.88 x stddev.
    tn = ci.initializer_spec(keras.initializers.TruncatedNormal(stddev=0.2), (4, 4))
    assert tn.stddev == pytest.approx(0.2 * KERAS_CONSTANT) and tn.limit == pytest.approx(0.4)
    uniform = ci.initializer_spec(keras.initializers.RandomUniform(-0.1, 0.3), (4, 4))
    assert uniform.mean == pytest.approx(0.1) and uniform.limit == pytest.approx(0.2)
    assert uniform.variance == pytest.approx(0.4**2 / 12)
    constant = ci.initializer_spec(keras.initializers.Constant(0.25), (4, 4))
    assert (constant.distribution, constant.mean, constant.variance) == ("constant", 0.25, 0.0)
    assert ci.initializer_spec("ones", (3,)).mean == 1.0
    assert ci.initializer_spec("zeros", (3,)).mean == 0.0
    ortho = ci.initializer_spec(keras.initializers.Orthogonal(gain=1.5), (300, 200))
    assert ortho.variance == pytest.approx(1.5**2 / 300) and ortho.limit == 1.5


def test_spec_uses_max_one_for_tiny_fans():
    # Keras divides by max(1, fan): a scalar kernel keeps the scale itself.
    assert ci.initializer_spec("he_normal", ()).variance == pytest.approx(2.0)


def test_spec_errors():
    with pytest.raises(ValueError, match="unknown initializer"):
        ci.initializer_spec("he_wobbly", (3, 3))
    with pytest.raises(ValueError, match="valid choices"):
        ci.initializer_spec("identity", (3, 3))
    with pytest.raises(ValueError, match="plain function"):
        ci.initializer_spec(lambda shape, dtype=None: np.zeros(shape), (3, 3))
    with pytest.raises(ValueError, match="rank"):
        ci.initializer_spec("orthogonal", (3,))


# --- initializer_spec against what Keras draws --------------------------------------------

EMPIRICAL = [
    keras.initializers.GlorotUniform(), keras.initializers.GlorotNormal(),
    keras.initializers.HeUniform(), keras.initializers.HeNormal(),
    keras.initializers.LecunUniform(), keras.initializers.LecunNormal(),
    keras.initializers.VarianceScaling(scale=0.5, mode="fan_out",
                                       distribution="untruncated_normal"),
    keras.initializers.VarianceScaling(scale=3.0, mode="fan_avg", distribution="uniform"),
    keras.initializers.RandomNormal(mean=0.1, stddev=0.3),
    keras.initializers.TruncatedNormal(mean=-0.2, stddev=0.2),
    keras.initializers.RandomUniform(minval=-0.1, maxval=0.3),
]


@pytest.mark.parametrize("initializer", EMPIRICAL, ids=lambda i: type(i).__name__)
def test_spec_matches_drawn_weights(initializer):
    spec = ci.initializer_spec(initializer, BIG)
    w = draw(initializer, BIG)
    assert w.var() / spec.variance == pytest.approx(1.0, abs=0.01)
    # the mean: within 5 standard errors
    assert abs(w.mean() - spec.mean) < 5 * spec.stddev / math.sqrt(w.size) + 1e-7
    deviation = np.abs(w - spec.mean).max()
    if spec.limit is None:  # an untruncated normal: 10**6 draws reach past 4 sigma
        assert deviation > 4 * spec.stddev
    else:  # bounded, and with 10**6 draws the bound is nearly reached
        assert deviation <= spec.limit * (1 + 1e-6)
        assert deviation >= 0.99 * spec.limit


def test_without_the_correction_the_variance_would_be_off():
    spec = ci.initializer_spec("he_normal", BIG)
    w = draw(keras.initializers.HeNormal(), BIG)
    uncorrected = spec.variance * KERAS_CONSTANT**2
    assert w.var() / spec.variance == pytest.approx(1.0, abs=0.01)
    assert w.var() / uncorrected > 1.2  # what a forgotten correction would predict


def test_spec_matches_drawn_convolution_kernel():
    shape = (3, 3, 64, 128)  # 73,728 draws: relative sd of the variance below 0.6%
    spec = ci.initializer_spec("he_normal", shape)
    assert spec.variance == pytest.approx(2 / (3 * 3 * 64))
    w = draw(keras.initializers.HeNormal(), shape)
    assert w.var() / spec.variance == pytest.approx(1.0, abs=0.03)


def test_orthogonal_mean_square_is_exact():
    w = draw(keras.initializers.Orthogonal(gain=1.5), (300, 200))
    spec = ci.initializer_spec(keras.initializers.Orthogonal(gain=1.5), (300, 200))
    assert np.mean(w**2) == pytest.approx(spec.variance, rel=1e-5)
    assert np.abs(w).max() <= spec.limit * (1 + 1e-6)


def test_constant_draws_are_constant():
    w = draw(keras.initializers.Constant(0.25), (10, 10))
    spec = ci.initializer_spec(keras.initializers.Constant(0.25), (10, 10))
    assert np.all(w == spec.mean) and w.var() == spec.variance


# --- tables ------------------------------------------------------------------------

def test_variance_table_formulas_and_values():
    table = ci.variance_table((784, 300))
    assert table.index.tolist() == ["Glorot", "He", "LeCun"]
    assert table["σ² (normal)"].tolist() == ["1 / fan_avg", "2 / fan_in", "1 / fan_in"]
    assert table["r (uniform)"].tolist() == ["√(3 / fan_avg)", "√(6 / fan_in)", "√(3 / fan_in)"]
    np.testing.assert_allclose(table["σ²"], [1 / 542, 2 / 784, 1 / 784], rtol=1e-12)
    np.testing.assert_allclose(table["r"], np.sqrt(3 * table["σ²"]), rtol=1e-12)
    assert "SELU" in table.loc["LeCun", "activations"]
    assert "σ²" not in ci.variance_table().columns


def test_named_initializers_mapping():
    table = ci.named_initializers()
    assert table.loc["glorot_uniform"].tolist() == ["GlorotUniform", 1.0, "fan_avg", "uniform"]
    assert table.loc["he_normal"].tolist() == ["HeNormal", 2.0, "fan_in", "truncated_normal"]
    assert table.loc["lecun_uniform", "scale"] == 1.0
    with pytest.raises(ValueError, match="VarianceScaling"):
        ci.named_initializers(["random_normal"])


def test_variance_check_table():
    check = ci.variance_check(["he_normal", "glorot_uniform"], (784, 300), seed=3)
    assert check.index.tolist() == ["he_normal", "glorot_uniform"]
    assert (check["relative_error"].abs() < 0.03).all()
    np.testing.assert_allclose(check["relative_error"], check["empirical"] / check["variance"] - 1)
    assert check.loc["he_normal", "uncorrected"] == pytest.approx(
        2 / 784 * KERAS_CONSTANT**2)
    assert np.isnan(check.loc["glorot_uniform", "uncorrected"])
    assert (check["max_deviation"] <= check["limit"] * (1 + 1e-6)).all()
    # its own seed each: the two draws are not the same numbers rescaled
    again = ci.variance_check({"a": "he_uniform", "b": "lecun_uniform"}, (100, 100))
    assert again.loc["a", "relative_error"] != pytest.approx(again.loc["b", "relative_error"])
    with pytest.raises(ValueError, match="empty"):
        ci.variance_check([], (3, 3))


# --- depth_sweep -------------------------------------------------------------------

X = np.array([[0.5, -1.0, 2.0], [0.5, -1.5, 0.5], [-1.0, 0.7, 0.5], [2.0, 0.5, 0.0]],
             dtype=np.float32)  # row sums 1.5, -0.5, 0.2, 2.5
S = X.sum(axis=1).astype(np.float64)  # with all-equal weights every unit sees c * sum(x)


def test_depth_sweep_constant_linear_network_matches_formula():
    c, width, depth = 0.3, 5, 4
    sweep = companion.depth_sweep(["linear"], {"c": keras.initializers.Constant(c)}, X,
                                  depth=depth, width=width)
    assert sweep.columns.tolist() == ["activation", "initializer", "seed", "width", "layer",
                                      "mean", "std", "ratio", "overflow", "saturated"]
    layers = np.arange(1, depth + 1)
    # layer l: every unit outputs c**l * width**(l-1) * sum(x)
    expected = c**layers * width ** (layers - 1.0) * S.std()
    np.testing.assert_allclose(sweep["std"], expected, rtol=1e-5)
    np.testing.assert_allclose(sweep["mean"], c**layers * width ** (layers - 1.0) * S.mean(),
                               rtol=1e-5)
    input_std = X.astype(np.float64).std()
    assert sweep.attrs["input_std"] == pytest.approx(input_std)
    np.testing.assert_allclose(sweep["ratio"], expected / input_std, rtol=1e-5)
    assert not sweep["overflow"].any() and sweep["saturated"].isna().all()


def test_depth_sweep_relu_and_saturation():
    sweep = companion.depth_sweep(["relu", "tanh", "sigmoid"],
                                  {"c": keras.initializers.Constant(3.0)}, X, depth=2, width=4)
    relu = sweep[sweep.activation == "relu"]
    a1 = np.maximum(3.0 * S, 0)  # first layer: relu(c * sum(x)), the same in each unit
    assert relu["std"].iloc[0] == pytest.approx(a1.std(), rel=1e-5)
    assert relu["saturated"].isna().all()
    tanh = sweep[sweep.activation == "tanh"]
    z1 = 3.0 * S  # 4.5, -1.5, 0.6, 7.5: tanh is within 0.05 of +-1 where |z| >= 1.83
    expected = np.mean(1 - np.abs(np.tanh(z1)) <= 0.05)
    assert tanh["saturated"].iloc[0] == pytest.approx(expected)
    assert expected == 0.5
    assert tanh["saturated"].iloc[1] == 1.0  # layer 2: |z| = 12 |tanh(z1)| >= 6
    sigmoid = sweep[sweep.activation == "sigmoid"]
    s1 = 1 / (1 + np.exp(-z1))
    near = np.minimum(s1, 1 - s1) <= 0.05
    assert sigmoid["saturated"].iloc[0] == pytest.approx(near.mean())


def test_depth_sweep_marks_overflow_to_the_end():
    sweep = companion.depth_sweep(["linear"], {"big": keras.initializers.Constant(1e3)}, X,
                                  depth=16, width=4)
    first = int(sweep.loc[sweep["overflow"], "layer"].min())
    # |c**l * width**(l-1) * sum(x)| passes float32's 3.4e38 at this layer
    magnitude = np.abs(S).max() * 1e3 ** np.arange(1, 17) * 4.0 ** np.arange(0, 16)
    assert first == int(np.argmax(magnitude > np.finfo(np.float32).max)) + 1
    after = sweep[sweep["layer"] >= first]
    assert after["overflow"].all() and np.isinf(after["std"]).all() and after["mean"].isna().all()
    assert np.isfinite(sweep.loc[sweep["layer"] < first, "std"]).all()


def test_depth_sweep_seeds_and_grid():
    sweep = companion.depth_sweep(["relu", "tanh"], ["he_uniform", "glorot_uniform"], X,
                                  depth=3, width=8, seeds=(1, 2))
    assert len(sweep) == 2 * 2 * 2 * 3
    assert sweep.groupby(["activation", "initializer", "seed"]).size().eq(3).all()
    again = companion.depth_sweep(["relu"], ["he_uniform"], X, depth=3, width=8, seeds=(1, 2))
    mine = sweep[(sweep.activation == "relu") & (sweep.initializer == "he_uniform")]
    np.testing.assert_array_equal(mine["std"].to_numpy(), again["std"].to_numpy())
    one, two = (again[again.seed == s]["std"].to_numpy() for s in (1, 2))
    assert not np.allclose(one, two)


def test_depth_sweep_collects_once_the_dropped_networks_hold_enough_weights(monkeypatch):
    import types
    from companion.lab import initialization
    width, depth = 8, 2
    n_params = X.shape[1] * width + width + (depth - 1) * (width * width + width) \
        + width * 10 + 10
    # two dropped float32 networks exceed the bound, one does not
    monkeypatch.setattr(initialization, "UNCOLLECTED_BYTES", 4 * n_params + 1)
    monkeypatch.setattr(initialization, "_uncollected_bytes", 0)
    built, collected_after = [], []
    build = initialization.build_mlp
    monkeypatch.setattr(initialization, "build_mlp",
                        lambda **kwargs: built.append(1) or build(**kwargs))
    monkeypatch.setattr(initialization, "gc", types.SimpleNamespace(
        collect=lambda *args, **kwargs: collected_after.append(len(built))))
    companion.depth_sweep(["relu"], ["he_uniform"], X, depth=depth, width=width,
                          seeds=(1, 2, 3, 4, 5))
    assert collected_after == [2, 4]
    # the count goes on across calls: the fifth network and the next call's first
    companion.depth_sweep(["relu"], ["he_uniform"], X, depth=depth, width=width, seeds=(1,))
    assert collected_after == [2, 4, 6]


def test_depth_sweep_errors():
    with pytest.raises(ValueError, match="empty"):
        companion.depth_sweep([], ["he_uniform"], X, depth=2)
    with pytest.raises(ValueError, match="seeds"):
        companion.depth_sweep(["relu"], ["he_uniform"], X, depth=2, seeds=())
    with pytest.raises(ValueError, match="batch"):
        companion.depth_sweep(["relu"], ["he_uniform"], X[:1], depth=2)
    with pytest.raises(ValueError, match="zero spread"):
        companion.depth_sweep(["relu"], ["he_uniform"], np.ones((4, 3)), depth=2)
    with pytest.raises(TypeError, match="activations must be a mapping or a sequence"):
        companion.depth_sweep("relu", ["he_uniform"], X, depth=2)
    with pytest.raises(ValueError, match="unknown activation 'relux' in activations"):
        companion.depth_sweep(["relux"], ["he_uniform"], X, depth=2)
    with pytest.raises(ValueError, match="depth must be an integer >= 1, got 0"):
        companion.depth_sweep(["relu"], ["he_uniform"], X, depth=0)


# --- summarize_sweep and unit_differences ------------------------------------------------

def _frame(name, ratios):
    return pd.DataFrame({"activation": "relu", "initializer": name, "seed": 1, "width": 8,
                         "layer": np.arange(1, len(ratios) + 1), "ratio": ratios})


def test_summarize_sweep():
    sweep = pd.concat([_frame("in", [0.9, 0.5, 2.0, 1.0]),
                       _frame("low", [0.9, 0.6, 0.4, 0.3]),
                       _frame("overflow", [3.0, np.inf, np.inf, np.inf])])
    summary = companion.summarize_sweep(sweep.sample(frac=1.0, random_state=0))
    assert summary.index.names == ["activation", "initializer", "seed", "width"]
    rows = summary.droplevel(["activation", "seed", "width"])
    assert rows.loc["in"].tolist() == [0.9, 1.0, 0.5, 2.0, True, 0]  # bounds included
    assert rows.loc["low", "first_outside"] == 3 and not rows.loc["low", "within"]
    assert rows.loc["overflow", "max"] == np.inf and rows.loc["overflow", "first_outside"] == 1
    wide = companion.summarize_sweep(sweep, band=(0.25, 4.0)).droplevel([0, 2, 3])
    assert wide.loc["low", "within"] and not wide.loc["overflow", "within"]
    with pytest.raises(ValueError, match="band"):
        companion.summarize_sweep(sweep, band=(2.0, 0.5))
    with pytest.raises(ValueError, match="lacks"):
        companion.summarize_sweep(sweep.drop(columns="seed"))


def test_unit_differences():
    model = companion.build_mlp(depth=1, width=3, example_shape=(2,), n_classes=2)
    kernel = np.array([[1.0, 1.0, 2.0], [0.5, 0.5, 0.5]], dtype=np.float32)
    model.get_layer("hidden_1").set_weights([kernel, np.zeros(3, np.float32)])
    table = companion.unit_differences(model)
    assert table.loc["hidden_1"].tolist() == [3, 2, 1.0]  # units 1 and 2 equal, unit 3 not
    model.get_layer("hidden_1").set_weights([kernel, np.array([0, 0.25, 0], np.float32)])
    assert companion.unit_differences(model).loc["hidden_1", "distinct_units"] == 3
    assert companion.unit_differences(model).loc["hidden_1", "max_difference"] == 1.0


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: ci.initializer_spec("he_normal", (0, 3)), ValueError,
     "shape must be a tuple of integers >= 1, got (0, 3)"),
    (lambda: ci.initializer_spec("he_normal", 5), ValueError,
     "shape must be a tuple of integers >= 1, got 5"),
    (lambda: ci.named_initializers("he_normal"), TypeError,
     "names must be a list of names, got the string 'he_normal'"),
    (lambda: ci.named_initializers(["bogus"]), ValueError, "unknown initializer 'bogus' in names"),
    (lambda: ci.variance_check(["he_normal"], (4, 3), seed=-1), ValueError,
     "seed must be an integer >= 0, got -1"),
    (lambda: ci.summarize_sweep(pd.DataFrame(), band=(2.0, 0.5)), ValueError,
     "band must be (low, high) with low < high"),
    (lambda: ci.summarize_sweep("sweep"), TypeError, "sweep must be a DataFrame with columns"),
    (lambda: companion.depth_sweep(["relu"], ["he_normal"], "abc", depth=2), TypeError,
     "x must be an array of numbers, got the string 'abc'"),
    (lambda: companion.depth_sweep(["relu"], ["he_normal"], np.eye(4), depth=2,
                                   tolerance=float("nan")), ValueError,
     "tolerance must be a finite number in [0, inf), got nan"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_numpy_integers_are_accepted_in_shapes_and_seeds():
    assert ci.initializer_spec("he_normal", (np.int64(4), np.int32(3))).fan_in == 4
    check = ci.variance_check(["he_normal"], (np.int64(40), 30), seed=np.int64(1))
    assert list(check.index) == ["he_normal"]
