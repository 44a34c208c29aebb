"""Multi-seed comparisons: per-seed tables and their statistics, against hand formulas."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

from companion.book.plots import plot_seed_points
from companion.lab.seeds import (
    paired_differences, run_seeds, seed_range_reading, seed_summary, summarize, verdict)


def test_summarize_matches_numpy_and_a_t_table():
    values = [0.91, 0.93, 0.90, 0.95, 0.92]
    s = summarize(values)
    assert s["n"] == 5
    assert s["mean"] == pytest.approx(np.mean(values))
    assert s["std"] == pytest.approx(np.std(values, ddof=1))
    assert s["sem"] == pytest.approx(np.std(values, ddof=1) / math.sqrt(5))
    t_975_df4 = 2.7764451051977987  # Student's t table, 97.5% quantile, 4 dof
    half = t_975_df4 * s["sem"]
    assert s["ci_low"] == pytest.approx(np.mean(values) - half)
    assert s["ci_high"] == pytest.approx(np.mean(values) + half)


def test_summarize_by_hand_and_other_confidence():
    # 1, 2, 3: mean 2, std 1; t(0.95, 2 dof) = 2.919986; 90% interval
    s = summarize([1.0, 2.0, 3.0], confidence=0.90)
    assert s["ci_high"] == pytest.approx(2 + 2.919986 / math.sqrt(3), rel=1e-6)
    assert summarize([1.0, 2.0, 3.0], confidence=0.99)["ci_high"] > s["ci_high"]
    # a large sample: the t quantile tends to the normal one, 1.95996
    big = np.random.default_rng(0).normal(size=20_000)
    s = summarize(big)
    assert (s["ci_high"] - s["mean"]) / s["sem"] == pytest.approx(1.95996, rel=1e-3)


@pytest.mark.parametrize("values", [[1.0], [], [1.0, np.nan], [1.0, np.inf]])
def test_summarize_rejects_too_few_or_non_finite(values):
    with pytest.raises(ValueError, match="values must hold (at least 2 value|finite numbers only)"):
        summarize(values)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, True, "0.95"])
def test_summarize_rejects_bad_confidence(confidence):
    with pytest.raises(ValueError, match="confidence"):
        summarize([1.0, 2.0], confidence=confidence)


def test_run_seeds_runs_every_configuration_per_seed_with_that_seed():
    calls = []

    def make(name, offset):
        def run(seed):
            calls.append((seed, name))
            draw = np.random.uniform()  # keras.utils.set_random_seed seeds NumPy too
            return {"score": seed + offset, "draw": draw}
        return run

    table = run_seeds({"a": make("a", 0.0), "b": make("b", 0.5)}, seeds=[3, 1])
    assert calls == [(3, "a"), (3, "b"), (1, "a"), (1, "b")]
    assert table.columns.tolist() == ["seed", "configuration", "score", "draw"]
    assert table["score"].tolist() == [3.0, 3.5, 1.0, 1.5]
    # both configurations of one seed start from the same random state
    assert table["draw"].iloc[0] == table["draw"].iloc[1]
    assert table["draw"].iloc[0] != table["draw"].iloc[2]
    again = run_seeds({"a": make("a", 0.0), "b": make("b", 0.5)}, seeds=[3, 1])
    pd.testing.assert_frame_equal(table, again)


def test_run_seeds_derives_a_count_of_seeds_from_the_course_seed(course_seed):
    course_seed(10)
    table = run_seeds({"x": lambda seed: 2.0 * seed}, seeds=3)
    assert table["seed"].tolist() == [10, 11, 12]
    assert table["value"].tolist() == [20.0, 22.0, 24.0]


@pytest.mark.parametrize("seeds", [[], [1, 1], [-1], [0.5], 0])
def test_run_seeds_rejects_bad_seeds(seeds):
    with pytest.raises(ValueError, match="seeds"):
        run_seeds({"x": lambda seed: 1.0}, seeds=seeds)


def test_run_seeds_rejects_bad_configurations():
    with pytest.raises(ValueError, match="empty"):
        run_seeds({}, seeds=2)
    with pytest.raises(TypeError, match=r"configurations\['x'\] must be callable, got int 3"):
        run_seeds({"x": 3}, seeds=2)
    with pytest.raises(ValueError, match="dict of metrics"):
        run_seeds({"x": lambda seed: "good"}, seeds=2)


def per_seed_table():
    return pd.DataFrame({
        "seed": [0, 0, 1, 1, 2, 2, 3, 3],
        "configuration": ["scratch", "transfer"] * 4,
        "acc": [0.90, 0.93, 0.85, 0.86, 0.95, 0.97, 0.88, 0.90],
    })


def test_seed_summary_per_configuration():
    table = per_seed_table()
    summary = seed_summary(table, "acc")
    assert summary.index.tolist() == ["scratch", "transfer"]
    scratch = [0.90, 0.85, 0.95, 0.88]
    assert summary.loc["scratch", "mean"] == pytest.approx(np.mean(scratch))
    assert summary.loc["scratch", "std"] == pytest.approx(np.std(scratch, ddof=1))
    assert (summary["ci_low"] <= summary["mean"]).all()
    assert (summary["mean"] <= summary["ci_high"]).all()
    with pytest.raises(ValueError, match="unknown metric 'loss'; valid choices"):
        seed_summary(table, "loss")


def test_paired_differences_and_their_tighter_interval():
    table = per_seed_table()
    diffs = paired_differences(table, "acc", baseline="scratch")
    assert diffs["configuration"].unique().tolist() == ["transfer"]
    np.testing.assert_allclose(diffs["difference"], [0.03, 0.01, 0.02, 0.02])
    paired = seed_summary(diffs, "difference").loc["transfer"]
    assert paired["mean"] == pytest.approx(0.02)
    # pairing removes the seed-to-seed spread shared by both configurations
    unpaired = seed_summary(table, "acc")
    assert paired["std"] < unpaired["std"].min()
    assert paired["ci_low"] > 0
    with pytest.raises(ValueError, match="unknown baseline"):
        paired_differences(table, "acc", baseline="nope")
    with pytest.raises(ValueError, match="every configuration needs a value"):
        paired_differences(table.iloc[:-1], "acc", baseline="scratch")


def test_verdict_follows_the_interval():
    above = verdict({"ci_low": 0.01, "ci_high": 0.03}, name="transfer", baseline="scratch")
    assert "transfer gives a better accuracy than scratch" in above and "above zero" in above
    below = verdict({"ci_low": -0.03, "ci_high": -0.01}, name="transfer", baseline="scratch")
    assert "scratch gives a better accuracy than transfer" in below
    loss = verdict({"ci_low": -0.03, "ci_high": -0.01}, name="transfer", baseline="scratch",
                   what="loss", higher_is_better=False)
    assert "transfer gives a better loss than scratch" in loss
    unsure = verdict({"ci_low": -0.01, "ci_high": 0.03}, name="transfer", baseline="scratch")
    assert "show no reliable accuracy difference between transfer and scratch" in unsure
    assert "contains zero" in unsure
    with pytest.raises(ValueError, match="ci_low <= ci_high"):
        verdict({"ci_low": 1.0, "ci_high": 0.0}, name="a", baseline="b")


def test_plot_seed_points_draws_every_seed_and_the_interval():
    table = per_seed_table()
    fig = plot_seed_points(table, "acc", reference=0.9)
    ax = fig.axes[0]
    points = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections
                             if isinstance(c, PathCollection)])
    assert sorted(points) == sorted(table["acc"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["scratch", "transfer"]
    summary = seed_summary(table, "acc")
    lows = sorted(seg[:, 1].min() for c in ax.collections if isinstance(c, LineCollection)
                  for seg in c.get_segments())
    assert lows == pytest.approx(sorted(summary["ci_low"]))
    with pytest.raises(ValueError, match="unknown metric 'nope'; valid choices"):
        plot_seed_points(table, "nope")


def test_plot_seed_points_tilts_tick_labels_only_when_they_would_overlap():
    few = plot_seed_points(per_seed_table(), "acc").axes[0]
    assert {t.get_rotation() for t in few.get_xticklabels()} == {0.0}
    names = [f"configuration{i}" for i in range(10)]
    many = pd.DataFrame({"configuration": names * 2, "acc": np.linspace(0.5, 0.9, 20)})
    fig = plot_seed_points(many, "acc")
    ax = fig.axes[0]
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {45.0}
    # drawn level, the same labels would overlap: measure them without the tilt
    renderer = fig.canvas.get_renderer()
    for label in ax.get_xticklabels():
        label.set_rotation(0)
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    assert any(a.x1 > b.x0 for a, b in zip(boxes, boxes[1:]))


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: summarize([1.0, 2.0], confidence=float("nan")), ValueError,
     "confidence must be a finite number in (0, 1), got nan"),
    (lambda: summarize("abc"), TypeError, "values must be an array of numbers, got the string 'abc'"),
    (lambda: run_seeds("abc", seeds=1), TypeError,
     "configurations must be a mapping (a dict) from names to functions run(seed), got str"),
    (lambda: seed_summary("abc", "score"), TypeError, "per_seed must be a DataFrame"),
    (lambda: paired_differences(pd.DataFrame({"seed": [0], "c": ["a"], "s": [1.0]}), "s",
                                baseline="a", by="bogus"), ValueError,
     "unknown by 'bogus'; valid choices: ['seed', 'c', 's']"),
    (lambda: verdict({}, name="a", baseline="b"), TypeError,
     "summary must be a row of seed_summary (with ci_low and ci_high), got dict {}"),
    (lambda: verdict({"ci_low": math.nan, "ci_high": 1.0}, name="a", baseline="b"), ValueError,
     "summary['ci_low'] must be a finite number in (-inf, inf), got nan"),
    (lambda: verdict({"ci_low": 0.1, "ci_high": 0.2}, name="a", baseline="b",
                     higher_is_better="no"), ValueError,
     "higher_is_better must be True or False, got 'no'"),
    (lambda: seed_range_reading(math.nan, [1.0]), ValueError,
     "value must be a finite number in (-inf, inf), got nan"),
    (lambda: seed_range_reading(1.0, [1.0]), ValueError,
     "per_seed must hold at least 2 value(s), got shape (1,)"),
    (lambda: seed_range_reading(1.0, [1.0, 2.0], decimals=-1), ValueError,
     "decimals must be an integer >= 0"),
    (lambda: seed_range_reading(1.0, [1.0, math.inf]), ValueError,
     "per_seed must hold finite numbers only; it has NaN or inf"),
    (lambda: seed_range_reading(1.0, "abc"), TypeError,
     "per_seed must be an array of numbers, got the string 'abc'"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_a_numpy_confidence_is_accepted():
    assert summarize([1.0, 2.0, 3.0], confidence=np.float32(0.5))["n"] == 3


@pytest.mark.parametrize("value, place", [
    (-0.07, "below"), (-0.06, "within"), (-0.045, "within"), (-0.02, "within"),
    (-0.01, "above"),
])
def test_seed_range_reading_places_one_run_against_the_seeds(value, place):
    per_seed = pd.Series([-0.03, -0.06, -0.02, -0.05])  # a column of paired_differences
    low, high, reading = seed_range_reading(value, per_seed)
    assert (low, high) == (-0.06, -0.02)  # the seeds' extremes, ends included in the range
    expected = {
        "within": "within that range, so this one run does not show a change",
        "below": "below that range, lower than for any seed",
        "above": "above that range, higher than for any seed"}[place]
    assert reading.startswith(expected)
    # outside, the chance that one more run of the same set-up lands outside 4 seeds:
    # of 5 exchangeable values, the new one is the smallest or the largest 2 times in 5
    chance = "would fall outside the range of 4 seeds 2 times in 5"
    assert reading.endswith(chance) == (place != "within")


def test_the_chance_of_falling_outside_follows_the_number_of_seeds():
    rng = np.random.default_rng(0)
    for n in (2, 3, 10):
        per_seed = rng.normal(size=n)
        reading = seed_range_reading(per_seed.max() + 1.0, per_seed)[2]
        assert reading.endswith(f"outside the range of {n} seeds 2 times in {n + 1}")
        # and the stated chance is right: a further draw is outside the range 2/(n+1)
        draws = rng.normal(size=(40_000, n + 1))
        outside = (draws[:, -1] < draws[:, :-1].min(axis=1)) | (
            draws[:, -1] > draws[:, :-1].max(axis=1))
        assert outside.mean() == pytest.approx(2 / (n + 1), abs=0.01)


def test_seed_range_reading_rounds_as_the_page_prints():
    # 0.0304 prints as 0.030 with 3 decimals, the range's top: within, not above
    assert seed_range_reading(0.0304, [0.010, 0.030], decimals=3) == (
        0.01, 0.03, "within that range, so this one run does not show a change")
    assert seed_range_reading(0.0304, [0.010, 0.030])[2].startswith("above")
