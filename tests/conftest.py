"""Shared fixtures for the companion test-suite.

Matplotlib is forced onto the non-interactive Agg backend before anything
imports pyplot, and the helpers here build tiny, learnable data sets so that
every training run in the suite takes a fraction of a second.
"""

import os

os.environ["MPLBACKEND"] = "Agg"

import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REAL_DATA_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def pytest_ignore_collect(collection_path, config):
    """Collect only test files here; scripts (the browser test, benchmarks, probes) run when named.

    ``--doctest-modules`` would otherwise import every script under ``tests/``; the
    browser test, for one, needs a built site (``make site-test``).
    """
    if collection_path.suffix == ".py" and collection_path.parent == pathlib.Path(__file__).parent \
            and not collection_path.name.startswith(("test_", "conftest")):
        return not any(collection_path.name in str(arg) for arg in config.args)
    return None


def make_tiny_data(*, n_train=256, n_valid=64, n_test=96, n_features=8, n_classes=3, seed=0):
    """A small, linearly separable-ish classification problem with the attributes `train` needs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(n_classes, n_features))

    def split(n):
        y = rng.integers(0, n_classes, size=n)
        x = centers[y] + rng.normal(size=(n, n_features))
        return x.astype(np.float32), y.astype(np.uint8)

    x_train, y_train = split(n_train)
    x_valid, y_valid = split(n_valid)
    x_test, y_test = split(n_test)
    return types.SimpleNamespace(x_train=x_train, y_train=y_train, x_valid=x_valid,
                                 y_valid=y_valid, x_test=x_test, y_test=y_test)


@pytest.fixture(scope="session")
def make_data():
    """The factory itself, for tests that want other sizes."""
    return make_tiny_data


@pytest.fixture
def tiny_data():
    return make_tiny_data()


# Where a copy of the real data set may be, read before any test changes the environment.
_REAL_CANDIDATES = [REAL_DATA_DIR]
if os.environ.get("COMPANION_DATA_DIR"):
    _REAL_CANDIDATES.append(pathlib.Path(os.environ["COMPANION_DATA_DIR"]))
_REAL_CANDIDATES.append(pathlib.Path(os.environ.get("KERAS_HOME", pathlib.Path.home() / ".keras"))
                        / "datasets" / "fashion-mnist")


@pytest.fixture(scope="session")
def real_data_dir():
    """A real copy of Fashion-MNIST (Debian's first); tests that need one skip without it."""
    for directory in _REAL_CANDIDATES:
        if all((directory / name).is_file() for name in FILE_NAMES):
            return directory
    pytest.skip(f"real Fashion-MNIST not found in {[str(d) for d in _REAL_CANDIDATES]}")


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch):
    """Tests set the package's environment variables themselves when they need them."""
    monkeypatch.delenv("COMPANION_PROFILE", raising=False)
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("COMPANION_LEDGER_DIR", raising=False)  # no test writes a ledger
    monkeypatch.delenv("COMPANION_CHAPTER", raising=False)     # unless it asks for one


def _clean_env(**overrides):
    env = dict(os.environ)
    # The subprocess must show the package's own behaviour, not ours.
    for name in ("TF_CPP_MIN_LOG_LEVEL", "COMPANION_PROFILE", "COMPANION_DATA_DIR",
                 "COMPANION_LEDGER_DIR", "COMPANION_CHAPTER", "PYTHONWARNINGS", "TF_CONFIG"):
        env.pop(name, None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


@pytest.fixture
def python_env():
    """``python_env(**overrides)``: the environment ``run_python`` gives a child process."""
    return _clean_env


@pytest.fixture
def run_python(tmp_path):
    """Run ``python <args>`` in a fresh interpreter (cwd: a temporary directory)."""

    def run(*args, env=None, timeout=180):
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=_clean_env(**(env or {})),
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def course_seed():
    """Set the course seed (as ``cp.setup`` does) for one test, and restore it after."""
    from companion.lab import seeding

    before = seeding.course_seed()
    yield seeding.set_course_seed
    seeding.set_course_seed(before)
