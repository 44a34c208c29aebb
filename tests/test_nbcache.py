"""companion.book.nbcache: nbval's executions become the book's cached executions."""

import copy
import json
import os
import re
import subprocess
import sys

import nbformat
import pytest

jupyter_cache = pytest.importorskip("jupyter_cache")

from companion.book import nbcache  # noqa: E402


def tiny_notebook(path, *, fail=False):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# A page"),
                      nbformat.v4.new_code_cell("x = 6 * 7\nprint(x)"),
                      nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n"
                                                "fig = plt.figure(); plt.plot([1, 2])"),
                      nbformat.v4.new_code_cell("1 / 0" if fail else "x + 1")]
    nbformat.write(notebook, path)
    return notebook


def run_nbval(directory):
    """nbval over ``directory/book``; the cache and the times go beside it, as in _build.
    ``-rA`` lists every cell's outcome."""
    env = dict(os.environ, COMPANION_EXECUTION_CACHE=str(directory / "cache"),
               COMPANION_CELL_TIMES=str(directory / "times"))
    return subprocess.run([sys.executable, "-m", "pytest", str(directory / "book"), "--nbval-lax",
                           "-q", "-rA", "-p", "companion.book.nbcache", "--rootdir",
                           str(directory)],
                          env=env, capture_output=True, text=True, timeout=180)


def outcomes(run, name):
    """``{cell number: "PASSED" or "FAILED"}`` of notebook ``name`` in ``run``'s summary."""
    return {int(cell): outcome for outcome, cell in re.findall(
        rf"^(PASSED|FAILED) (?:\S*/)?book/{re.escape(name)}::Cell (\d+)\b", run.stdout, re.M)}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """One nbval run over a book of two pages, one passing and one failing.

    Each notebook runs in its own kernel and is cached (or not) on its own, so one run of
    pytest (which starts a kernel per notebook, seconds) serves every test of this file;
    none writes into this directory.
    """
    directory = tmp_path_factory.mktemp("nbcache")
    (directory / "book").mkdir()
    sources = {"page": tiny_notebook(directory / "book" / "page.ipynb"),
               "failing": tiny_notebook(directory / "book" / "failing.ipynb", fail=True)}
    return directory, sources, run_nbval(directory)


def test_a_passing_notebook_is_cached_with_its_outputs_and_times(book):
    directory, sources, run = book
    # every cell of the page passed (the run as a whole fails: the other page fails)
    assert outcomes(run, "page.ipynb") == {0: "PASSED", 1: "PASSED", 2: "PASSED"}, \
        run.stdout + run.stderr
    source = sources["page"]
    cache = jupyter_cache.get_cache(str(directory / "cache"))
    record = cache.match_cache_notebook(source)  # what Jupyter Book looks up, then merges
    _, executed = cache.merge_match_into_notebook(source)
    first, figure, second = executed.cells[1], executed.cells[2], executed.cells[3]
    # a figure reaches the outputs (the kernel draws inline, not with the suite's Agg)
    assert any("image/png" in output.get("data", {}) for output in figure.outputs)
    assert first.outputs[0]["text"] == "42\n" and first.execution_count == 1
    assert second.outputs[0]["data"]["text/plain"] == "43"
    assert second.outputs[0]["execution_count"] == second.execution_count == 3
    times = json.loads((directory / "times" / "page.json").read_text())
    assert times["passed"] and [c["cell"] for c in times["cells"]] == [0, 1, 2]
    assert record.data["execution_seconds"] == pytest.approx(
        sum(c["seconds"] for c in times["cells"]), abs=0.01)


def test_the_notebooks_the_cache_lacks_are_listed(book, tmp_path, monkeypatch, capsys):
    directory, sources, _ = book
    monkeypatch.setenv(nbcache.CACHE_VAR, str(directory / "cache"))
    page, failing = (str(directory / "book" / f"{name}.ipynb") for name in ("page", "failing"))
    assert nbcache.uncached([page, failing]) == [failing]
    # a changed code cell is a notebook the cache lacks; a changed Markdown cell is not
    edited = copy.deepcopy(sources["page"])
    edited.cells[0].source = "# Another title"
    nbformat.write(edited, tmp_path / "prose.ipynb")
    edited.cells[1].source = "x = 6 * 8\nprint(x)"
    nbformat.write(edited, tmp_path / "code.ipynb")
    prose, code = str(tmp_path / "prose.ipynb"), str(tmp_path / "code.ipynb")
    assert nbcache.main([failing, prose, page, code]) == 0
    assert capsys.readouterr().out.splitlines() == [failing, code]


def test_the_listing_names_what_it_lacks(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(nbcache.CACHE_VAR, raising=False)
    assert nbcache.main([]) == 2
    assert f"{nbcache.CACHE_VAR} is not set" in capsys.readouterr().err
    monkeypatch.setenv(nbcache.CACHE_VAR, str(tmp_path / "cache"))
    assert nbcache.main([str(tmp_path / "missing.ipynb")]) == 2
    assert f"no such notebook: {tmp_path / 'missing.ipynb'}" in capsys.readouterr().err
    # a cache that does not exist yet lacks every notebook
    tiny_notebook(tmp_path / "page.ipynb")
    assert nbcache.uncached([str(tmp_path / "page.ipynb")]) == [str(tmp_path / "page.ipynb")]
    assert (tmp_path / "cache").is_dir()


def test_a_failing_notebook_is_not_cached(book):
    directory, sources, run = book
    assert run.returncode == 1
    assert outcomes(run, "failing.ipynb") == {0: "PASSED", 1: "PASSED", 2: "FAILED"}, \
        run.stdout + run.stderr
    cache = jupyter_cache.get_cache(str(directory / "cache"))
    with pytest.raises(KeyError):
        cache.match_cache_notebook(sources["failing"])
    assert not json.loads((directory / "times" / "failing.json").read_text())["passed"]
