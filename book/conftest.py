"""pytest hooks for the chapters run by nbval (``make test``): where their claims go.

nbval starts one kernel per notebook, when the notebook's first cell is set up, and
the kernel inherits this process's environment. Around that moment the notebook's
name is put in ``COMPANION_CHAPTER`` and, unless it is set already,
``COMPANION_LEDGER_DIR`` is pointed at ``_build/claims-nbval``, so that every claim
cell records its claim (``companion.book.ledger``) under the right chapter. The
ledger of a test run is kept apart from the build's ``_build/claims``, whose
records must match the pages the build shows. Both variables are restored right
after, so the rest of the session does not see them.
"""

import os
import pathlib

import pytest

NBVAL_LEDGER = pathlib.Path(__file__).resolve().parents[1] / "_build" / "claims-nbval"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if item.path.suffix != ".ipynb":
        return (yield)
    saved = {name: os.environ.get(name) for name in ("COMPANION_CHAPTER",
                                                      "COMPANION_LEDGER_DIR")}
    os.environ["COMPANION_CHAPTER"] = item.path.stem
    chosen = os.environ.get("COMPANION_LEDGER_DIR", "").strip() or NBVAL_LEDGER
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
