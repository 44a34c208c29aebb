import dataclasses

import pytest

from companion.book import profiles

ENV = "COMPANION_PROFILE"


def test_env_var_name_is_the_documented_one():
    assert profiles.ENV_VAR == ENV


def test_default_is_full_when_unset(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    chosen = profiles.profile()
    assert chosen.name == "full"
    assert not chosen.is_quick


def test_empty_value_means_default(monkeypatch):
    monkeypatch.setenv(ENV, "   ")
    assert profiles.profile().name == "full"


def test_quick_when_set(monkeypatch):
    monkeypatch.setenv(ENV, "quick")
    chosen = profiles.profile()
    assert chosen.name == "quick"
    assert chosen.is_quick


@pytest.mark.parametrize("raw, expected", [
    ("QUICK", "quick"), ("  Quick\n", "quick"), ("\tfull ", "full"), ("Full", "full"),
])
def test_env_value_is_case_and_whitespace_tolerant(monkeypatch, raw, expected):
    monkeypatch.setenv(ENV, raw)
    assert profiles.profile().name == expected


def test_argument_overrides_environment(monkeypatch):
    monkeypatch.setenv(ENV, "full")
    assert profiles.profile("quick").name == "quick"
    monkeypatch.setenv(ENV, "quick")
    assert profiles.profile("full").name == "full"


@pytest.mark.parametrize("bad", ["fast", "quik", "medium"])
def test_unknown_env_value_names_value_and_choices(monkeypatch, bad):
    monkeypatch.setenv(ENV, bad)
    with pytest.raises(ValueError) as info:
        profiles.profile()
    message = str(info.value)
    assert repr(bad) in message
    assert "quick" in message and "full" in message


def test_unknown_argument_raises(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ValueError, match="'huge'.*quick"):
        profiles.profile("huge")


def test_quick_budget_is_smaller_than_full():
    quick, full = profiles.profile("quick"), profiles.profile("full")
    assert 0 < quick.train_size <= full.train_size
    assert 0 < quick.epochs <= full.epochs
    assert 0 < quick.seeds <= full.seeds
    # The full profile trains on at most the default training split (60000 - 5000 images).
    assert full.train_size <= 55_000


def test_pick():
    assert profiles.profile("quick").pick(quick="q", full="f") == "q"
    assert profiles.profile("full").pick(quick="q", full="f") == "f"
    custom = profiles.Profile(name="quick", train_size=1, epochs=1, seeds=1)
    assert custom.pick(quick=1, full=10) == 1


def test_profile_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        profiles.profile("quick").epochs = 100


def test_top_level_export(monkeypatch):
    import companion

    monkeypatch.setenv(ENV, "quick")
    assert companion.profile().name == "quick"
