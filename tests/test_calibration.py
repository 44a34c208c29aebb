"""Calibration metrics against a hand-computed example."""

import math
import re

import numpy as np
import pytest

from companion.tools.calibration import (calibration_summary, check_probabilities,
                                   expected_calibration_error, negative_log_likelihood,
                                   reliability_data)

# Six examples, three classes; with 4 bins (0, .25], (.25, .5], (.5, .75], (.75, 1]:
#   confidence  prediction  label  right   bin
#   0.90        0           0      yes     3
#   0.80        0           1      no      3
#   0.70        1           1      yes     2
#   0.60        0           2      no      2
#   0.40        0           0      yes     1
#   0.50        0           0      yes     1   (0.5 is the upper edge of bin 1)
PROBS = [[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1],
         [0.6, 0.3, 0.1], [0.4, 0.35, 0.25], [0.5, 0.25, 0.25]]
LABELS = [0, 1, 1, 2, 0, 0]


def test_reliability_data_by_hand():
    table = reliability_data(PROBS, LABELS, n_bins=4)
    np.testing.assert_allclose(table["lower"], [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(table["upper"], [0.25, 0.5, 0.75, 1.0])
    assert table["count"].tolist() == [0, 2, 2, 2]
    # bin 1: (0.4 + 0.5) / 2 = 0.45, 2 of 2 right; bin 2: (0.7 + 0.6) / 2 = 0.65,
    # 1 of 2; bin 3: (0.9 + 0.8) / 2 = 0.85, 1 of 2
    np.testing.assert_allclose(table["confidence"][1:], [0.45, 0.65, 0.85])
    np.testing.assert_allclose(table["accuracy"][1:], [1.0, 0.5, 0.5])
    np.testing.assert_allclose(table["gap"][1:], [0.55, -0.15, -0.35])
    assert table.loc[0, ["confidence", "accuracy", "gap"]].isna().all()


def test_expected_calibration_error_by_hand():
    # (2/6)|1 - 0.45| + (2/6)|0.5 - 0.65| + (2/6)|0.5 - 0.85| = (0.55 + 0.15 + 0.35) / 3
    assert expected_calibration_error(PROBS, LABELS, n_bins=4) == pytest.approx(0.35)


def test_one_bin_ece_is_the_gap_between_accuracy_and_mean_confidence():
    # accuracy 4/6; mean confidence (0.9+0.8+0.7+0.6+0.4+0.5)/6 = 3.9/6 = 0.65
    assert expected_calibration_error(PROBS, LABELS, n_bins=1) == pytest.approx(
        abs(4 / 6 - 0.65))


def test_a_calibrated_bin_has_zero_error():
    # four predictions at confidence 0.75, three of them right
    probs = [[0.75, 0.25]] * 4
    assert expected_calibration_error(probs, [0, 0, 0, 1], n_bins=15) == pytest.approx(0.0)


def test_negative_log_likelihood_by_hand():
    # true-class probabilities 0.9, 0.1, 0.7, 0.1, 0.4, 0.5:
    # (0.10536 + 2.30259 + 0.35667 + 2.30259 + 0.91629 + 0.69315) / 6 = 1.11277
    expected = -(math.log(0.9) + math.log(0.1) + math.log(0.7) + math.log(0.1)
                 + math.log(0.4) + math.log(0.5)) / 6
    assert negative_log_likelihood(PROBS, LABELS) == pytest.approx(expected)
    assert expected == pytest.approx(1.11277, abs=1e-5)


def test_negative_log_likelihood_floors_zero_probabilities():
    assert negative_log_likelihood([[1.0, 0.0]], [1]) == pytest.approx(-math.log(1e-12))


def test_summary():
    summary = calibration_summary(PROBS, LABELS, n_bins=4)
    assert summary["accuracy"] == pytest.approx(4 / 6)
    assert summary["ece"] == pytest.approx(0.35)
    assert summary["nll"] == pytest.approx(negative_log_likelihood(PROBS, LABELS))


def test_default_binning_is_fifteen_bins():
    assert len(reliability_data(PROBS, LABELS)) == 15


def test_counts_cover_every_example():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3, size=(500, 10))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 10, size=500)
    table = reliability_data(probs, labels, n_bins=15)
    assert table["count"].sum() == 500
    confidence = probs.max(axis=1)
    for _, row in table.iterrows():
        inside = (confidence > row["lower"]) & (confidence <= row["upper"])
        assert row["count"] == inside.sum()


@pytest.mark.parametrize("probs, labels, match", [
    ([[0.5, 0.4]], [0], "sum to 1"),
    ([[1.2, -0.2]], [0], r"\[0, 1\]"),
    ([[0.5, 0.5]], [2], "out of range"),
    ([[0.5, 0.5]], [-1], "out of range"),
    ([[0.5, 0.5]], [0.5], "integer"),
    ([[0.5, 0.5]], [0, 1], "one label per row"),
    ([0.5, 0.5], [0], "2-D"),
    (np.zeros((0, 3)), [], "2-D"),
    ([[np.nan, 1.0]], [0], "finite"),
])
def test_bad_inputs_raise(probs, labels, match):
    with pytest.raises(ValueError, match=match):
        check_probabilities(probs, labels)
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(probs, labels)


@pytest.mark.parametrize("n_bins", [0, 2.5, True])
def test_bad_bins_raise(n_bins):
    with pytest.raises(ValueError, match="n_bins"):
        reliability_data(PROBS, LABELS, n_bins=n_bins)


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

BAD_INPUTS = [
    (lambda: reliability_data(PROBS, LABELS, n_bins=0), ValueError,
     "n_bins must be an integer >= 1, got 0"),
    (lambda: expected_calibration_error(PROBS, LABELS, n_bins=True), ValueError,
     "n_bins must be an integer >= 1, got True"),
    (lambda: calibration_summary("abc", LABELS), TypeError,
     "probabilities must be an array of numbers, got the string 'abc'"),
    (lambda: negative_log_likelihood(PROBS, [0, 1, 1, 2, 0, 7]), ValueError,
     "labels holds 7, out of range: valid class indices are 0 to 2"),
    (lambda: negative_log_likelihood(PROBS, ["a"] * 6), ValueError,
     "labels must be integer class indices, got dtype <U1"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_numpy_integers_are_accepted_for_n_bins():
    assert len(reliability_data(PROBS, LABELS, n_bins=np.int64(4))) == 4
