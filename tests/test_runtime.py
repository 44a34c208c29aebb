import json
import re
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import companion
from companion.book import runtime


@pytest.fixture(autouse=True)
def _float32_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("seed", [-1, -100, True, False, 1.0, 2.5, "3", None, [1]])
def test_setup_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        companion.setup(seed=seed, announce=False)


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="needs a CPU-only machine")
def test_mixed_precision_without_gpu_raises_and_leaves_policy_alone():
    with pytest.raises(ValueError, match="GPU"):
        companion.setup(seed=1, mixed_precision=True, announce=False)
    assert keras.mixed_precision.global_policy().name == "float32"


def test_summary_line_contents(monkeypatch, capsys):
    monkeypatch.setenv("COMPANION_PROFILE", "quick")
    line = companion.setup(seed=7, announce=False)
    assert capsys.readouterr().out == ""
    assert tf.__version__ in line
    assert keras.__version__ in line
    assert "quick" in line
    assert "seed 7" in line
    assert "mixed_float16" not in line


def test_announce_prints_the_returned_line(monkeypatch, capsys):
    monkeypatch.setenv("COMPANION_PROFILE", "full")
    line = companion.setup(seed=3)
    assert capsys.readouterr().out.strip() == line.strip()
    assert "full" in line and "seed 3" in line


def _train_once(seed, data):
    companion.setup(seed=seed, announce=False)
    model = companion.build_mlp(depth=2, width=16, example_shape=(8,), n_classes=3)
    companion.train(model, data, epochs=1, batch_size=32, learning_rate=0.1, evaluate=False)
    return [np.array(w) for w in model.get_weights()]


def test_seeded_runs_are_identical_and_seed_matters(make_data):
    data = make_data(n_train=320)
    first = _train_once(7, data)
    second = _train_once(7, data)
    other = _train_once(8, data)
    assert len(first) == len(second) == 6
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    assert not all(a.shape == c.shape and np.array_equal(a, c) for a, c in zip(first, other))


def test_training_changes_weights(make_data):
    # guards the test above: equality must not come from training doing nothing
    data = make_data(n_train=320)
    companion.setup(seed=7, announce=False)
    model = companion.build_mlp(depth=2, width=16, example_shape=(8,), n_classes=3)
    before = [np.array(w) for w in model.get_weights()]
    companion.train(model, data, epochs=1, batch_size=32, learning_rate=0.1, evaluate=False)
    after = model.get_weights()
    assert all(not np.array_equal(b, a) for b, a in zip(before, after) if b.ndim == 2)


@pytest.mark.parametrize("name, expected", [
    ("/cpu:1", "cpu:1"),
    ("/device:CPU:1", "cpu:1"),
    ("/job:localhost/replica:0/task:0/device:CPU:0", "cpu:0"),
    ("/GPU:3", "gpu:3"),
    ("/cpu", "cpu:0"),
])
def test_canonical_device_names(name, expected):
    assert runtime._canonical(name) == expected


def test_strategy_rejects_unknown_device_in_process():
    with pytest.raises(ValueError) as info:
        runtime.strategy(devices=["/gpu:7"])
    message = str(info.value)
    assert "/gpu:7" in message and "cpu:0" in message


def test_strategy_rejects_empty_device_list():
    with pytest.raises(ValueError):
        runtime.strategy(devices=[])


@pytest.mark.skipif(len(tf.config.list_physical_devices("GPU")) > 1, reason="several GPUs")
def test_default_strategy_has_one_replica():
    assert runtime.strategy().num_replicas_in_sync == 1


@pytest.mark.parametrize("n", [0, -2, True, 1.5, "2"])
def test_split_cpu_rejects_bad_counts(n):
    with pytest.raises(ValueError):
        runtime.split_cpu(n)


SPLIT_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import companion
    from companion.book import runtime

    runtime.split_cpu(2)
    companion.setup(seed=1, announce=False)
    report = {}
    mirrored = runtime.strategy(devices=["/cpu:0", "/cpu:1"])
    report["replicas"] = mirrored.num_replicas_in_sync
    with mirrored.scope():
        model = companion.build_mlp(depth=1, width=4, example_shape=(3,), n_classes=2)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = rng.integers(0, 2, size=64)
    report["loss"] = model.fit(x, y, epochs=1, batch_size=16, verbose=0).history["loss"]
    try:
        runtime.strategy(devices=["/gpu:7"])
        report["bad_device"] = None
    except ValueError as err:
        report["bad_device"] = str(err)
    try:
        runtime.split_cpu(3)  # too late: TensorFlow is initialised now
        report["late_split"] = None
    except RuntimeError as err:
        report["late_split"] = str(err)
    print("REPORT" + json.dumps(report))
""")


def test_split_cpu_and_mirrored_strategy_in_subprocess(run_python):
    done = run_python("-c", SPLIT_SCRIPT)
    assert done.returncode == 0, done.stderr
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("REPORT")][-1]
    report = json.loads(line[len("REPORT"):])
    assert report["replicas"] == 2
    assert len(report["loss"]) == 1 and np.isfinite(report["loss"][0])
    assert report["bad_device"] is not None
    assert "/gpu:7" in report["bad_device"]
    assert "cpu:0" in report["bad_device"] and "cpu:1" in report["bad_device"]
    assert report["late_split"] is not None and "fresh process" in report["late_split"]


IMPORT_SCRIPT = (
    "import numpy as np; import companion; companion.setup(seed=1, announce=False); "
    "import keras; keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])(np.ones((1,3)))"
)


def test_import_and_first_layer_write_nothing_to_stderr(run_python):
    done = run_python("-c", IMPORT_SCRIPT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == ""


# --- bad input: a ValueError or TypeError naming the argument, the value, what is valid --

@pytest.mark.parametrize("call, error, message", [
    (lambda: companion.setup(seed=0, announce="no"), ValueError,
     "announce must be True or False, got 'no'"),
    (lambda: companion.setup(seed=0, deterministic=1, announce=False), ValueError,
     "deterministic must be True or False, got 1"),
    (lambda: runtime.strategy("/cpu:0"), TypeError,
     "devices must be a list of device names such as ['/cpu:0'], got str '/cpu:0'"),
    (lambda: runtime.strategy([0]), TypeError, "devices must hold device names (strings), got [0]"),
    (lambda: runtime.split_cpu(0), ValueError, "n must be an integer >= 1, got 0"),
])
def test_bad_inputs_name_the_argument(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
