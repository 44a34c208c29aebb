import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

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
    import os
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
    # companion.train compiles with several steps per call, which Keras cannot run
    # over several replicas: it trains with one, and says so
    import types
    import warnings
    with mirrored.scope():
        net = companion.build_mlp(depth=1, width=4, example_shape=(3,), n_classes=2)
    split = types.SimpleNamespace(x_train=x, y_train=y, x_valid=x[:16], y_valid=y[:16])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trained = companion.train(net, split, epochs=1, batch_size=8, evaluate=False)
    report["train_loss"] = trained.history["loss"].tolist()
    report["train_steps_per_execution"] = net.steps_per_execution
    report["train_warnings"] = [str(w.message) for w in caught]
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
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                                          "task": {"type": "worker", "index": 0}})
    try:
        runtime.strategy()  # too late: TensorFlow is initialised now
        report["late_multi_worker"] = None
    except RuntimeError as err:
        report["late_multi_worker"] = str(err)
    print("REPORT" + json.dumps(report))
""")


def test_split_cpu_and_mirrored_strategy_in_subprocess(run_python):
    done = run_python("-c", SPLIT_SCRIPT)
    assert done.returncode == 0, done.stderr
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("REPORT")][-1]
    report = json.loads(line[len("REPORT"):])
    assert report["replicas"] == 2
    assert len(report["loss"]) == 1 and np.isfinite(report["loss"][0])
    assert np.isfinite(report["train_loss"]).all()
    assert report["train_steps_per_execution"] == 1
    assert [w for w in report["train_warnings"] if "keras-team/keras#19246" in w
            and "instead of 32" in w]
    assert report["bad_device"] is not None
    assert "/gpu:7" in report["bad_device"]
    assert "cpu:0" in report["bad_device"] and "cpu:1" in report["bad_device"]
    assert report["late_split"] is not None and "fresh process" in report["late_split"]
    assert report["late_multi_worker"] is not None
    assert "before cp.setup()" in report["late_multi_worker"]


IMPORT_SCRIPT = (
    "import numpy as np; import companion; companion.setup(seed=1, announce=False); "
    "import keras; keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])(np.ones((1,3)))"
)


def test_import_and_first_layer_write_nothing_to_stderr(run_python):
    done = run_python("-c", IMPORT_SCRIPT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == ""


# As every chapter starts: companion, then keras, which starts TensorFlow before setup.
# Before that, importing the package and its tools that never train starts no TensorFlow;
# after it, Keras knows the companion's saved objects.
KERAS_FIRST_SCRIPT = textwrap.dedent("""
    import sys
    import companion
    import companion.book.nbcache, companion.book.reader_notebooks
    started = sorted({"tensorflow", "keras"} & set(sys.modules))
    assert not started, f"importing companion started {started}"
    import keras
    import numpy as np
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])(np.ones((1, 3)))
    # keras.models.load_model must find the companion's objects without a cp.<name> first
    for name in ("MCDropout", "OneCycleSchedule", "CycledNadam"):
        assert keras.saving.get_registered_object(f"companion>{name}") is not None, name
    companion.setup(seed=1, announce=False)
""")


def test_companion_starts_no_tensorflow_and_keras_after_it_writes_nothing(run_python):
    done = run_python("-c", KERAS_FIRST_SCRIPT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == ""


def test_a_failing_start_up_step_warns_and_the_import_stands():
    from companion import _quiet

    def broken():
        raise OSError("no such device")

    with pytest.warns(RuntimeWarning, match="could not list devices: OSError: no such device"):
        _quiet._warn_and_go_on("list devices", broken)


def test_silenced_stderr_replays_what_a_failing_block_wrote(capfd):
    from companion._quiet import silenced_stderr

    with silenced_stderr():
        os.write(2, b"chatter of a working import\n")
    with pytest.raises(ImportError), silenced_stderr():
        os.write(2, b"why the import failed\n")
        raise ImportError("failed")
    assert capfd.readouterr().err == "why the import failed\n"


# --- several machines: MultiWorkerMirroredStrategy from TF_CONFIG ---------------------

def _tf_config(workers, index, task_type="worker"):
    return json.dumps({"cluster": {"worker": workers},
                       "task": {"type": task_type, "index": index}})


TWO = ["127.0.0.1:20001", "127.0.0.1:20002"]


@pytest.mark.parametrize("text, complaint", [
    ("{cluster: worker}", "not valid JSON"),
    ("", "not valid JSON"),  # TensorFlow's own cluster resolver fails on it too
    ('["127.0.0.1:20001"]', "JSON object"),
    ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "non-empty list"),
    ('{"cluster": {"worker": "127.0.0.1:20001"}, "task": {"type": "worker", "index": 0}}',
     "non-empty list"),
    ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}',
     '"host:port"'),
    ('{"cluster": {"chief": ["127.0.0.1:20000"], "worker": ["127.0.0.1:20001"]}, '
     '"task": {"type": "worker", "index": 0}}', "['chief']"),
    (json.dumps({"cluster": {"worker": TWO[:1] * 2}, "task": {"type": "worker", "index": 0}}),
     "twice"),
    (json.dumps({"cluster": {"worker": TWO}}), '"task"'),
    (_tf_config(TWO, 0, task_type="ps"), "'ps'"),
    (_tf_config(TWO, 2), "index 2"),
    (_tf_config(TWO, -1), "index -1"),
    (_tf_config(TWO, "0"), "index '0'"),
    (_tf_config(TWO, True), "index True"),
])
def test_strategy_rejects_a_malformed_tf_config(monkeypatch, text, complaint):
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(ValueError) as info:
        runtime.strategy()
    message = str(info.value)
    assert message.startswith("TF_CONFIG ") and complaint in message
    assert repr(text) in message  # the bad value itself


def test_strategy_rejects_devices_with_a_multi_worker_tf_config(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", _tf_config(TWO, 0))
    with pytest.raises(ValueError, match=r"devices=\['/cpu:0'\].*TF_CONFIG"):
        runtime.strategy(devices=["/cpu:0"])


@pytest.mark.skipif(len(tf.config.list_physical_devices("GPU")) > 1, reason="several GPUs")
def test_one_worker_tf_config_keeps_the_one_machine_strategy(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", _tf_config(TWO[:1], 0))
    assert runtime.strategy() is tf.distribute.get_strategy()
    assert len(runtime.strategy(devices=["/cpu:0"]).extended.worker_devices) == 1


# A worker: the course's order (strategy first, then setup), a linear softmax
# classifier trained by Keras's fit on the GLOBAL batch; tf.data's DATA sharding gives
# each worker its half of every global batch. It also records which examples it got.
WORKER_SCRIPT = textwrap.dedent("""
    import os
    import sys
    import numpy as np
    from companion.book import runtime

    mirrored = runtime.strategy()  # before anything starts TensorFlow
    import companion
    from companion._quiet import keras, tf

    companion.setup(seed=0, announce=False)
    given = np.load(sys.argv[1])
    x, y = given["x"], given["y"]
    global_batch, epochs = int(given["global_batch"]), int(given["epochs"])

    def batches(*arrays):
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        dataset = tf.data.Dataset.from_tensor_slices(arrays)
        return dataset.batch(global_batch, drop_remainder=True).with_options(options)

    seen = [mirrored.experimental_local_results(index)[0].numpy()
            for (index,) in mirrored.experimental_distribute_dataset(batches(np.arange(len(x))))]
    with mirrored.scope():
        model = keras.Sequential([keras.Input((x.shape[1],)),
                                  keras.layers.Dense(int(given["classes"]))])
        model.compile(optimizer=keras.optimizers.SGD(float(given["learning_rate"])),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.set_weights([given["kernel"], given["bias"]])
    model.fit(batches(x, y), epochs=epochs, shuffle=False, verbose=0)
    kernel, bias = model.get_weights()
    np.savez(sys.argv[2], kernel=kernel, bias=bias, seen=np.stack(seen),
             replicas=mirrored.num_replicas_in_sync, same=runtime.strategy() is mirrored)
    # The results are saved; skip TensorFlow's multi-worker teardown (gRPC server,
    # coordination service), which spends 6-9 s in C++ after the last Python line.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
""")


def _free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held together while chosen, so distinct)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _run_together(commands, envs, cwd, timeout):
    """Run processes side by side; stop all when one fails or time runs out.

    Returns each one's (return code, stderr). A worker whose peer died waits for it
    in a collective, so a failure or the deadline kills the others.
    """
    logs = [cwd / f"stderr-{i}.txt" for i in range(len(commands))]
    processes = []
    try:
        for command, env, log in zip(commands, envs, logs):
            with open(log, "w") as sink:
                processes.append(subprocess.Popen(command, cwd=cwd, env=env,
                                                  stdout=subprocess.DEVNULL, stderr=sink))
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in processes):
            if any(p.poll() not in (None, 0) for p in processes):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"workers still running after {timeout} s: "
                                     + " | ".join(log.read_text()[-2000:] for log in logs))
            time.sleep(0.1)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
    return [(p.returncode, log.read_text()) for p, log in zip(processes, logs)]


N_CLASSES = 3


def _softmax_regression_sgd(x, y, kernel, bias, *, batch, epochs, learning_rate):
    """Plain SGD on the mean cross-entropy of softmax(x W + b), in float64, in order.

    Returns the final (W, b) and the largest |weight| met on the way.
    """
    kernel, bias = kernel.astype(np.float64), bias.astype(np.float64)
    largest = max(np.abs(kernel).max(), np.abs(bias).max())
    for _ in range(epochs):
        for start in range(0, len(x) - batch + 1, batch):
            xb, yb = x[start:start + batch].astype(np.float64), y[start:start + batch]
            logits = xb @ kernel + bias
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(batch), yb] -= 1.0  # d(mean loss)/d(logits), times batch
            kernel -= learning_rate * (xb.T @ p) / batch
            bias -= learning_rate * p.sum(axis=0) / batch
            largest = max(largest, np.abs(kernel).max(), np.abs(bias).max())
    return kernel, bias, largest


def _float32_training_tolerance(x, *, batch, steps, learning_rate, largest_weight):
    """Bound on max |W_a - W_b| between two float32 runs of the same SGD that sum
    the batch in different orders (one process: one sum over the global batch;
    two workers: two half-batch sums, then a ring all-reduce; and matmul kernels
    that may block a batch of 32 differently from one of 64).

    With u = 2**-24 (float32 unit roundoff) and gamma(n) = n u / (1 - n u), to first
    order in u:
    - a sum of n terms, in any order, is within gamma(n) * sum|terms| of exact;
      a gradient entry is (1/B) sum_i x~_ij (p_ic - y_ic) (x~: x with a 1 for the
      bias), |p - y| <= 1, so each run's entry is within gamma(B) * G of the exact
      one, G = max_j mean_i |x~_ij| over the batches;
    - a logit sums d + 1 terms: error <= gamma(d + 1) * Z, Z = max_i |x~_i|_1 * the
      largest |weight| on the way; softmax moves by at most twice the logits' error
      in max-norm; allow 8 u more for exp, its sum and the division. Through the
      matmul with x~ that adds G * (2 gamma(d + 1) Z + 8u) to a gradient entry;
    - the two runs' gradients then differ by at most 2 G (gamma(B) + 2 gamma(d+1) Z
      + 8u) per entry, eta times that in the step; rounding the update adds 2 u
      (|w| + eta G) per entry;
    - from equal weights, one exact SGD step on a convex L-smooth loss is
      non-expansive (|T(a) - T(b)| <= |a - b|, Frobenius norm) when eta L <= 2;
      for softmax cross-entropy L <= lambda_max(x~' x~ / B) / 2 (the Hessian of the
      loss in the logits, diag(p) - p p', has norm <= 1/2: Boehning 1992), checked by
      the caller. So differences
      made at each step add up without growing: over T steps and N = (d+1) k
      entries, |W_a - W_b|_max <= |.|_F <= T sqrt(N) * (per-entry step bound).
    """
    u = 2.0 ** -24

    def gamma(n):
        return n * u / (1 - n * u)

    n_used = (len(x) // batch) * batch
    augmented = np.hstack([x[:n_used], np.ones((n_used, 1), np.float32)]).astype(np.float64)
    per_batch = np.abs(augmented).reshape(-1, batch, augmented.shape[1]).mean(axis=1)
    g = per_batch.max()
    z = np.abs(augmented).sum(axis=1).max() * largest_weight
    d = x.shape[1]
    gradient = 2 * g * (gamma(batch) + 2 * gamma(d + 1) * z + 8 * u)
    per_entry = learning_rate * gradient + 2 * u * (largest_weight + learning_rate * g)
    return steps * np.sqrt(augmented.shape[1] * N_CLASSES) * per_entry


def test_two_workers_match_one_process_on_the_global_batch(tmp_path, python_env):
    global_batch, epochs, learning_rate = 64, 3, 0.5
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = np.argmax(x @ rng.normal(size=(8, N_CLASSES)), axis=1).astype(np.uint8)
    kernel0 = rng.normal(scale=0.1, size=(8, N_CLASSES)).astype(np.float32)
    bias0 = np.zeros(N_CLASSES, np.float32)
    steps = epochs * (len(x) // global_batch)
    np.savez(tmp_path / "given.npz", x=x, y=y, kernel=kernel0, bias=bias0,
             global_batch=global_batch, epochs=epochs, learning_rate=learning_rate,
             classes=N_CLASSES)
    (tmp_path / "worker.py").write_text(WORKER_SCRIPT)

    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    results = _run_together(
        [[sys.executable, "worker.py", "given.npz", f"out-{i}.npz"] for i in range(2)],
        # CPU workers, as on the CPU machines this stands for (two processes cannot
        # share one GPU through NCCL).
        [python_env(TF_CONFIG=_tf_config(workers, i), CUDA_VISIBLE_DEVICES="")
         for i in range(2)],
        tmp_path, timeout=120)
    for code, stderr in results:
        assert code == 0, stderr[-3000:]
    out = [np.load(tmp_path / f"out-{i}.npz") for i in range(2)]
    assert [int(o["replicas"]) for o in out] == [2, 2]
    assert all(bool(o["same"]) for o in out)

    # How the data were spread: worker i got the i-th half of every global batch.
    per_worker = global_batch // 2
    for i, o in enumerate(out):
        starts = np.arange(0, len(x), global_batch)[:, None] + i * per_worker
        assert np.array_equal(o["seen"], starts + np.arange(per_worker))

    # Both workers hold the same weights: the all-reduce hands both the same sum.
    assert np.array_equal(out[0]["kernel"], out[1]["kernel"])
    assert np.array_equal(out[0]["bias"], out[1]["bias"])

    # One process, default strategy, the same data and global batch, on the CPU too.
    with tf.device("/cpu:0"):
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(N_CLASSES)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.set_weights([kernel0, bias0])
        model.fit(x, y, batch_size=global_batch, epochs=epochs, shuffle=False, verbose=0)
    single = model.get_weights()

    exact_kernel, exact_bias, largest = _softmax_regression_sgd(
        x, y, kernel0, bias0, batch=global_batch, epochs=epochs, learning_rate=learning_rate)
    # The bound's hypothesis: each batch's SGD step is non-expansive (eta L <= 2).
    augmented = np.hstack([x, np.ones((len(x), 1), np.float32)]).astype(np.float64)
    for start in range(0, len(x), global_batch):
        xb = augmented[start:start + global_batch]
        assert learning_rate * np.linalg.eigvalsh(xb.T @ xb / global_batch).max() / 2 <= 2
    # Twice the float64 run's largest weight bounds the float32 runs' (they stay within
    # the tolerance of it, far below that margin).
    tolerance = _float32_training_tolerance(x, batch=global_batch, steps=steps,
                                            learning_rate=learning_rate,
                                            largest_weight=2 * largest)
    two_workers = [out[0]["kernel"], out[0]["bias"]]

    def gap(a, b):
        return max(np.abs(np.asarray(p, np.float64) - q).max() for p, q in zip(a, b))

    assert gap(single, [exact_kernel, exact_bias]) <= tolerance
    assert gap(two_workers, single) <= tolerance

    # The check can fail: training moved the weights, and a worker that trained on its
    # own halves without the all-reduce would end far away. (A worker that read every
    # example would not: its mean gradient is the same; the `seen` check covers it.)
    mine = np.concatenate([np.arange(s, s + per_worker) for s in range(0, len(x), global_batch)])
    alone = _softmax_regression_sgd(x[mine], y[mine], kernel0, bias0, batch=per_worker,
                                    epochs=epochs, learning_rate=learning_rate)
    print(f"max |weight difference|: two workers vs one process {gap(two_workers, single):.3g}, "
          f"one process vs float64 {gap(single, [exact_kernel, exact_bias]):.3g}; "
          f"tolerance {tolerance:.3g}; moved by training {gap([kernel0, bias0], single):.3g}, "
          f"a worker alone would be off by {gap(alone[:2], single):.3g}")
    assert gap([kernel0, bias0], single) > 10 * tolerance
    assert gap(alone[:2], single) > 10 * tolerance


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
