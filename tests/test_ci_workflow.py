"""The GitHub Actions workflow (.github/workflows/ci.yml) stays in step with .ci/run.

``.ci/run`` is the one definition of what CI checks; the workflow must call it and
run no test of its own, cache what the Makefile's build reuses, and publish the
website that the Makefile builds. These tests parse the YAML and the files it
depends on, so a change to one of them that the other does not follow fails here.
"""

import pathlib
import re
import shlex

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"
# Commands that test: any of them in the workflow, outside .ci/run, would be a second
# definition of CI.
TEST_COMMANDS = re.compile(r"\b(pytest|nbval|make\s+(test|site-test)|site_check)\b")


def workflow():
    data = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def run_steps(job):
    return [step["run"] for step in job["steps"] if "run" in step]


def cached_paths(job, key_prefix):
    for step in job["steps"]:
        if str(step.get("uses", "")).startswith("actions/cache@") and \
                step["with"]["key"].startswith(key_prefix):
            return step["with"]["path"].strip().splitlines(), step["with"]["key"]
    raise AssertionError(f"no actions/cache step with a key starting {key_prefix!r}")


def makefile_variable(name):
    match = re.search(rf"^{name}\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert match, f"Makefile defines no {name}"
    return match.group(1)


def ci_run_book_command():
    """The ``make book ...`` line of .ci/run, as arguments."""
    lines = [line for line in CI_RUN.read_text().splitlines()
             if line.strip().startswith("make book")]
    assert len(lines) == 1, f".ci/run should build the book once, found {lines}"
    return shlex.split(lines[0])


def test_runs_on_pushes_to_main_and_pull_requests():
    triggers = workflow()["on"]
    assert "main" in triggers["push"]["branches"]
    assert "pull_request" in triggers


def test_the_test_job_runs_ci_run_and_nothing_else():
    test_job = workflow()["jobs"]["test"]
    assert run_steps(test_job) == ["bash .ci/run"]
    assert CI_RUN.read_text().startswith("#!/usr/bin/env bash")


def test_no_other_step_runs_tests():
    for name, job in workflow()["jobs"].items():
        for command in run_steps(job):
            if command != "bash .ci/run":
                assert not TEST_COMMANDS.search(command), (name, command)


def test_pip_cache_is_where_pip_writes():
    data = workflow()
    pip_dir = data["env"]["PIP_CACHE_DIR"]
    for name in ("test", "site"):
        paths, _ = cached_paths(data["jobs"][name], "pip-for-uv-")
        assert paths == ["${{ env.PIP_CACHE_DIR }}"], name
    assert pip_dir.startswith("/")


def test_every_job_installs_with_what_ci_run_uses_by_default():
    # .ci/run sets INSTALLER when it is unset; the site job runs make itself, with the
    # workflow's INSTALLER, which no job or step may set otherwise
    data = workflow()
    ci_default = re.search(r'^export INSTALLER="\$\{INSTALLER:-(\w+)\}"$', CI_RUN.read_text(), re.M)
    assert ci_default, ".ci/run sets no default INSTALLER"
    assert data["env"]["INSTALLER"] == ci_default.group(1) == "uv"
    for name, job in data["jobs"].items():
        for scope in [job, job.get("container") or {}, *job.get("steps", [])]:
            assert "INSTALLER" not in scope.get("env", {}), name


def test_execution_cache_holds_what_the_makefile_keeps():
    # Without the key file the Makefile empties a restored cache before building.
    expected = {"_build/.jupyter_cache", makefile_variable("KEY_FILE")}
    data = workflow()
    profile = dict(arg.split("=", 1) for arg in ci_run_book_command() if "=" in arg)["PROFILE"]
    for job, prefix in (("test", f"jupyter-cache-{profile}-"), ("site", "jupyter-cache-full-")):
        paths, key = cached_paths(data["jobs"][job], prefix)
        assert set(paths) == expected, job
        # the notebooks and the package that they execute are part of the key
        assert "book/*.ipynb" in key and "companion/**/*.py" in key, key


def test_main_publishes_the_full_site_built_as_strictly_as_ci():
    data = workflow()
    site, deploy = data["jobs"]["site"], data["jobs"]["deploy"]
    assert site["needs"] == "test"
    assert "refs/heads/main" in site["if"] and "push" in site["if"]
    ci_flags = [arg for arg in ci_run_book_command() if arg.startswith("BOOK_FLAGS=")]
    book = [shlex.split(c) for c in run_steps(site) if c.startswith("make book")]
    assert book == [["make", "book", "PROFILE=full", *ci_flags]]
    # the PDF first, so that the website build finds it, copies it and links it
    commands = [c.split()[:2] for c in run_steps(site)]
    assert commands.index(["make", "pdf"]) < commands.index(["make", "book"])
    upload = [s for s in site["steps"]
              if str(s.get("uses", "")).startswith("actions/upload-pages-artifact@")]
    assert [s["with"]["path"] for s in upload] == ["_build/html"]
    assert deploy["needs"] == "site"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert data["permissions"] == {"contents": "read"}


def test_container_python_is_one_the_package_supports():
    pyproject = (ROOT / "pyproject.toml").read_text()
    low, high = re.search(r'requires-python = ">=3\.(\d+),<3\.(\d+)"', pyproject).groups()
    for name in ("test", "site"):
        image = workflow()["jobs"][name]["container"]["image"]
        minor = int(re.fullmatch(r"python:3\.(\d+)-bookworm", image).group(1))
        assert int(low) <= minor < int(high), image
