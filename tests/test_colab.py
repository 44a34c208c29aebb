"""companion.book.colab: the chapters' Colab install cell, from _config.yml."""

import json
import subprocess
import sys

import pytest

from companion.book import colab


def test_install_requirement_forms():
    assert colab.install_requirement("https://github.com/o/c") == \
        "companion @ git+https://github.com/o/c"
    assert colab.install_requirement("git+https://h/o/c", "dev") == "companion @ git+https://h/o/c@dev"
    for bad in ("", "  ", "ftp://h/c", None):
        with pytest.raises(ValueError, match="url must"):
            colab.install_requirement(bad)


@pytest.mark.parametrize("url", ["", "https://github.com/o/c"])
def test_install_cell_prints_and_imports_nothing_outside_colab(url):
    source = colab.install_cell_source(url, "main")
    assert colab.COLAB_TEST in source
    run = subprocess.run([sys.executable, "-c", source + "\nimport sys\n"
                          "print(sorted(m for m in ('tensorflow', 'companion') if m in sys.modules))"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "[]\n" and run.stderr == ""


def test_sync_writes_the_cell_first_and_is_idempotent(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/o/c\n  branch: main\n")
    book = tmp_path / "book"
    book.mkdir()
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# Title"]},
        {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": None,
         "outputs": [], "source": ["import companion as cp"]}]}
    (book / "page.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    assert colab.sync_install_cells(book, config) == [book / "page.ipynb"]
    cells = json.loads((book / "page.ipynb").read_text())["cells"]
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "code"]
    assert colab.is_install_cell(cells[1]) and "git+https://github.com/o/c@main" in "".join(
        cells[1]["source"])
    assert cells[1]["metadata"]["tags"] == colab.INSTALL_CELL_TAGS
    assert colab.sync_install_cells(book, config, check=True) == []
