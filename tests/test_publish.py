import pytest

import companion
from companion import publish


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
