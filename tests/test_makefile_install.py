"""The Makefile's set-up: which installer runs (INSTALLER), and pip where uv fails.

The recipes run against a stand-in interpreter that records each call instead of
installing anything, so these tests take no network and no time.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

# A stand-in for python (and for uv, which pip "installs" beside it): it logs its
# arguments; `-m venv DIR` makes DIR/bin with both; the calls that FAIL matches (a shell
# pattern for "<program> <arguments>") fail.
STAND_IN = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
case "$*" in
  "-m venv "*) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "$0" "$3/bin/uv" ;;
  "-c "*) echo "$(dirname "$0")/site-packages" ;;
esac
case "$(basename "$0") $*" in $FAIL) exit 1 ;; esac
exit 0
"""
FALLBACK_NOTE = "Installing with pip: uv could not install into {venv}."
TARGETS = {"book": (".installed", '-e .[book,test]'), "lab": (".lab-installed", "-e .[lab]")}


def set_up(tmp_path, installer, *, fail="", target="book"):
    """Make ``target``'s environment with the stand-in; the run, and the calls after
    creating the environment, as ``program arguments`` without the path."""
    stand_in = tmp_path / "python"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    calls = tmp_path / "calls.log"
    venv = tmp_path / "venv"
    goal = (f"OLDEST_VENV={venv}", f"{venv}/.installed") if target == "oldest" else \
        (f"VENV={venv}", f"{venv}/{TARGETS[target][0]}")
    env = dict(os.environ, CALLS=str(calls), FAIL=fail)
    env.pop("MAKEFLAGS", None)
    run = subprocess.run(["make", "--no-print-directory", f"PYTHON={stand_in}",
                          f"INSTALLER={installer}", *goal],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    lines = calls.read_text().splitlines() if calls.exists() else []
    assert not lines or lines[0] == f"python -m venv {venv}", lines
    return run, lines[1:]


def pip_calls(tmp_path, requirements):
    return ["python -m pip install --quiet --upgrade pip",
            f"python -m pip install --quiet --no-compile {requirements}",
            "python -c import sysconfig; print(sysconfig.get_path(\"purelib\"))",
            f"python -m compileall -q -j 0 {tmp_path}/venv/bin/site-packages"]


def uv_calls(tmp_path, requirements):
    return ["python -m pip install --quiet --disable-pip-version-check uv~=0.13.9",
            f"uv pip install --quiet --python {tmp_path}/venv/bin/python --compile-bytecode "
            f"--refresh-package companion {requirements}"]


@pytest.mark.parametrize("target", TARGETS)
def test_pip_installs_without_compiling_then_compiles_on_every_core(tmp_path, target):
    run, calls = set_up(tmp_path, "pip", target=target)
    assert run.returncode == 0, run.stderr
    assert calls == pip_calls(tmp_path, TARGETS[target][1])
    assert (tmp_path / "venv" / TARGETS[target][0]).exists()


@pytest.mark.parametrize("target", TARGETS)
def test_uv_installs_and_compiles_when_asked(tmp_path, target):
    run, calls = set_up(tmp_path, "uv", target=target)
    assert run.returncode == 0, run.stderr
    assert calls == uv_calls(tmp_path, TARGETS[target][1])
    assert FALLBACK_NOTE.format(venv=tmp_path / "venv") not in run.stdout.splitlines()


@pytest.mark.parametrize("fail, uv_ran", [("python -m pip install * uv~=*", 1),
                                          ("uv pip install *", 2)])
def test_pip_installs_where_uv_cannot(tmp_path, fail, uv_ran):
    # installing uv fails (uv never runs), or uv's own install does
    run, calls = set_up(tmp_path, "uv", fail=fail)
    assert run.returncode == 0, run.stderr
    assert FALLBACK_NOTE.format(venv=tmp_path / "venv") in run.stdout.splitlines()
    requirements = TARGETS["book"][1]
    assert calls == uv_calls(tmp_path, requirements)[:uv_ran] + pip_calls(tmp_path, requirements)
    assert (tmp_path / "venv" / ".installed").exists()


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_failing_pip_fails_the_set_up(tmp_path, installer):
    # with uv: uv fails, and then pip does too
    run, _ = set_up(tmp_path, installer, fail="* install --quiet --[np]*")
    assert run.returncode != 0
    assert not (tmp_path / "venv" / ".installed").exists()


def test_the_oldest_versions_are_installed_with_pip_as_a_user_would(tmp_path):
    run, calls = set_up(tmp_path, "uv", target="oldest")
    assert run.returncode == 0, run.stderr
    assert calls == pip_calls(tmp_path, "-c tests/constraints-oldest.txt .[test]")


@pytest.mark.parametrize("installer", ["conda", ""])
def test_an_unknown_installer_is_refused_with_the_choices(tmp_path, installer):
    run, calls = set_up(tmp_path, installer)
    assert run.returncode != 0
    assert f"INSTALLER must be one of pip uv, got '{installer}'" in run.stderr
    assert calls == []
    clean = subprocess.run(["make", "-n", "clean", f"INSTALLER={installer}"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stderr  # only the set-up needs an installer
