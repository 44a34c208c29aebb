"""companion.book.walltime: per-notebook and per-cell times from nbval's records."""

import json

import pytest

from companion.__main__ import main
from companion.book import walltime


def write_times(directory, name, seconds, passed=True):
    directory.mkdir(parents=True, exist_ok=True)
    cells = [{"cell": i, "seconds": s, "first_line": f"x = {i}"} for i, s in enumerate(seconds)]
    (directory / f"{name}.json").write_text(json.dumps(
        {"notebook": f"{name}.ipynb", "passed": passed, "seconds": sum(seconds),
         "profile": "quick", "cells": cells}))


def test_table_sums_cells_per_notebook(tmp_path):
    times = tmp_path / "cell-times" / "quick"
    write_times(times, "01_a", [1.0, 2.5])
    write_times(times, "02_b", [4.0], passed=False)
    table = walltime.walltime_table(tmp_path)
    assert table.loc["01_a.ipynb", "nbval_seconds"] == pytest.approx(3.5)
    assert table.loc["01_a.ipynb", "cells"] == 2
    assert not table.loc["02_b.ipynb", "passed"]
    assert table["cached_seconds"].isna().all()  # no cache in tmp_path


def test_report_lists_the_slowest_cells_and_the_total(tmp_path, capsys):
    write_times(tmp_path / "cell-times" / "quick", "01_a", [1.0, 2.5, 0.1])
    assert main(["walltime", "--build-dir", str(tmp_path), "--slowest", "2"]) == 0
    out = capsys.readouterr().out
    assert "total 3.6 s over 1 notebooks" in out
    slow = out.split("slowest cells:")[1]
    assert slow.index("2.5") < slow.index("1.0") and "0.1" not in slow


def test_report_says_what_to_run_when_there_is_nothing(tmp_path):
    assert "run `make test`" in walltime.report(tmp_path)
    with pytest.raises(ValueError, match="slowest"):
        walltime.report(tmp_path, slowest=-1)
