"""Reference update rules against Keras, landscapes, trajectories, bake-off, decay demo."""

import re

import numpy as np
import pytest

from companion.tools import optim
from companion._quiet import keras, tf

K = keras.optimizers

# Non-default settings chosen so that each Keras detail matters: a large epsilon
# makes its placement visible, a large initial accumulator its starting value, etc.
SETTINGS = {
    "sgd": [{}, {"learning_rate": 0.1}],
    "momentum": [{}, {"learning_rate": 0.05, "momentum": 0.5}],
    "nesterov": [{}, {"learning_rate": 0.05, "momentum": 0.5}],
    "adagrad": [{}, {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 0.1}],
    "rmsprop": [{}, {"learning_rate": 0.01, "rho": 0.5, "epsilon": 0.1},
                {"learning_rate": 0.01, "momentum": 0.5},
                {"learning_rate": 0.01, "centered": True, "epsilon": 0.01},
                {"learning_rate": 0.01, "centered": True, "momentum": 0.9}],
    "adam": [{}, {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.1}],
    "adamax": [{}, {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.5, "epsilon": 0.1}],
    "nadam": [{}, {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.1}],
    "adamw": [{}, {"learning_rate": 0.05, "weight_decay": 0.5, "epsilon": 0.1}],
    "lion": [{}, {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9}],
}
CASES = [(name, hp) for name, variants in SETTINGS.items() for hp in variants]


def test_every_rule_is_tested():
    assert set(SETTINGS) == set(optim.RULES)


@pytest.mark.parametrize("name,hp", CASES, ids=[f"{n}-{i}" for n, variants in
                                               SETTINGS.items()
                                               for i in range(len(variants))])
def test_reference_matches_keras(name, hp):
    assert optim.compare_with_keras(name, steps=50, **hp) <= 1e-5


def test_reference_matches_keras_in_float32():
    assert optim.compare_with_keras("adam", steps=50, dtype="float32",
                                    learning_rate=0.01) <= 1e-5


def test_agreement_check_detects_a_wrong_epsilon_placement():
    # Adam with epsilon inside the square root, as in RMSprop: the check must see it.
    def adam_eps_inside(w, g, state, *, learning_rate, beta_1, beta_2, epsilon):
        t = state["t"] = state.get("t", 0) + 1
        m = state["m"] = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
        v = state["v"] = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g**2
        alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        return w - alpha * m / np.sqrt(v + epsilon)

    hp = {"learning_rate": 0.05, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 0.1}
    gradients = optim.gradient_sequence(50, 8)
    w0 = np.zeros(8)
    keras_path = optim.run_keras(K.Adam(**hp), gradients, w0)
    right = optim.run_reference(optim.adam, gradients, w0, **hp)
    wrong = optim.run_reference(adam_eps_inside, gradients, w0, **hp)
    assert np.abs(right - keras_path).max() <= 1e-5
    assert np.abs(wrong - keras_path).max() > 1e-3


def test_hand_computed_first_steps():
    g = np.array([[2.0], [2.0]])
    w0 = np.zeros(1)
    # momentum: m1 = -0.2, w1 = -0.2; m2 = 0.5 * -0.2 - 0.2 = -0.3, w2 = -0.5
    np.testing.assert_allclose(
        optim.run_reference("momentum", g, w0, learning_rate=0.1, momentum=0.5)[:, 0],
        [-0.2, -0.5])
    # nesterov: w1 = 0.5 * -0.2 - 0.2 = -0.3; w2 = -0.3 + 0.5 * -0.3 - 0.2 = -0.65
    np.testing.assert_allclose(
        optim.run_reference("nesterov", g, w0, learning_rate=0.1, momentum=0.5)[:, 0],
        [-0.3, -0.65])
    # Adam's first step is lr * g / (|g| + eps') with eps' = eps * sqrt(1 - beta_2)
    first = optim.run_reference("adam", g[:1], w0, learning_rate=0.1, epsilon=1e-7)
    expected = -0.1 * 2.0 / (2.0 + 1e-7 / np.sqrt(1 - 0.999))
    np.testing.assert_allclose(first[0, 0], expected, rtol=1e-12)
    # AdaGrad: accumulator 0.1 + 4 = 4.1, step 0.1 * 2 / sqrt(4.1 + 1e-7)
    np.testing.assert_allclose(optim.run_reference("adagrad", g[:1], w0,
                                                   learning_rate=0.1)[0, 0],
                               -0.2 / np.sqrt(4.1 + 1e-7))
    # Lion moves every coordinate by exactly the learning rate
    steps = np.diff(optim.run_reference("lion", optim.gradient_sequence(5, 4),
                                        np.zeros(4), learning_rate=0.01), axis=0)
    np.testing.assert_allclose(np.abs(steps), 0.01)


def test_adamw_decays_before_the_adam_step():
    w0 = np.array([2.0, -1.0])
    g = np.zeros((1, 2))
    # zero gradient: Adam's step is 0, so only the decay acts: w * (1 - lr * wd)
    np.testing.assert_allclose(
        optim.run_reference("adamw", g, w0, learning_rate=0.1, weight_decay=0.5)[0],
        w0 * (1 - 0.05))


def test_nadam_momentum_schedule_is_keras_s():
    # Keras warms mu_t up with 0.96 ** t; check one step against the formula.
    g = np.array([[1.5]])
    b1, b2, lr = 0.9, 0.999, 0.1
    mu1, mu2 = b1 * (1 - 0.5 * 0.96), b1 * (1 - 0.5 * 0.96**2)
    m = (1 - b1) * 1.5
    v = (1 - b2) * 1.5**2
    m_hat = mu2 * m / (1 - mu1 * mu2) + (1 - mu1) * 1.5 / (1 - mu1)
    expected = -lr * m_hat / (np.sqrt(v / (1 - b2)) + 1e-7)
    np.testing.assert_allclose(optim.run_reference("nadam", g, np.zeros(1),
                                                   learning_rate=lr)[0, 0], expected)


def test_compare_rejects_bad_names():
    with pytest.raises(ValueError, match="unknown rule name 'adamx'.*valid choices"):
        optim.compare_with_keras("adamx")
    with pytest.raises(ValueError, match="unknown hyperparameters \\['rho'\\]"):
        optim.compare_with_keras("adam", rho=0.9)
    with pytest.raises(ValueError, match="dtype"):
        optim.run_keras(K.SGD(), np.ones((1, 1)), np.zeros(1), dtype="float16")


def test_agreement_table_columns():
    table = optim.agreement_table({"sgd": [{}], "rmsprop": [{"centered": True}]}, steps=5)
    assert table["rule"].tolist() == ["sgd", "rmsprop"]
    assert table["hyperparameters"].tolist() == ["defaults", "centered=True"]
    assert (table["max_abs_difference"] <= 1e-5).all()


@pytest.mark.parametrize("landscape", [optim.ill_conditioned_quadratic(25.0),
                                       optim.rosenbrock()], ids=["quadratic", "rosenbrock"])
def test_landscape_minimum_and_gradient(landscape):
    minimum = np.array(landscape.minimum)
    assert float(landscape(minimum)) == pytest.approx(0.0)
    np.testing.assert_allclose(landscape.gradient(minimum), 0.0, atol=1e-12)
    rng = np.random.default_rng(0)
    for point in rng.uniform(-2, 2, size=(5, 2)):
        w = tf.Variable(point)
        with tf.GradientTape() as tape:
            loss = landscape(w)
        np.testing.assert_allclose(tape.gradient(loss, w).numpy(), landscape.gradient(point),
                                   rtol=1e-10)
        # the minimum is the lowest point around
        assert float(landscape(point)) > float(landscape(minimum))


def test_quadratic_value_and_validation():
    q = optim.ill_conditioned_quadratic(10.0)
    assert float(q(np.array([2.0, 1.0]))) == pytest.approx(0.5 * (4 + 10))
    grid = np.zeros((2, 3, 4))
    assert q(grid).shape == (3, 4)
    with pytest.raises(ValueError, match="condition"):
        optim.ill_conditioned_quadratic(0.5)
    with pytest.raises(ValueError, match="b must be"):
        optim.rosenbrock(b=0)


def test_trajectory_shape_and_steps_of_the_given_optimizer():
    q = optim.ill_conditioned_quadratic(25.0)
    opt = K.SGD(0.03, momentum=0.9)
    path = optim.trajectory(opt, q, steps=30)
    assert path.shape == (31, 2)
    np.testing.assert_array_equal(path[0], q.start)
    assert int(opt.iterations) == 30  # the optimizer given is the one that stepped
    # and it follows the momentum rule with the analytic gradient
    w, state, expected = np.array(q.start), {}, []
    for _ in range(30):
        w = optim.momentum(w, q.gradient(w), state, learning_rate=0.03, momentum=0.9)
        expected.append(w)
    np.testing.assert_allclose(path[1:], expected, atol=1e-6)


def test_trajectory_differs_between_optimizers_and_accepts_a_start():
    q = optim.ill_conditioned_quadratic(25.0)
    plain = optim.trajectory(K.SGD(0.03), q, steps=20, start=(1.0, 1.0))
    heavy = optim.trajectory(K.SGD(0.03, momentum=0.9), q, steps=20, start=(1.0, 1.0))
    np.testing.assert_array_equal(plain[0], [1.0, 1.0])
    assert np.abs(plain - heavy).max() > 0.1
    # plain GD on the quadratic: x shrinks by (1 - lr) per step exactly
    np.testing.assert_allclose(plain[:, 0], 0.97 ** np.arange(21), rtol=1e-6)


def test_momentum_beats_gradient_descent_on_the_quadratic():
    q = optim.ill_conditioned_quadratic(25.0)
    plain = optim.trajectory(K.SGD(0.03), q, steps=100)
    heavy = optim.trajectory(K.SGD(0.03, momentum=0.9), q, steps=100)
    assert (optim.distance_to_minimum(heavy, q)[-1]
            < optim.distance_to_minimum(plain, q)[-1])


def test_trajectory_rejects_used_optimizers_and_bad_input():
    q = optim.ill_conditioned_quadratic()
    opt = K.SGD(0.01)
    optim.trajectory(opt, q, steps=2)
    with pytest.raises(ValueError, match="fresh"):
        optim.trajectory(opt, q, steps=2)
    with pytest.raises(ValueError, match="steps"):
        optim.trajectory(K.SGD(), q, steps=0)
    with pytest.raises(ValueError, match="Optimizer"):
        optim.trajectory("sgd", q)
    with pytest.raises(TypeError, match="landscape must be a Landscape"):
        optim.trajectory(K.SGD(), lambda w: w[0] ** 2)


def test_distance_to_minimum():
    q = optim.ill_conditioned_quadratic()
    np.testing.assert_allclose(optim.distance_to_minimum(np.array([[3.0, 4.0], [0, 0]]), q),
                               [5.0, 0.0])


def test_decay_versus_l2():
    table = optim.decay_versus_l2(scales=(10.0, 1.0, 0.01), steps=200, learning_rate=0.01,
                                  weight_decay=0.1)
    # AdamW: the same shrinkage whatever the gradient scale, close to the decay
    # alone, 1 - (1 - lr * wd) ** steps (Adam's own small oscillating steps are
    # shrunk too, hence the few per cent of tolerance)
    np.testing.assert_allclose(table["adamw"], table["adamw"].iloc[0], rtol=1e-4)
    np.testing.assert_allclose(table["adamw"], 1 - (1 - 0.001) ** 200, rtol=0.03)
    l2 = table["adam + L2"]
    # L2 through Adam: the smaller the gradients, the stronger the decay
    assert l2.loc[10.0] < l2.loc[1.0] < l2.loc[0.01]
    assert l2.loc[0.01] / l2.loc[10.0] > 10
    with pytest.raises(ValueError, match="scales"):
        optim.decay_versus_l2(scales=(1.0, -1.0))


def test_every_keras_optimizer_applies_weight_decay_like_adamw():
    # Keras's base optimizer decouples weight_decay for every optimizer: Adam with
    # weight_decay is AdamW, which the reference rule reproduces.
    gradients = optim.gradient_sequence(30, 4)
    w0 = np.ones(4)
    hp = {"learning_rate": 0.05, "weight_decay": 0.5}
    keras_path = optim.run_keras(K.Adam(**hp), gradients, w0)
    np.testing.assert_allclose(optim.run_reference("adamw", gradients, w0, **hp),
                               keras_path, atol=1e-5)


def test_plot_trajectories_draws_one_line_per_optimizer():
    import matplotlib.pyplot as plt

    from companion.book.plots import plot_trajectories

    q, r = optim.ill_conditioned_quadratic(), optim.rosenbrock()
    paths = {q.name: {"a": np.zeros((3, 2)), "b": np.ones((3, 2))},
             r.name: {"a": np.zeros((3, 2))}}
    fig = plot_trajectories([q, r], paths)
    left, right = fig.axes[:2]
    labels = [line.get_label() for line in left.get_lines()]
    assert [lab for lab in labels if not lab.startswith("_")] == ["a", "b"]
    assert left.get_xlim() == q.xlim and right.get_title() == "Rosenbrock"
    plt.close(fig)
    with pytest.raises(ValueError, match="no paths for"):
        plot_trajectories([q, r], {q.name: {}})


def test_plot_bake_off_panels_and_styles():
    import types

    import matplotlib.pyplot as plt
    import pandas as pd

    from companion.book.plots import plot_bake_off

    history = pd.DataFrame({"loss": [1.0, 0.5], "val_accuracy": [0.7, 0.8]}, index=[1, 2])
    import matplotlib as mpl

    n_colors = len(mpl.rcParams["axes.prop_cycle"].by_key()["color"])
    results = {f"opt{i}": types.SimpleNamespace(history=history)
               for i in range(n_colors + 1)}
    fig = plot_bake_off(results, target=0.75)
    loss_ax, acc_ax = fig.axes[:2]
    lines = [line for line in acc_ax.get_lines() if not line.get_label().startswith("_")]
    assert len(lines) == n_colors + 1
    # the curve after a full colour cycle reuses the first colour, in another style
    assert lines[n_colors].get_color() == lines[0].get_color()
    assert lines[n_colors].get_linestyle() != lines[0].get_linestyle()
    assert any(np.allclose(line.get_ydata(), 0.75) for line in acc_ax.get_lines())
    plt.close(fig)
    # epochs are whole numbers: in the book's style, with ten optimizers in the legend,
    # a five-epoch run once got a tick at 2.5
    from companion.book.style import use_book_style

    five = types.SimpleNamespace(history=pd.DataFrame(
        {"loss": np.linspace(1.0, 0.5, 5), "val_accuracy": np.linspace(0.7, 0.8, 5)},
        index=range(1, 6)))
    with mpl.rc_context():
        use_book_style()
        fig = plot_bake_off({f"optimizer {i}": five for i in range(10)})
        fig.canvas.draw()  # the layout sets the panels' widths, hence the ticks
        for ax in fig.axes[:2]:
            ticks = ax.get_xticks()
            assert np.array_equal(ticks, np.round(ticks)), ticks
    plt.close(fig)
    with pytest.raises(ValueError, match=r"unknown metrics entry 'accuracy': results\['opt0'\] does not log it"):
        plot_bake_off(results, metrics=("accuracy",))


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: optim.ill_conditioned_quadratic(float("inf")), ValueError,
     "condition must be a finite number in [1, inf), got inf"),
    (lambda: optim.rosenbrock(b=float("nan")), ValueError,
     "b must be a finite number in (0, inf), got nan"),
    (lambda: optim.decay_versus_l2(learning_rate=-1.0), ValueError,
     "learning_rate must be a finite number in (0, inf), got -1.0"),
    (lambda: optim.decay_versus_l2(scales=[]), ValueError,
     "scales must hold at least 1 value(s), got shape (0,)"),
    (lambda: optim.compare_with_keras("sgd", learning_rate=float("nan")), ValueError,
     "learning_rate must be a finite number in (0, inf), got nan"),
    (lambda: optim.compare_with_keras("sgd", seed=-1), ValueError,
     "seed must be an integer >= 0, got -1"),
    (lambda: optim.agreement_table("adam"), TypeError,
     "settings must be a mapping (a dict) from rule names to lists of hyperparameter dicts"),
    (lambda: optim.agreement_table({"sgd": [{"learning_rate": -1.0}]}), ValueError,
     "settings['sgd']: learning_rate must be a finite number in (0, inf), got -1.0"),
    (lambda: optim.trajectory(keras.optimizers.SGD(0.1), optim.rosenbrock(), start=(1.0,)),
     ValueError, "start must be a point (x, y), got"),
    (lambda: optim.distance_to_minimum(np.ones((3, 3)), optim.rosenbrock()), ValueError,
     "path must hold points (x, y), shape (steps, 2), got shape (3, 3)"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_numpy_scalars_are_accepted():
    assert optim.gradient_sequence(steps=np.int64(3), size=np.int32(2)).shape == (3, 2)
    assert optim.ill_conditioned_quadratic(np.float32(4.0))(np.array([0.0, 1.0])) == 2.0
    path = optim.trajectory(keras.optimizers.SGD(0.1), optim.ill_conditioned_quadratic(),
                            steps=np.int64(2))
    assert path.shape == (3, 2)
