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


def set_up(tmp_path, installer, fail=""):
    stand_in = tmp_path / "python"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    calls = tmp_path / "calls.log"
    venv = tmp_path / "venv"
    env = dict(os.environ, CALLS=str(calls), FAIL=fail)
    env.pop("MAKEFLAGS", None)
    run = subprocess.run(["make", "--no-print-directory", f"PYTHON={stand_in}", f"VENV={venv}",
                          f"INSTALLER={installer}", f"{venv}/.installed"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    lines = calls.read_text().splitlines() if calls.exists() else []
    # the calls after creating the environment, without its path
    return run, [line.split(" ", 1)[1] if line.startswith(("python ", "uv ")) and i else line
                 for i, line in enumerate(lines)], [line.split(" ")[0] for line in lines]


def test_pip_installs_without_compiling_then_compiles_on_every_core(tmp_path):
    run, calls, programs = set_up(tmp_path, "pip")
    assert run.returncode == 0, run.stderr
    assert calls[1:] == ["-m pip install --quiet --upgrade pip",
                         "-m pip install --quiet --no-compile -e .[book,test]",
                         "-c import sysconfig; print(sysconfig.get_path(\"purelib\"))",
                         f"-m compileall -q -j 0 {tmp_path}/venv/bin/site-packages"]
    assert "uv" not in programs
    assert (tmp_path / "venv" / ".installed").exists()


def test_uv_installs_and_compiles_when_asked(tmp_path):
    run, calls, programs = set_up(tmp_path, "uv")
    assert run.returncode == 0, run.stderr
    assert calls[1:] == ["-m pip install --quiet uv",
                         f"pip install --quiet --python {tmp_path}/venv/bin/python "
                         "--compile-bytecode -e .[book,test]"]
    assert programs[1:] == ["python", "uv"]


@pytest.mark.parametrize("fail", ["python -m pip install --quiet uv", "uv pip install *"])
def test_pip_installs_where_uv_cannot(tmp_path, fail):
    # fail: installing uv fails, or uv's own install does
    run, calls, programs = set_up(tmp_path, "uv", fail=fail)
    assert run.returncode == 0, run.stderr
    assert "uv could not install" in run.stdout
    assert calls[-3] == "-m pip install --quiet --no-compile -e .[book,test]"
    assert calls[-1].startswith("-m compileall -q -j 0 ")
    assert (tmp_path / "venv" / ".installed").exists()


def test_a_failing_pip_fails_the_set_up(tmp_path):
    run, _, _ = set_up(tmp_path, "pip", fail="python -m pip install --quiet --no-compile *")
    assert run.returncode != 0
    assert not (tmp_path / "venv" / ".installed").exists()


def test_an_unknown_installer_is_refused_with_the_choices(tmp_path):
    run, calls, _ = set_up(tmp_path, "conda")
    assert run.returncode != 0
    assert "INSTALLER must be pip or uv, got 'conda'" in run.stderr
    assert calls == []
