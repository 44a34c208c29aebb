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
  "-m companion.book.nbcache "*) printf '%s' "$LISTING" ;;
esac
case "$(basename "$0") $*" in $FAIL) exit 1 ;; esac
exit 0
"""
FALLBACK_NOTE = "Installing with pip: uv could not install into {venv}."
TARGETS = {"book": (".installed", '-e .[book,test]'), "lab": (".lab-installed", "-e .[lab]")}
ANNOUNCED = {"book": 'Installing -e ".[book,test]" into {venv} with {installer}.',
             "lab": 'Installing -e ".[lab]" into {venv} with {installer}.'}


def make(*arguments, env=None):
    env = dict(os.environ if env is None else env)
    env.pop("MAKEFLAGS", None)  # this test's own make (if any) must not steer these
    return subprocess.run(["make", "--no-print-directory", *arguments], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


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
    run = make(f"PYTHON={stand_in}", f"INSTALLER={installer}", *goal,
               env=dict(os.environ, CALLS=str(calls), FAIL=fail))
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
    assert run.stdout.splitlines() == [
        f"{tmp_path / 'python'} -m venv {tmp_path / 'venv'}" if target == "book" else
        f"[ -x {tmp_path}/venv/bin/python ] || {tmp_path / 'python'} -m venv {tmp_path / 'venv'}",
        ANNOUNCED[target].format(venv=tmp_path / "venv", installer="pip")]


@pytest.mark.parametrize("target", TARGETS)
def test_uv_installs_and_compiles_when_asked(tmp_path, target):
    run, calls = set_up(tmp_path, "uv", target=target)
    assert run.returncode == 0, run.stderr
    assert calls == uv_calls(tmp_path, TARGETS[target][1])
    assert run.stdout.splitlines()[1:] == [ANNOUNCED[target].format(venv=tmp_path / "venv",
                                                                     installer="uv")]


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
    run, calls = set_up(tmp_path, installer, fail="* install --quiet --[np]*")
    assert run.returncode != 0
    assert calls[-1] == "python -m pip install --quiet --no-compile -e .[book,test]"
    assert not (tmp_path / "venv" / ".installed").exists()


def test_the_oldest_versions_are_installed_with_pip_as_a_user_would(tmp_path):
    run, calls = set_up(tmp_path, "uv", target="oldest")
    assert run.returncode == 0, run.stderr
    assert calls == pip_calls(tmp_path, "-c tests/constraints-oldest.txt .[test]")
    # then the package alone, again (as it will be whenever one of its modules changes)
    package = make(f"OLDEST_VENV={tmp_path / 'venv'}", f"{tmp_path / 'venv'}/.package",
                   env=dict(os.environ, CALLS=str(tmp_path / "calls.log"), FAIL=""))
    assert package.returncode == 0, package.stderr
    assert (tmp_path / "calls.log").read_text().splitlines()[-1] == \
        "python -m pip install --quiet --no-deps --force-reinstall ."


def test_the_lab_installs_into_the_existing_environment(tmp_path):
    set_up(tmp_path, "pip")
    run, calls = set_up(tmp_path, "uv", target="lab")  # the calls of both runs
    assert run.returncode == 0, run.stderr
    assert calls == pip_calls(tmp_path, TARGETS["book"][1]) + uv_calls(tmp_path, "-e .[lab]")


@pytest.mark.parametrize("installer", ["conda", "", "pip uv"])
def test_an_unknown_installer_is_refused_with_the_choices(tmp_path, installer):
    run, calls = set_up(tmp_path, installer)
    assert run.returncode != 0
    assert f"INSTALLER must be one of pip uv, got '{installer}'" in run.stderr
    assert calls == []
    clean = make("-n", "clean", f"INSTALLER={installer}")
    assert clean.returncode == 0, clean.stderr  # only the set-up needs an installer


def test_make_test_hands_out_whole_files_in_the_order_of_its_collection():
    run = make("-n", "test", "-o", "setup", "-o", "fresh-cache")
    lines = run.stdout.replace("\\\n", " ").splitlines()  # continued lines joined
    pytest_line = next(line for line in lines if " -m pytest " in line)
    assert "--dist loadfile" in pytest_line and "--no-loadscope-reorder" in pytest_line


@pytest.mark.parametrize("listing, fail", [("", ""), ("book/b.ipynb\nbook/a.ipynb\n", ""),
                                           ("", "python -m companion.book.nbcache *"),
                                           ("book/a.ipynb\n", "python -m pytest *")])
def test_execute_runs_nbval_on_the_chapters_the_cache_lacks(tmp_path, listing, fail):
    stand_in = tmp_path / "venv" / "bin" / "python"
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    calls, key = tmp_path / "calls.log", tmp_path / "execution-key"
    run = make(f"VENV={tmp_path / 'venv'}", f"KEY_FILE={key}", "-o", "setup", "-o", "fresh-cache",
               "execute", env=dict(os.environ, CALLS=str(calls), FAIL=fail, LISTING=listing))
    logged = [line.split(" ", 1)[1] for line in calls.read_text().splitlines()]
    assert logged[0].startswith("-m companion.book.nbcache book/01_")  # every chapter, asked
    nbval = [line for line in logged if line.startswith("-m pytest")]
    if "nbcache" in fail:  # the listing failed: nothing runs, and the target fails
        assert run.returncode != 0 and nbval == [] and not key.exists()
    elif not listing:  # the cache has every chapter: pytest does not start
        assert run.returncode == 0 and nbval == [] and key.exists()
        assert "The execution cache has every chapter: nothing to execute." in run.stdout
    else:  # those chapters alone, as listed; the key only once they passed
        assert nbval == [f"-m pytest {' '.join(listing.split())} --nbval-lax -q -n 2 --dist loadfile"]
        assert (run.returncode == 0) == key.exists() == (not fail)
