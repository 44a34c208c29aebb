import re

import numpy as np
import pytest

from companion.tools.clipping import clip_with_optimizer, cosine_similarity


def test_clipvalue_clips_each_component():
    g = np.array([3.0, -0.2, -7.0, 0.5])
    np.testing.assert_allclose(clip_with_optimizer(g, clipvalue=1.0),
                               np.clip(g, -1.0, 1.0), rtol=1e-6)


def test_clipnorm_rescales_each_tensor_to_the_norm():
    g = [np.array([3.0, 4.0]), np.array([[0.3], [0.4]])]  # norms 5 and 0.5
    clipped = clip_with_optimizer(g, clipnorm=1.0)
    np.testing.assert_allclose(clipped[0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(clipped[1], g[1], rtol=1e-6)  # below the norm: unchanged
    assert clipped[1].shape == (2, 1)


def test_global_clipnorm_rescales_all_tensors_together():
    g = [np.array([3.0, 4.0]), np.array([12.0])]  # joint norm 13
    clipped = clip_with_optimizer(g, global_clipnorm=6.5)
    np.testing.assert_allclose(clipped[0], [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(clipped[1], [6.0], rtol=1e-6)


def test_direction_kept_by_norm_clipping_and_changed_by_value_clipping():
    g = np.array([0.9, 0.1])
    by_value = clip_with_optimizer(g, clipvalue=0.5)
    by_norm = clip_with_optimizer(g, clipnorm=0.5)
    expected_cos = (0.9 * 0.5 + 0.1 * 0.1) / (np.hypot(0.9, 0.1) * np.hypot(0.5, 0.1))
    assert cosine_similarity(g, by_value) == pytest.approx(expected_cos, rel=1e-6)
    assert cosine_similarity(g, by_norm) == pytest.approx(1.0, abs=1e-6)
    assert np.linalg.norm(by_norm) == pytest.approx(0.5, rel=1e-6)


def test_cosine_similarity_of_lists_and_errors():
    assert cosine_similarity([np.array([1.0]), np.array([0.0])],
                             [np.array([0.0]), np.array([2.0])]) == pytest.approx(0.0)
    assert cosine_similarity(np.array([1.0, 1.0]), np.array([-2.0, -2.0])) \
        == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="differ in size"):
        cosine_similarity(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="zero gradient"):
        cosine_similarity(np.zeros(2), np.ones(2))


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one of.*none"),
    ({"clipvalue": 1.0, "clipnorm": 1.0}, "exactly one of"),
    ({"clipnorm": 0.0}, r"clipnorm must be a finite number in \(0, inf\), got 0.0"),
    ({"global_clipnorm": "big"}, r"global_clipnorm must be a finite number in \(0, inf\), got 'big'"),
])
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clip_with_optimizer(np.ones(3), **kwargs)


def test_empty_gradients_are_rejected():
    with pytest.raises(ValueError, match="non-empty"):
        clip_with_optimizer([], clipnorm=1.0)


def test_plot_clipped_gradients_draws_one_arrow_per_vector():
    import matplotlib.pyplot as plt

    from companion.book.plots import plot_clipped_gradients

    fig = plot_clipped_gradients(np.array([0.9, 0.1]),
                                 {"clipvalue": np.array([0.5, 0.1]),
                                  "clipnorm": np.array([0.4969, 0.0552])}, threshold=0.5)
    ax = fig.axes[0]
    assert len(ax.texts) == 3  # arrows are annotations
    assert len(ax.patches) == 2
    assert ax.texts[1].xy == pytest.approx((0.5, 0.1))
    plt.close(fig)
    with pytest.raises(ValueError, match=r"clipped\['bad'\] must have 2 components"):
        plot_clipped_gradients(np.ones(2), {"bad": np.ones(3)})


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("kwargs, error, message", [
    ({"clipnorm": float("nan")}, ValueError, "clipnorm must be a finite number in (0, inf), got nan"),
    ({"clipvalue": float("inf")}, ValueError, "clipvalue must be a finite number in (0, inf), got inf"),
    ({"global_clipnorm": True}, ValueError, "global_clipnorm must be a finite number in (0, inf), got True"),
    ({"clipnorm": 1.0, "gradients": "abc"}, TypeError,
     "gradients must be an array of numbers, got the string 'abc'"),
    ({"clipnorm": 1.0, "gradients": [np.ones(2), np.zeros(0)]}, ValueError,
     "gradients[1] must hold at least 1 value(s), got shape (0,)"),
])
def test_bad_inputs_name_the_argument(kwargs, error, message):
    kwargs.setdefault("gradients", np.array([3.0, 4.0]))
    with pytest.raises(error, match=re.escape(message)):
        clip_with_optimizer(**kwargs)


def test_numpy_scalars_are_accepted_as_thresholds():
    clipped = clip_with_optimizer(np.array([3.0, 4.0]), clipnorm=np.float32(1.0))
    np.testing.assert_allclose(clipped, [0.6, 0.8], rtol=1e-6)
    with pytest.raises(ValueError, match=re.escape("a must hold finite numbers only")):
        cosine_similarity(np.array([np.nan, 1.0]), np.ones(2))
