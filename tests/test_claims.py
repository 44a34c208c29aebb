import math

import numpy as np
import pytest

from companion import Claim, ClaimError, claim


def test_at_least_true():
    result = claim("accuracy is high", 0.75, at_least=0.5)
    assert isinstance(result, Claim)
    text = str(result)
    assert text.startswith("verified:")
    assert "accuracy is high" in text
    assert "0.75" in text
    assert repr(result) == text


def test_at_most_true():
    text = str(claim("loss is small", 0.125, at_most=0.5))
    assert text.startswith("verified:") and "0.125" in text


def test_both_bounds_true_and_boundaries_inclusive():
    assert str(claim("in range", 3, at_least=3, at_most=3)).startswith("verified:")
    assert str(claim("in range", 2.5, at_least=1, at_most=4)).startswith("verified:")


def test_integer_measurement_is_shown():
    assert "12,345" in str(claim("many parameters", 12345, at_least=100))


def test_numpy_scalars_are_accepted():
    assert "0.25" in str(claim("np float", np.float32(0.25), at_most=1.0))
    assert str(claim("np int", np.int64(7), at_least=1)).startswith("verified:")


@pytest.mark.parametrize("kwargs", [{"at_least": 0.9}, {"at_most": 0.1},
                                    {"at_least": 0.0, "at_most": 0.2}])
def test_false_bound_raises_with_measured_value(kwargs):
    with pytest.raises(ClaimError) as info:
        claim("accuracy", 0.25, **kwargs)
    assert "0.25" in str(info.value)
    assert "accuracy" in str(info.value)


def test_claim_error_is_an_assertion_error():
    assert issubclass(ClaimError, AssertionError)


@pytest.mark.parametrize("kwargs", [{"at_least": 0}, {"at_most": 1e9},
                                    {"at_least": -math.inf, "at_most": math.inf}])
def test_nan_fails(kwargs):
    with pytest.raises(ClaimError, match="nan"):
        claim("finite loss", float("nan"), **kwargs)


def test_holds_true_and_false():
    result = claim("two runs agree", "max difference 0.0", holds=True)
    assert str(result).startswith("verified:") and "max difference 0.0" in str(result)
    assert "0.5" in str(claim("numeric evidence", 0.5, holds=True))
    with pytest.raises(ClaimError, match="max difference 0.3"):
        claim("two runs agree", "max difference 0.3", holds=False)
    with pytest.raises(ClaimError, match="0.375"):
        claim("ratio check", 0.375, holds=False)


def test_holds_accepts_numpy_bool():
    a = np.arange(3)
    assert str(claim("arrays agree", "max difference 0", holds=(a == a).all())).startswith(
        "verified:")
    with pytest.raises(ClaimError):
        claim("arrays differ", "max difference 1", holds=(a != a).any())


@pytest.mark.parametrize("kwargs", [
    {"at_least": 1, "holds": True},
    {"at_most": 1, "holds": False},
    {},
])
def test_both_kinds_or_neither_raise(kwargs):
    with pytest.raises(ValueError):
        claim("statement", 0.5, **kwargs)


@pytest.mark.parametrize("holds", [1, 0, "yes", 1.0])
def test_holds_must_be_bool(holds):
    with pytest.raises(ValueError):
        claim("statement", 0.5, holds=holds)


@pytest.mark.parametrize("measured", ["0.5", True, None, [1.0]])
def test_bounded_claim_needs_a_real_number(measured):
    with pytest.raises(ValueError):
        claim("statement", measured, at_least=0)


@pytest.mark.parametrize("kwargs, named", [
    ({"at_least": float("nan")}, "at_least"),
    ({"at_most": float("nan")}, "at_most"),
    ({"at_least": "1"}, "at_least"),
    ({"at_most": True}, "at_most"),
    ({"at_least": 2, "at_most": 1}, "at_least"),
])
def test_bad_bounds_are_named(kwargs, named):
    with pytest.raises(ValueError, match=named):
        claim("statement", 0.5, **kwargs)


def test_infinite_bounds_are_bounds():
    assert str(claim("finite", 0.5, at_least=-math.inf, at_most=math.inf)).startswith("verified:")


@pytest.mark.parametrize("statement", ["", "   ", None, 3])
def test_statement_must_be_text(statement):
    with pytest.raises(ValueError):
        claim(statement, 1.0, at_least=0)


def test_repr_html_escapes():
    result = claim("<b>bold</b> & 'quoted'", "<script>x</script>", holds=True)
    page = result._repr_html_()
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>bold" not in page and "<script>" not in page
    assert "verified" in page
