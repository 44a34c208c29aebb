"""The claim ledger (companion/book/ledger.py): margins, records on disk, the report, the CLI."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from companion import claim, ClaimError
from companion.__main__ import main
from companion.book import ledger
from companion.book.ledger import relative_margin


@pytest.fixture
def ledger_env(tmp_path, monkeypatch):
    """A ledger directory and a chapter name, as a runner sets them; the directory is returned."""
    directory = tmp_path / "claims"
    monkeypatch.setenv("COMPANION_LEDGER_DIR", str(directory))
    monkeypatch.setenv("COMPANION_CHAPTER", "04_batch_normalization")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return directory


# -- relative margins, against values worked out by hand ------------------------------

@pytest.mark.parametrize("value, bounds, expected", [
    (1.5, {"at_least": 1.2}, 0.3 / 1.2),            # (v - b) / |b|
    (1.1, {"at_least": 1.1}, 0.0),                  # on the bound
    (0.5, {"at_least": 1.0}, -0.5),                 # failed: negative
    (-1.0, {"at_least": -2.0}, 1.0 / 2.0),          # negative bound: |b| is the scale
    (0.25, {"at_most": 1.0}, 0.75),                 # (b - v) / |b|
    (1e-6, {"at_most": 1e-4}, (1e-4 - 1e-6) / 1e-4),
    (-3.0, {"at_most": -2.0}, 1.0 / 2.0),
    (0.9, {"at_least": 0.5, "at_most": 1.0}, 0.1),  # min(0.4 / 0.5, 0.1 / 1.0)
    (0.6, {"at_least": 0.5, "at_most": 1.0}, 0.2),  # min(0.1 / 0.5, 0.4 / 1.0)
    (0.05, {"at_least": 0.0, "at_most": 0.5}, 0.1),  # zero bound takes the scale 0.5
    (-0.2, {"at_least": -1.0, "at_most": 0.0}, 0.2),  # min(0.8 / 1, 0.2 / 1)
    (1.0, {"at_least": -math.inf, "at_most": 2.0}, 0.5),  # infinite bounds ignored
])
def test_relative_margin_matches_hand_values(value, bounds, expected):
    assert relative_margin(value, **bounds) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value, bounds", [
    (0.0, {"at_most": 0}),              # zero bound alone: no scale
    (3.0, {"at_least": 0.0}),
    (1.0, {"at_least": -math.inf}),     # no finite bound
    (1.0, {}),
    (float("nan"), {"at_least": 1.0}),
])
def test_relative_margin_is_none_without_a_scale(value, bounds):
    assert relative_margin(value, **bounds) is None


def test_relative_margin_accepts_numpy_scalars():
    assert relative_margin(np.float32(1.5), at_least=np.int64(1)) == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs, name", [({"value": "1"}, "value"),
                                          ({"value": 1.0, "at_least": "0"}, "at_least"),
                                          ({"value": True, "at_most": 2}, "value")])
def test_relative_margin_rejects_non_numbers(kwargs, name):
    value = kwargs.pop("value")
    with pytest.raises(TypeError, match=name):
        relative_margin(value, **kwargs)


# -- what a claim writes ------------------------------------------------------------

def test_claims_are_recorded_with_margin_profile_chapter_and_machine(ledger_env, monkeypatch):
    monkeypatch.setenv("COMPANION_PROFILE", "quick")
    claim("an epoch with BN takes longer", 1.32, at_least=1.1)
    claim("two runs agree", "max difference 0.0", holds=True)
    claim("no BN layer remains", 0, at_most=0)
    lines = (ledger_env / "04_batch_normalization.jsonl").read_text().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert first["statement"] == "an epoch with BN takes longer"
    assert first["measured"] == 1.32 and first["at_least"] == 1.1 and first["at_most"] is None
    assert first["margin"] == pytest.approx(0.22 / 1.1) and first["nearest"] == "at_least"
    assert first["passed"] is True and first["kind"] == "bounds"
    assert first["profile"] == "quick" and first["chapter"] == "04_batch_normalization"
    assert first["machine"]["tensorflow"] == tf.__version__
    assert first["machine"]["cpu"] and first["machine"]["cores"] >= 1
    assert second["kind"] == "holds" and second["margin"] is None
    assert second["measured"] == "max difference 0.0"
    assert third["margin"] is None and third["passed"] is True


def test_a_failed_claim_is_recorded_before_it_raises(ledger_env):
    with pytest.raises(ClaimError):
        claim("accuracy is high", 0.6, at_least=0.8)
    with pytest.raises(ClaimError):
        claim("runs agree", "max difference 0.3", holds=False)
    records = ledger.read_ledger(ledger_env)
    assert [r["passed"] for r in records] == [False, False]
    assert records[0]["margin"] == pytest.approx((0.6 - 0.8) / 0.8)


def test_running_a_claim_again_replaces_its_record(ledger_env):
    claim("loss is small", 0.5, at_most=1.0)
    claim("accuracy is high", 0.9, at_least=0.8)
    claim("loss is small", 0.25, at_most=1.0)  # the cell run a second time
    records = ledger.read_ledger(ledger_env)
    assert [(r["statement"], r["measured"]) for r in records] == [
        ("loss is small", 0.25), ("accuracy is high", 0.9)]


def test_a_new_process_starts_the_chapter_afresh(ledger_env):
    path = ledger_env / "04_batch_normalization.jsonl"
    ledger_env.mkdir()
    path.write_text(json.dumps({"statement": "stale", "margin": None}) + "\n")
    claim("fresh", 2.0, at_least=1.0)
    assert [r["statement"] for r in ledger.read_ledger(ledger_env)] == ["fresh"]


def test_non_finite_values_are_written_as_strict_json(ledger_env):
    claim("ratio is large", float("inf"), at_least=1.0)
    text = (ledger_env / "04_batch_normalization.jsonl").read_text()

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    entry = json.loads(text, parse_constant=refuse)
    assert entry["measured"] == "inf" and entry["margin"] == "inf"
    assert ledger.read_ledger(ledger_env)[0]["margin"] == math.inf


def test_without_a_ledger_directory_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_LEDGER_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    entry = ledger.record("a claim", 2.0, at_least=1.0, passed=True)
    assert entry["margin"] == pytest.approx(1.0)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_ledger_fails_the_claim(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("COMPANION_LEDGER_DIR", str(blocker / "claims"))
    with pytest.raises(ledger.LedgerError, match="COMPANION_LEDGER_DIR"):
        claim("accuracy is high", 0.9, at_least=0.8)


@pytest.mark.parametrize("environ, expected", [
    ({"COMPANION_CHAPTER": "09_practical_guidelines"}, "09_practical_guidelines"),
    ({"COMPANION_CHAPTER": " a b/c ", "JPY_SESSION_NAME": "x.ipynb"}, "a_b_c"),
    ({"JPY_SESSION_NAME": "book/03_activation_functions.ipynb"}, "03_activation_functions"),
    ({"COMPANION_CHAPTER": "", "JPY_SESSION_NAME": ""}, "unknown"),
])
def test_chapter_name(environ, expected):
    assert ledger.chapter_name(environ) == expected


# -- reading and reporting ----------------------------------------------------------

def _entry(statement, margin, *, chapter="01_a", passed=True, kind="bounds"):
    return {"chapter": chapter, "statement": statement, "kind": kind, "measured": 1.0,
            "at_least": 1.0 if kind == "bounds" else None, "at_most": None,
            "passed": passed, "margin": margin, "profile": "quick",
            "machine": {"cpu": "Test CPU", "cores": 2, "tensorflow": "2.x"}}


def _write(directory, chapter, entries):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{chapter}.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in entries))


def test_read_ledger_takes_a_build_or_a_ledger_directory(tmp_path):
    _write(tmp_path / "_build" / "claims", "02_b", [_entry("b", 0.5, chapter="02_b")])
    _write(tmp_path / "_build" / "claims", "01_a", [_entry("a1", 0.1), _entry("a2", None)])
    for where in (tmp_path / "_build", tmp_path / "_build" / "claims"):
        assert [r["statement"] for r in ledger.read_ledger(where)] == ["a1", "a2", "b"]
    with pytest.raises(FileNotFoundError, match="no claim ledger"):
        ledger.read_ledger(tmp_path / "missing")


def test_read_ledger_names_a_corrupt_line(tmp_path):
    _write(tmp_path, "01_a", [_entry("a", 0.1)])
    with open(tmp_path / "01_a.jsonl", "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValueError, match=r"01_a.jsonl, line 2"):
        ledger.read_ledger(tmp_path)


def test_report_rows_sort_by_margin_and_mark_under_twenty_percent():
    entries = [_entry("wide", 3.0), _entry("at the mark", 0.2), _entry("narrow", 0.1999),
               _entry("failed", -0.1, passed=False), _entry("bool", None, kind="holds"),
               _entry("bool failed", None, kind="holds", passed=False)]
    ranked, unranked = ledger.report_rows(entries)
    assert [r["statement"] for r in ranked] == ["failed", "narrow", "at the mark", "wide"]
    assert [r["weak"] for r in ranked] == [True, True, False, False]
    assert [r["statement"] for r in unranked] == ["bool failed", "bool"]
    assert unranked[1]["required"] == "holds" and ranked[0]["required"] == ">= 1"


def test_cli_prints_the_report_smallest_margin_first(tmp_path, capsys):
    _write(tmp_path / "claims", "01_a", [_entry("wide claim", 1.5), _entry("tight claim", 0.05)])
    _write(tmp_path / "claims", "02_b", [_entry("middle claim", 0.4, chapter="02_b"),
                                         _entry("a condition", None, kind="holds")])
    assert main(["claims", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 claims: 4 passed, 0 failed; 3 with a relative margin, 1 of "
                          "them under 20%")
    assert "Test CPU (2 cores); ?; TensorFlow 2.x" in out
    order = [out.index(s) for s in ("tight claim", "middle claim", "wide claim",
                                    "a condition")]
    assert order == sorted(order)
    tight = next(line for line in out.splitlines() if "tight claim" in line)
    assert tight.split()[:3] == ["+5.0%", "<", "20%"]


def test_cli_fails_on_a_failed_claim_or_a_missing_ledger(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COMPANION_LEDGER_DIR", raising=False)
    _write(tmp_path / "claims", "01_a", [_entry("broken", -0.3, passed=False)])
    assert main(["claims", str(tmp_path)]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main(["claims", str(tmp_path / "nowhere")]) == 1
    assert "no claim ledger" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert main(["claims", str(tmp_path / "empty")]) == 1
    assert "holds no claim" in capsys.readouterr().out


def test_cli_defaults_to_the_ledger_directory_variable(tmp_path, capsys, monkeypatch):
    _write(tmp_path / "somewhere", "01_a", [_entry("found it", 0.5)])
    monkeypatch.setenv("COMPANION_LEDGER_DIR", str(tmp_path / "somewhere"))
    assert main(["claims"]) == 0
    assert "found it" in capsys.readouterr().out


def test_machine_names_cpu_and_versions():
    box = ledger.machine()
    assert box["tensorflow"] == tf.__version__
    assert isinstance(box["cpu"], str) and box["cpu"]
    assert box["cores"] >= 1
    json.dumps(box)  # it goes into every record
