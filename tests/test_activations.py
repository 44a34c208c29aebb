import re

import keras
import numpy as np
import pandas as pd
import pytest
from scipy.special import erf, erfc

from companion.lab import activations
from companion.tools import diagnostics
from companion.book import plots
from companion.lab.models import build_mlp

Z = np.linspace(-4.0, 4.0, 801)
Z = Z[np.abs(Z) > 1e-3]  # the ReLU family has no derivative at 0


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softplus(z):
    return np.log1p(np.exp(z))


def phi(z):
    return np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)


def big_phi(z):
    return 0.5 * (1 + erf(z / np.sqrt(2)))


# The SELU constants of Klambauer et al. (2017), equations (14) and (15), in closed form.
ALPHA01 = -np.sqrt(2 / np.pi) / (erfc(1 / np.sqrt(2)) * np.exp(0.5) - 1)
LAMBDA01 = ((1 - erfc(1 / np.sqrt(2)) * np.sqrt(np.e)) * np.sqrt(2 * np.pi)
            * (2 * erfc(np.sqrt(2)) * np.e**2 + np.pi * erfc(1 / np.sqrt(2))**2 * np.e
               - 2 * (2 + np.pi) * erfc(1 / np.sqrt(2)) * np.sqrt(np.e) + np.pi + 2)**-0.5)

# name -> (f(z), f'(z)) written from the definitions, independently of Keras.
CLOSED_FORMS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.2 * z), lambda z: np.where(z > 0, 1, 0.2)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(z)), lambda z: np.where(z > 0, 1, np.exp(z))),
    "selu": (lambda z: LAMBDA01 * np.where(z > 0, z, ALPHA01 * np.expm1(z)),
             lambda z: LAMBDA01 * np.where(z > 0, 1, ALPHA01 * np.exp(z))),
    "gelu": (lambda z: z * big_phi(z), lambda z: big_phi(z) + z * phi(z)),
    "swish": (lambda z: z * sigmoid(z),
              lambda z: sigmoid(z) + z * sigmoid(z) * (1 - sigmoid(z))),
    "mish": (lambda z: z * np.tanh(softplus(z)),
             lambda z: np.tanh(softplus(z)) + z * (1 - np.tanh(softplus(z))**2) * sigmoid(z)),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z)**2),
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
    "softplus": (softplus, sigmoid),
}


def test_catalogue_is_covered_by_closed_forms():
    assert set(activations.ACTIVATIONS) == set(CLOSED_FORMS)


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_gradient_tape_derivative_matches_closed_form(name):
    f, df = CLOSED_FORMS[name]
    y, dy = plots.activation_and_derivative(activations.ACTIVATIONS[name], Z)
    np.testing.assert_allclose(y, f(Z), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dy, df(Z), rtol=1e-4, atol=1e-5)


def test_selu_constants_are_keras_s_and_the_paper_s():
    constants = activations.selu_constants()
    assert constants["alpha"] == pytest.approx(ALPHA01, rel=1e-9)
    assert constants["scale"] == pytest.approx(LAMBDA01, rel=1e-9)


def test_selu_fixed_point_mean_zero_variance_one():
    # E[selu(z)] = 0 and E[selu(z)^2] = 1 for z ~ N(0, 1): the defining property.
    z = np.linspace(-12, 12, 200_001)
    y, _ = plots.activation_and_derivative("selu", z)
    weights = phi(z) * (z[1] - z[0])
    assert abs(np.sum(weights * y)) < 1e-5
    assert np.sum(weights * y.astype(np.float64)**2) == pytest.approx(1.0, abs=1e-5)


def test_activation_functions_lookup():
    assert list(activations.activation_functions(["relu", "hard_sigmoid"])) == \
        ["relu", "hard_sigmoid"]
    with pytest.raises(ValueError, match="unknown activation 'nope' in names; valid choices"):
        activations.activation_functions(["nope"])
    with pytest.raises(TypeError, match="names must be a list of names, got the string"):
        activations.activation_functions("relu")


def test_activation_mlp_copies_the_layer_template_per_block():
    template = keras.layers.LeakyReLU(negative_slope=0.3)
    model = activations.activation_mlp(template, depth=3, width=4, example_shape=(2,))
    acts = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(acts) == 3 and all(layer is not template for layer in acts)
    assert {layer.negative_slope for layer in acts} == {0.3}
    hidden = model.get_layer("hidden_1")
    assert hidden.activation is keras.activations.linear


def test_activation_mlp_prelu_layers_have_their_own_slopes():
    model = activations.activation_mlp(keras.layers.PReLU(), depth=2, width=3,
                                       example_shape=(2,))
    first, second = (model.get_layer(f"activation_{i}") for i in (1, 2))
    assert first.alpha is not second.alpha
    first.alpha.assign(np.array([0.1, 0.2, 0.6]))
    table = activations.learned_slopes(model)
    assert table.loc["activation_1", "mean"] == pytest.approx(0.3)
    assert table.loc["activation_1", "median"] == pytest.approx(0.2)
    assert table.loc["activation_2", "max"] == 0.0


def test_activation_mlp_and_learned_slopes_reject_bad_input():
    with pytest.raises(ValueError, match="unknown activation"):
        activations.activation_mlp("nope")
    with pytest.raises(ValueError, match="depth"):
        activations.activation_mlp("relu", depth=0)
    with pytest.raises(ValueError, match="no PReLU"):
        activations.learned_slopes(build_mlp(depth=1, width=2))


def numpy_selu(z):
    return LAMBDA01 * np.where(z > 0, z, ALPHA01 * np.expm1(z))


def test_selu_stack_residual_block_adds_its_input():
    keras.utils.set_random_seed(0)
    model = activations.selu_stack(3, depth=2, width=3, residual=True)
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    first, second = (np.asarray(v, dtype=np.float64) for v in model(x))
    w1, b1 = model.get_layer("hidden_1").get_weights()
    w2, b2 = model.get_layer("hidden_2").get_weights()
    np.testing.assert_allclose(first, numpy_selu(x @ w1 + b1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second, first + numpy_selu(first @ w2 + b2),
                               rtol=1e-5, atol=1e-6)


def test_selu_stack_dropout_only_in_training():
    keras.utils.set_random_seed(0)
    model = activations.selu_stack(4, depth=1, width=200, dropout=0.5, dropout_kind="dropout")
    x = np.ones((2, 4), dtype=np.float32)
    assert np.mean(np.asarray(model(x, training=True)) == 0) > 0.3
    plain = np.asarray(model(x, training=False))
    w, b = model.get_layer("hidden_1").get_weights()
    np.testing.assert_allclose(plain, numpy_selu(x @ w + b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [({"dropout": 1.0}, "dropout"),
                                           ({"dropout_kind": "gaussian"}, "dropout_kind"),
                                           ({"depth": 0}, "depth")])
def test_selu_stack_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        activations.selu_stack(3, **kwargs)


def test_signal_moments_match_numpy():
    keras.utils.set_random_seed(0)
    model = activations.selu_stack(3, depth=2, width=4)
    x = np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32)
    table = activations.signal_moments(model, x)
    outputs = [np.asarray(v) for v in model(x)]
    assert table.index.tolist() == ["hidden_1", "hidden_2"]
    assert table["depth"].tolist() == [1, 2]
    np.testing.assert_allclose(table["mean"], [o.mean() for o in outputs], rtol=1e-5)
    np.testing.assert_allclose(table["std"], [o.std() for o in outputs], rtol=1e-5)


def test_activation_latency_table_shape_and_relative_column():
    table = activations.activation_latency(["relu", "gelu"], shape=(16, 16), repeats=2,
                                           number=2)
    assert sorted(table.index) == ["gelu", "relu"]
    assert list(table.columns) == ["microseconds", "best", "worst", "elements_per_ns",
                                   "relative"]
    assert table["relative"].min() == 1.0
    assert (table["best"] <= table["microseconds"]).all()
    np.testing.assert_allclose(table["elements_per_ns"],
                               256 / (table["microseconds"] * 1e-6) / 1e9)


def test_activation_latency_times_the_functions_in_interleaved_rounds(monkeypatch):
    # Record which function each timed call belongs to: every round must call
    # every function in turn, not all rounds of one function and then the next.
    log = []
    real = activations.interleaved_times

    def recording(calls, **kwargs):
        def logged(name, fn):
            def call():
                log.append(name)
                return fn()
            return call
        return real({name: logged(name, fn) for name, fn in calls.items()}, **kwargs)

    monkeypatch.setattr(activations, "interleaved_times", recording)
    activations.activation_latency(["relu", "gelu"], shape=(4, 4), repeats=3, number=1)
    assert log == ["relu", "gelu"] * (2 + 3)  # two warm-up calls each, then three rounds


@pytest.mark.parametrize("kwargs", [{"shape": (0, 3)}, {"shape": ()}, {"repeats": 0}])
def test_activation_latency_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        activations.activation_latency(["relu"], **kwargs)


def test_ranking_and_pair_agreement():
    scores = {"selu": 0.86, "relu": 0.85, "tanh": 0.83}
    assert activations.ranking(scores) == "selu > relu > tanh"
    assert activations.ranking(scores, higher_is_better=False) == "tanh > relu > selu"
    assert activations.pair_agreement(scores, ["selu", "relu", "tanh"]) == 1.0
    assert activations.pair_agreement(scores, ["tanh", "relu", "selu"]) == 0.0
    # pairs (relu, selu) wrong, (relu, tanh) right, (selu, tanh) right
    assert activations.pair_agreement(scores, ["relu", "selu", "tanh"]) == pytest.approx(2 / 3)
    # times: lower is better
    assert activations.pair_agreement({"a": 1.0, "b": 2.0}, ["a", "b"],
                                      higher_is_better=False) == 1.0
    with pytest.raises(ValueError, match="no score"):
        activations.pair_agreement(scores, ["selu", "gelu"])


def hand_net(activation):
    """2 inputs -> 3 hidden units -> 2 outputs with chosen hidden weights."""
    model = build_mlp(depth=1, width=3, activation=activation, example_shape=(2,),
                      n_classes=2)
    kernel = np.array([[1.0, -1.0, 1.0], [1.0, -1.0, -1.0]], dtype=np.float32)
    bias = np.array([5.0, -5.0, 0.0], dtype=np.float32)
    model.get_layer("hidden_1").set_weights([kernel, bias])
    return model


X = np.array([[0.5, 0.2], [-1.0, 2.0], [1.5, -0.5], [0.0, 0.0]], dtype=np.float32)


def test_dead_units_counts_units_never_positive():
    # unit 1: z = x1 + x2 + 5 > 0 always; unit 2: -x1 - x2 - 5 < 0 always (dead);
    # unit 3: x1 - x2 is positive for some rows: alive.
    table = diagnostics.dead_units(hand_net("relu"), X)
    assert table.index.tolist() == ["hidden_1"]
    assert table.loc["hidden_1", "units"] == 3 and table.loc["hidden_1", "dead"] == 1
    assert table.loc["hidden_1", "dead_fraction"] == pytest.approx(1 / 3)
    # the sign rule is the same for a leaky ReLU: its outputs are negative, not zero
    assert diagnostics.dead_units(hand_net("leaky_relu"), X).loc["hidden_1", "dead"] == 1


def test_dead_units_sees_pre_activations_of_activation_layers():
    model = activations.activation_mlp(keras.layers.ReLU(), depth=1, width=3,
                                       example_shape=(2,), n_classes=2)
    model.get_layer("hidden_1").set_weights(hand_net("relu").get_layer("hidden_1")
                                            .get_weights())
    assert diagnostics.dead_units(model, X)["dead"].tolist() == [1]


def test_saturated_units_uses_share_of_examples():
    # sigmoid: unit 1 near 1 on every row (z >= 4.5), unit 2 near 0 (z <= -4.5);
    # unit 3 (z = x1 - x2) is near neither on most rows.
    model = hand_net("sigmoid")
    table = diagnostics.saturated_units(model, X, bounds=(0, 1), tolerance=0.05)
    assert table.loc["hidden_1", "saturated"] == 2
    assert table.loc["hidden_1", "saturated_fraction"] == pytest.approx(2 / 3)
    strict = diagnostics.saturated_units(model, X, bounds=(0, 1), tolerance=0.001)
    assert strict.loc["hidden_1", "saturated"] == 0  # sigmoid(4.5) = 0.989


@pytest.mark.parametrize("kwargs, match", [({"bounds": (1, 0)}, "low < high"),
                                           ({"bounds": "ab"}, "bounds"),
                                           ({"bounds": (0, 1), "share": 0}, "share"),
                                           ({"bounds": (0, 1), "tolerance": -1}, "tolerance")])
def test_saturated_units_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagnostics.saturated_units(hand_net("sigmoid"), X, **kwargs)


def test_plot_activation_grid_draws_one_panel_per_function():
    fig = plots.plot_activation_grid({"relu": "relu", "leaky": activations.leaky_relu,
                                      "gelu": "gelu"}, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["relu", "leaky", "gelu"]
    derivative = visible[1].lines[1].get_ydata()
    np.testing.assert_allclose(np.unique(derivative), [0.2, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="ncols"):
        plots.plot_activation_grid(["relu"], ncols=0)


def test_plot_self_normalization_clips_exploding_values():
    table = pd.DataFrame({"depth": [1, 2], "mean": [0.0, 50.0], "std": [1.0, 1e6]})
    fig = plots.plot_self_normalization({"skip": table}, mean_tolerance=0.1, std_tolerance=0.1)
    left, right = fig.axes
    assert left.lines[0].get_ydata().tolist() == [0.0, 1.0]
    assert right.lines[0].get_ydata().tolist() == [1.0, 20.0]
    with pytest.raises(ValueError, match="lacks columns"):
        plots.plot_self_normalization({"bad": table[["depth"]]})


def test_normalization_error_and_first_normalized_layer():
    table = pd.DataFrame({"depth": [1, 2, 3, 4], "mean": [0.3, 0.0, 0.2, -0.05],
                          "std": [1.0, 1.05, 1.0, 0.9]})
    assert activations.normalization_error(table) == pytest.approx(0.3)
    assert activations.first_normalized_layer(table, 0.1) == 4
    assert activations.first_normalized_layer(table, 0.25) == 2
    assert activations.first_normalized_layer(table, 0.5) == 1
    assert activations.first_normalized_layer(table.iloc[:3], 0.1) is None
    with pytest.raises(ValueError, match="tolerance"):
        activations.first_normalized_layer(table, 0)
    with pytest.raises(ValueError, match="lacks columns"):
        activations.normalization_error(table[["depth"]])


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: activations.activation_latency("relu"), TypeError,
     "activations must be a list of names, got the string 'relu'; write ['relu']"),
    (lambda: activations.activation_latency(["relu"], shape=(0, 4)), ValueError,
     "shape must be a tuple of integers >= 1, got (0, 4)"),
    (lambda: activations.activation_latency({"a": 3}), TypeError,
     "activations['a'] must be callable, got int 3"),
    (lambda: activations.activation_mlp("relu", depth=2.5), ValueError,
     "depth must be an integer >= 1, got 2.5"),
    (lambda: activations.activation_mlp("relu", example_shape="ab"), ValueError,
     "example_shape must be a tuple of integers >= 1, got 'ab'"),
    (lambda: activations.selu_stack(4, dropout=float("nan")), ValueError,
     "dropout must be a finite number in [0, 1), got nan"),
    (lambda: activations.selu_stack(4, residual="yes"), ValueError,
     "residual must be True or False, got 'yes'"),
    (lambda: activations.signal_moments(activations.selu_stack(4, depth=2, width=3),
                                        np.ones((2, 5))), ValueError,
     "x holds examples of shape (5,), but the model expects (4,)"),
    (lambda: activations.pair_agreement({"a": 1.0, "b": 2.0}, "ab"), TypeError,
     "rule must be a list of names, got the string 'ab'"),
    (lambda: activations.ranking({"a": float("nan")}), ValueError,
     "scores['a'] must be a finite number in (-inf, inf), got nan"),
    (lambda: activations.ranking({"a": 1.0}, higher_is_better="no"), ValueError,
     "higher_is_better must be True or False, got 'no'"),
    (lambda: activations.first_normalized_layer(pd.DataFrame({"depth": [1], "mean": [0.0],
                                                              "std": [1.0]}), float("nan")),
     ValueError, "tolerance must be a finite number in (0, inf), got nan"),
    (lambda: activations.normalization_error(pd.DataFrame(columns=["mean", "std"])), ValueError,
     "table is empty"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_numpy_counts_are_accepted():
    model = activations.activation_mlp("relu", depth=np.int64(1), width=np.int32(4),
                                       example_shape=(np.int64(2),))
    assert [layer.name for layer in model.layers][:3] == ["flatten", "hidden_1", "activation_1"]
