"""The task A / task B split of Fashion-MNIST used by the transfer-learning chapter."""

import types

import numpy as np
import pytest

from companion.data import CLASS_NAMES, split_task_a_b


def fake_fashion(n_train=400, n_valid=100, n_test=200, seed=0):
    """Images whose first pixel records the example's original label and index."""
    rng = np.random.default_rng(seed)

    def split(n, offset):
        y = rng.integers(0, 10, size=n).astype(np.uint8)
        x = np.zeros((n, 28, 28), dtype=np.float32)
        x[:, 0, 0] = y
        x[:, 0, 1] = np.arange(n) + offset
        return x, y

    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (
        split(n_train, 0), split(n_valid, 10_000), split(n_test, 20_000))
    return types.SimpleNamespace(x_train=x_train, y_train=y_train, x_valid=x_valid,
                                 y_valid=y_valid, x_test=x_test, y_test=y_test,
                                 class_names=CLASS_NAMES, source=None, scaling="unit")


@pytest.fixture
def fake():
    return fake_fashion()


def test_task_a_keeps_eight_classes_relabelled_in_order(fake):
    task_a, _ = split_task_a_b(fake, b_train_size=20, seed=0)
    original = [1, 3, 4, 5, 6, 7, 8, 9]
    for split in ("train", "valid", "test"):
        x, y = getattr(task_a, f"x_{split}"), getattr(task_a, f"y_{split}")
        source_labels = getattr(fake, f"y_{split}")
        assert len(y) == np.isin(source_labels, original).sum()
        assert set(np.unique(y)) <= set(range(8))
        # the first pixel is the original label: relabelling maps it by position
        np.testing.assert_array_equal(np.array(original)[y], x[:, 0, 0].astype(int))
    assert task_a.class_names == tuple(CLASS_NAMES[c] for c in original)
    assert "T-shirt/top" not in task_a.class_names and "Pullover" not in task_a.class_names


def test_task_b_is_tshirt_versus_pullover(fake):
    _, task_b = split_task_a_b(fake, b_train_size=30, seed=1)
    assert task_b.class_names == ("T-shirt/top", "Pullover")
    for split in ("train", "valid", "test"):
        x, y = getattr(task_b, f"x_{split}"), getattr(task_b, f"y_{split}")
        expected = np.where(x[:, 0, 0] == 0, 0, 1)
        assert set(x[:, 0, 0].astype(int)) <= {0, 2}
        np.testing.assert_array_equal(y, expected)
    # validation and test keep every image of the two classes
    assert len(task_b.y_valid) == np.isin(fake.y_valid, (0, 2)).sum()
    assert len(task_b.y_test) == np.isin(fake.y_test, (0, 2)).sum()


def test_task_b_training_size_and_no_duplicates(fake):
    _, task_b = split_task_a_b(fake, b_train_size=30, seed=3)
    assert len(task_b.x_train) == len(task_b.y_train) == 30
    ids = task_b.x_train[:, 0, 1]
    assert len(np.unique(ids)) == 30
    assert set(ids) <= set(fake.x_train[np.isin(fake.y_train, (0, 2)), 0, 1])


def test_task_b_sample_is_deterministic_for_a_seed_and_differs_across_seeds(fake):
    first = split_task_a_b(fake, b_train_size=25, seed=7)[1]
    again = split_task_a_b(fake, b_train_size=25, seed=7)[1]
    other = split_task_a_b(fake, b_train_size=25, seed=8)[1]
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert not np.array_equal(first.x_train[:, 0, 1], other.x_train[:, 0, 1])


def test_task_a_does_not_depend_on_the_seed(fake):
    a1 = split_task_a_b(fake, b_train_size=10, seed=0)[0]
    a2 = split_task_a_b(fake, b_train_size=10, seed=5)[0]
    np.testing.assert_array_equal(a1.x_train, a2.x_train)


def test_all_available_images_can_be_drawn(fake):
    available = int(np.isin(fake.y_train, (0, 2)).sum())
    _, task_b = split_task_a_b(fake, b_train_size=available, seed=0)
    assert sorted(task_b.x_train[:, 0, 1]) == sorted(
        fake.x_train[np.isin(fake.y_train, (0, 2)), 0, 1])


@pytest.mark.parametrize("size", [0, 1, 10_000, 2.5, True, "200"])
def test_bad_sizes_are_rejected_with_the_valid_range(fake, size):
    with pytest.raises(ValueError, match=r"b_train_size must be an integer in \[2, \d+\]"):
        split_task_a_b(fake, b_train_size=size)


def test_bad_seed_and_bad_data_are_rejected(fake):
    with pytest.raises(ValueError, match="seed"):
        split_task_a_b(fake, b_train_size=10, seed=-1)
    with pytest.raises(ValueError, match="lacks"):
        split_task_a_b(types.SimpleNamespace(x_train=fake.x_train, y_train=fake.y_train))


def test_real_data_split_sizes(real_data_dir):
    from companion.data import load_fashion_mnist

    data = load_fashion_mnist(real_data_dir, train_size=5000)
    task_a, task_b = split_task_a_b(data, b_train_size=200, seed=0)
    assert len(task_b.x_train) == 200
    assert len(task_a.x_test) == 8000 and len(task_b.x_test) == 2000
    assert len(task_a.x_train) + np.isin(data.y_train, (0, 2)).sum() == 5000
    assert task_a.x_train.dtype == np.float32
