"""companion.lab.seeding: the seed of cp.setup governs every driver."""

import numpy as np
import pytest

import companion as cp
from companion.lab import seeding


def test_explicit_seeds_win_and_none_means_the_course_seed(course_seed):
    course_seed(7)
    assert seeding.resolve_seed(None) == 7 and seeding.resolve_seed(3) == 3
    assert seeding.derive_seeds(3) == [7, 8, 9]
    assert seeding.seed_list(None) == [7]
    assert seeding.seed_list(2) == [7, 8]
    assert seeding.seed_list(np.int64(2)) == [7, 8]
    assert seeding.seed_list(range(3)) == [0, 1, 2]


@pytest.mark.parametrize("bad", [[], [1, 1], [-1], [0.5], 0, "3", 2.0, True])
def test_bad_seed_lists_are_refused(bad):
    with pytest.raises(ValueError, match="seeds"):
        seeding.seed_list(bad)


def test_setup_sets_the_course_seed():
    before = seeding.course_seed()
    try:
        cp.setup(seed=11, announce=False)
        assert seeding.course_seed() == 11
    finally:
        cp.setup(seed=before, announce=False)


def test_reseed_repeats_draws():
    first = (seeding.reseed(5), np.random.rand())
    assert (seeding.reseed(5), np.random.rand()) == first
    assert seeding.reseed(6) == 6 and np.random.rand() != first[1]


def _compare_loss(tiny_data):
    table, _ = cp.compare({"mlp": lambda: cp.build_mlp(depth=1, width=4, example_shape=(8,),
                                                      n_classes=3)},
                          tiny_data, epochs=1, evaluate=False)
    return float(table.loc["mlp", "loss"])


def test_two_setup_seeds_give_different_results_and_one_seed_identical_ones(tiny_data):
    before = seeding.course_seed()
    try:
        cp.setup(seed=7, announce=False)
        first = _compare_loss(tiny_data)
        cp.setup(seed=7, announce=False)
        again = _compare_loss(tiny_data)
        cp.setup(seed=42, announce=False)
        other = _compare_loss(tiny_data)
    finally:
        cp.setup(seed=before, announce=False)
    assert first == again
    assert first != other
