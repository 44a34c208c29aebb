"""A pytest plugin: nbval executes each chapter once, and the book reuses that execution.

Registered for every pytest run of the repository (``-p companion.book.nbcache`` in
``pyproject.toml``). When pytest runs the chapters under nbval (``make test``,
``make execute``), it keeps every cell's outputs and, once every cell of a notebook has passed,
stores the executed notebook in Jupyter Book's execution cache (the directory named
by ``COMPANION_EXECUTION_CACHE``), exactly as Jupyter Book would after executing it
itself. The book built next (with the same package and profile: the Makefile clears
the cache otherwise) then finds every notebook in the cache and executes nothing.
It also writes each notebook's per-cell wall times to ``COMPANION_CELL_TIMES``
(a directory; one JSON file per notebook), which ``python -m companion walltime``
prints. ``python -m companion.book.nbcache NOTEBOOK...`` prints those of the notebooks
that the cache lacks: ``make execute`` runs nbval on those alone, and does not start
pytest when the cache has them all; ``make test`` always runs every notebook.

Nothing here runs unless those variables are set, so a plain ``pytest --nbval-lax``
behaves as nbval always does, except that claim cells record where their claims go:
when nbval starts a notebook's kernel (which inherits this process's environment), the
notebook's name is put in ``COMPANION_CHAPTER`` and, unless it is set already (the
Makefile sets it to the build's ledger, ``_build/claims``), ``COMPANION_LEDGER_DIR`` is
pointed at ``_build/claims-nbval``, so that every claim cell records its claim
(``companion.book.ledger``) under the right chapter. Both are restored right after.
"""

import json
import os
import pathlib
import sys
import time

import pytest

CACHE_VAR, TIMES_VAR = "COMPANION_EXECUTION_CACHE", "COMPANION_CELL_TIMES"


def _is_cell(item):
    return type(item).__name__ == "IPyNbCell"


def _cache():
    from jupyter_cache import get_cache

    return get_cache(os.environ[CACHE_VAR])


def _cached(notebook):
    try:
        _cache().match_cache_notebook(notebook)
    except KeyError:
        return False
    return True


def uncached(notebooks):
    """The notebooks among ``notebooks`` (paths) that the execution cache lacks, in order.

    The cache (``COMPANION_EXECUTION_CACHE``) matches a notebook by its kernel and its
    code cells, as Jupyter Book's build does, so a notebook listed here is one the build
    would execute.

    Example:
        >>> uncached(["book/01_unstable_gradients.ipynb"])  # doctest: +SKIP
        []
    """
    import nbformat

    return [path for path in notebooks if not _cached(nbformat.read(path, as_version=4))]


def main(argv=None):
    """``python -m companion.book.nbcache NOTEBOOK...``: print those the cache lacks."""
    notebooks = sys.argv[1:] if argv is None else argv
    if not os.environ.get(CACHE_VAR):
        print(f"{CACHE_VAR} is not set: it names the execution cache to look in",
              file=sys.stderr)
        return 2
    missing = [path for path in notebooks if not os.path.isfile(path)]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    for path in uncached(notebooks):
        print(path)
    return 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if not _is_cell(item):
        return (yield)
    saved = {name: os.environ.get(name) for name in ("COMPANION_CHAPTER",
                                                      "COMPANION_LEDGER_DIR", "MPLBACKEND")}
    # The test suite draws with Agg (MPLBACKEND); a chapter's kernel must use Jupyter's
    # inline backend, or its figures never reach the outputs that the book reuses.
    os.environ.pop("MPLBACKEND", None)
    os.environ["COMPANION_CHAPTER"] = item.path.stem
    chosen = (os.environ.get("COMPANION_LEDGER_DIR", "").strip()
              or item.config.rootpath / "_build" / "claims-nbval")
    # absolute: the kernel runs in the notebook's directory, not in ours
    os.environ["COMPANION_LEDGER_DIR"] = str(pathlib.Path(chosen).absolute())
    try:
        return (yield)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not _is_cell(item) or call.when != "call":
        return
    report = outcome.get_result()
    notebook = item.parent
    state = notebook.__dict__.setdefault("_companion_run", {"failed": False, "cells": []})
    state["failed"] |= not report.passed
    state["cells"].append({"cell": item.cell_num, "seconds": round(call.duration, 3),
                           "first_line": item.cell.source.strip().split("\n", 1)[0][:80]})
    if report.passed:
        count = item.cell_num + 1
        item.cell.outputs = item.test_outputs or []
        item.cell.execution_count = count
        for output in item.cell.outputs:  # nbval leaves execute_result counts as the kernel's
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count


def pytest_runtest_teardown(item, nextitem):
    if not _is_cell(item) or (nextitem is not None and nextitem.parent is item.parent):
        return
    notebook = item.parent
    state = notebook.__dict__.get("_companion_run")
    if not state:
        return
    path = pathlib.Path(str(notebook.fspath))
    seconds = sum(cell["seconds"] for cell in state["cells"])
    if os.environ.get(TIMES_VAR):
        directory = pathlib.Path(os.environ[TIMES_VAR])
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{path.stem}.json").write_text(json.dumps(
            {"notebook": path.name, "passed": not state["failed"], "seconds": round(seconds, 2),
             "profile": os.environ.get("COMPANION_PROFILE", "full"), "cells": state["cells"]},
            indent=1) + "\n")
    if os.environ.get(CACHE_VAR) and not state["failed"] \
            and len(state["cells"]) == sum(c.cell_type == "code" for c in notebook.nb.cells):
        _store(notebook.nb, path, seconds)


def _store(notebook, path, seconds):
    from jupyter_cache.base import CacheBundleIn
    from sqlalchemy.exc import OperationalError

    for attempt in range(20):  # two xdist workers may write the SQLite index at once
        try:
            _cache().cache_notebook_bundle(
                CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            return
        except OperationalError:
            time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"could not store {path.name} in the execution cache")


if __name__ == "__main__":
    sys.exit(main())
