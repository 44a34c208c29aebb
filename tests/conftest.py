"""Shared fixtures for the companion test-suite.

Matplotlib is forced onto the non-interactive Agg backend before anything
imports pyplot, and the helpers here build tiny, learnable data sets so that
every training run in the suite takes a fraction of a second.
"""

import os

os.environ["MPLBACKEND"] = "Agg"

# The test matrix (make test-matrix) runs the suite with 1 and 2 intra-op threads:
# COMPANION_TEST_THREADS=n sets TensorFlow's pool before anything creates a tensor, and
# TF_NUM_INTRAOP_THREADS (which TensorFlow reads at start-up) passes the same number on
# to the interpreters and notebook kernels that tests start.
TEST_THREADS = os.environ.get("COMPANION_TEST_THREADS", "").strip()
if TEST_THREADS:
    os.environ["TF_NUM_INTRAOP_THREADS"] = TEST_THREADS
    from companion._quiet import tf as _tf  # noqa: E402

    _tf.config.threading.set_intra_op_parallelism_threads(int(TEST_THREADS))

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


def notebooks_first(items):
    """``items`` with each file's tests together: the notebooks first, then the other files,
    each group with the files of most tests first.

    ``make test`` hands pytest-xdist whole files (``--dist loadfile``) in this order
    (``--no-loadscope-reorder``); a worker is given the next file when two or fewer of
    its tests are left to run. The chapters take about a minute each, most other files
    seconds. In xdist's own order (the files of most tests first, chapters and test files
    mixed), chapter 9, the last chapter handed out, kept one worker busy for 23 s after
    the other had run out of work (one run here). With the chapters first, the short
    files fill the end. Within a file, the order is pytest's.
    """
    files = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    order = sorted(files, key=lambda name: (not name.endswith(".ipynb"), -len(files[name])))
    return [item for name in order for item in files[name]]


def pytest_collection_modifyitems(config, items):
    """The order of :func:`notebooks_first`, for the whole run (notebooks included)."""
    items[:] = notebooks_first(items)


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


# Unit roundoff of float32: a correctly rounded operation is off by at most this factor.
FLOAT32_U = 2.0 ** -24


def float32_gamma(n):
    """Higham's gamma_n = n u / (1 - n u): a dot product of length n computed in float32, in
    any summation order, is within gamma_n * sum |a_i b_i| of the exact value (Higham,
    *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 3.1)."""
    return n * FLOAT32_U / (1 - n * FLOAT32_U)


def dense_forward_bound(model, x):
    """A bound on |float32 output - exact output| of a stack of Dense layers, per output.

    Batch shape, thread count and kernel (oneDNN or Eigen) change the order in which a
    layer sums its ``fan_in`` products, and so the rounding, but every order obeys the
    bound of :func:`float32_gamma`. Propagated layer by layer in float64: a Dense layer
    with weights ``W`` and bias ``b`` maps an input known to within ``e`` (exact value
    ``h``) to ``W h + b`` within ``|W| e + gamma_{fan_in + 1} (|W| |h| + |b|)`` (plus a
    rounding of its activation); ReLU and the identity are 1-Lipschitz and exact; a
    softmax moves each probability ``p`` by at most a factor ``exp(2 E)`` when every
    logit moves by at most ``E``, and rounds each output by at most ``gamma_{k + 2}``
    relative (k exponentials summed, one division). Two computations of the same model
    then differ by at most twice the returned bound.

    Returns:
        ``(exact, bound)``: the float64 outputs and the bound, arrays of the model's
        output shape.
    """
    from companion._quiet import keras

    h = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    error = np.zeros_like(h)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Flatten) or isinstance(layer, keras.layers.InputLayer):
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(f"dense_forward_bound handles Flatten and Dense layers only, "
                             f"not {type(layer).__name__}")
        w = np.asarray(layer.kernel, dtype=np.float64)
        b = np.asarray(layer.bias, dtype=np.float64) if layer.use_bias else 0.0
        z = h @ w + b
        error = error @ np.abs(w) + float32_gamma(w.shape[0] + 1) * (np.abs(h) @ np.abs(w)
                                                                      + np.abs(b))
        name = keras.activations.serialize(layer.activation)
        if name == "relu":
            h = np.maximum(z, 0.0)
        elif name == "linear":
            h = z
        elif name == "softmax":
            spread = 2 * error.max(axis=1, keepdims=True)
            h = np.exp(z - z.max(axis=1, keepdims=True))
            h /= h.sum(axis=1, keepdims=True)
            error = h * (np.expm1(spread) + float32_gamma(w.shape[1] + 2))
        else:
            raise ValueError(f"dense_forward_bound handles relu, linear and softmax, not {name}")
        error = error + FLOAT32_U * np.abs(h)  # the float32 result is rounded once more
    return h, error


@pytest.fixture
def forward_bound():
    """:func:`dense_forward_bound`, for tests that compare outputs across batch shapes."""
    return dense_forward_bound


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


def pytest_terminal_summary(terminalreporter):
    """Say which numerical set-up the suite ran under: oneDNN on or off, intra-op threads.

    From the environment, which sets both in every process of the run (this one, the
    pytest-xdist workers, the notebook kernels): importing TensorFlow here to ask it would
    cost seconds in runs that never import it, such as ``make site-test``.
    """
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS")
    terminalreporter.write_line(
        f"numerics: TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset (on)')}"
        f", intra-op threads {threads or 'TensorFlow default (all cores)'}"
        f" (COMPANION_TEST_THREADS={TEST_THREADS or 'unset'})")


@pytest.fixture
def count_traces():
    """``count_traces(model)``: a list that gets an entry each time ``model``'s train step is
    traced (called in graph mode; an eager call would add ``True``)."""
    from companion._quiet import tf

    def count(model):
        traces = []
        step = model.train_step

        def counted(data):
            traces.append(tf.executing_eagerly())
            return step(data)

        model.train_step = counted
        return traces

    return count
