import numpy as np
import pytest

import companion
from companion.book import publish


def test_glue_returns_the_value_and_prints_nothing(capsys):
    value = {"ratio": 2.5}
    assert companion.glue("ratio_table", value) is value
    assert companion.glue("n_layers", 50) == 50
    assert capsys.readouterr().out == ""


def test_glue_without_myst_nb(monkeypatch):
    monkeypatch.setattr(publish, "_myst_glue", None)
    assert publish.glue("x", 3.5) == 3.5


def test_glue_forwards_to_myst_nb_without_display(monkeypatch):
    calls = []
    monkeypatch.setattr(publish, "_myst_glue",
                        lambda name, value, display: calls.append((name, value, display)))
    assert publish.glue("speedup", 1.75) == 1.75
    assert calls == [("speedup", 1.75, False)]


@pytest.mark.parametrize("bad", ["", "1abc", "has space", "dash-name", "a.b", None, 5, b"x"])
def test_bad_names_raise(monkeypatch, bad):
    calls = []
    monkeypatch.setattr(publish, "_myst_glue", lambda *a, **k: calls.append(a))
    with pytest.raises(ValueError) as info:
        publish.glue(bad, 1)
    assert repr(bad) in str(info.value)
    assert calls == []


def test_numpy_scalars_are_glued_as_python_numbers(monkeypatch):
    # The page formats glued numbers with a spec such as ":.3g", which needs the
    # text form of a Python float, not NumPy 2's "np.float64(...)".
    calls = []
    monkeypatch.setattr(publish, "_myst_glue",
                        lambda name, value, display: calls.append(value))
    for value, expected in [(np.float64(0.25), 0.25), (np.float32(0.5), 0.5), (np.int64(7), 7)]:
        publish.glue("x", value)
        assert type(calls[-1]) is type(expected) and calls[-1] == expected
        assert format(float(repr(calls[-1])), ".3g") == format(expected, ".3g")


def test_glue_values_glues_each_keyword(monkeypatch):
    calls = []
    monkeypatch.setattr(publish, "_myst_glue",
                        lambda name, value, display: calls.append((name, value)))
    publish.glue_values(depth=50, ratio=np.float64(0.5))
    assert calls == [("depth", 50), ("ratio", 0.5)]
