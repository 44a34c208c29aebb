"""The Verification report extension (book/_ext/claim_report.py): checks, and a small Sphinx build."""

import json
import pathlib
import sys
import textwrap
import types

import pytest

EXT = pathlib.Path(__file__).resolve().parents[1] / "book" / "_ext"
sys.path.insert(0, str(EXT))
claim_report = pytest.importorskip("claim_report")


def _record(statement, margin, *, chapter="chap", passed=True, profile="quick",
            kind="bounds"):
    return {"chapter": chapter, "statement": statement, "kind": kind, "measured": 1.5,
            "at_least": 1.2 if kind == "bounds" else None, "at_most": None,
            "passed": passed, "margin": margin, "profile": profile,
            "machine": {"cpu": "Test CPU", "cores": 2, "tensorflow": "2.x", "keras": "3.x",
                        "devices": "CPU x1"}}


def test_check_ledger_accepts_a_complete_ledger_of_the_build_profile():
    records = [_record("a", 0.5), _record("b", None, chapter="other", kind="holds")]
    assert claim_report.check_ledger(records, ["chap", "other"], "quick") == []


def test_check_ledger_names_missing_chapters_other_profiles_and_failures():
    records = [_record("a", 0.5, profile="full"), _record("b", -0.1, passed=False)]
    problems = claim_report.check_ledger(records, ["chap", "missing"], "quick")
    assert problems == ["chapter 'missing' has no claim in the ledger",
                        "chapter 'chap' recorded its claims under the full profile, the "
                        "build is quick",
                        "chapter 'chap': the claim 'b' failed"]


def test_build_chapters_are_the_notebooks():
    env = types.SimpleNamespace(found_docs={"book/intro", "book/04_bn", "book/verification"},
                                doc2path=lambda doc: f"/src/{doc}" + (
                                    ".ipynb" if doc == "book/04_bn" else ".md"))
    assert claim_report.build_chapters(env) == {"04_bn": "book/04_bn"}


def test_source_read_names_the_chapter_for_the_kernel(monkeypatch):
    monkeypatch.setenv("COMPANION_CHAPTER", "")
    claim_report._source_read(None, "book/04_batch_normalization", [""])
    import os
    assert os.environ["COMPANION_CHAPTER"] == "04_batch_normalization"


def _project(tmp_path):
    """A one-chapter book: a notebook (not executed) and a report page."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(EXT)!r})
        extensions = ["myst_nb", "claim_report"]
        nb_execution_mode = "off"
        exclude_patterns = ["_build"]
    """))
    (src / "index.md").write_text("# Home\n\n```{toctree}\nchap\nreport\n```\n")
    (src / "report.md").write_text("# Report\n\n```{claim-report}\n```\n")
    notebook = {"cells": [{"cell_type": "markdown", "id": "chap-001", "metadata": {},
                           "source": ["# The chapter\n"]}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (src / "chap.ipynb").write_text(json.dumps(notebook))
    return src


def _build(monkeypatch, capsys, src, out, ledger):
    """``sphinx-build -W -n -q -b html`` of ``src``, in this process: ``(status, stderr)``.

    Nothing here needs a process of its own (the notebook is not executed), and a new
    interpreter would import TensorFlow again with the extension (seconds). The
    variables the extension reads and sets are restored after the test.
    """
    import logging

    from sphinx.cmd.build import build_main

    # Sphinx leaves handlers bound to the finished build on its logger (with -W, one that
    # turns any later warning into an error), and the project's conf.py extends sys.path
    sphinx_logger = logging.getLogger("sphinx")
    monkeypatch.setattr(sphinx_logger, "handlers", list(sphinx_logger.handlers))
    monkeypatch.setattr(sphinx_logger, "propagate", sphinx_logger.propagate)
    monkeypatch.setattr(sphinx_logger, "level", sphinx_logger.level)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("COMPANION_LEDGER_DIR", str(ledger))
    monkeypatch.setenv("COMPANION_PROFILE", "quick")
    monkeypatch.setenv("COMPANION_CHAPTER", "")  # the extension sets it: restored after
    capsys.readouterr()
    status = build_main(["-W", "-n", "-q", "-b", "html", str(src), str(out)])
    return status, capsys.readouterr().err


def test_the_report_page_lists_the_ledger_smallest_margin_first(tmp_path, monkeypatch, capsys):
    src, ledger_dir = _project(tmp_path), tmp_path / "ledger"
    ledger_dir.mkdir()
    records = [_record("wide claim", 2.0), _record("tight claim", 0.05),
               _record("a condition", None, kind="holds"),
               _record("elsewhere", 0.01, chapter="not_in_this_build")]
    (ledger_dir / "chap.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:3]))
    (ledger_dir / "not_in_this_build.jsonl").write_text(json.dumps(records[3]) + "\n")
    status, err = _build(monkeypatch, capsys, src, tmp_path / "out", ledger_dir)
    assert status == 0, err
    page = (tmp_path / "out" / "report.html").read_text()
    order = [page.index(s) for s in ("tight claim", "wide claim", "a condition")]
    assert order == sorted(order)
    assert "elsewhere" not in page  # only the chapters of the build
    assert "+5.0% ⚠" in page and "+200.0%" in page and "+200.0% ⚠" not in page
    assert 'href="chap.html"' in page and "The chapter" in page
    assert "3 claims in 1 chapters: 3 held, 0 failed" in page
    site_json = json.loads((tmp_path / "out" / "claims.json").read_text())
    assert [r["statement"] for r in site_json] == ["wide claim", "tight claim", "a condition"]


def test_a_chapter_missing_from_the_ledger_fails_a_strict_build(tmp_path, monkeypatch, capsys):
    src, ledger_dir = _project(tmp_path), tmp_path / "ledger"
    ledger_dir.mkdir()
    (ledger_dir / "other.jsonl").write_text(json.dumps(_record("x", 1.0, chapter="other")))
    status, err = _build(monkeypatch, capsys, src, tmp_path / "out", ledger_dir)
    assert status != 0
    assert "holds no claim of this build's chapters" in err
