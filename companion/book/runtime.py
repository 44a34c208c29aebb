"""Session set-up: quiet logs, seeds, determinism, devices, distribution."""

import json
import logging
import os

from companion._quiet import keras, tf
from companion.book.profiles import profile as active_profile
from companion.book.style import use_book_style
from companion.lab.seeding import set_course_seed
from companion.tools.checks import check_bool, check_int


def setup(seed=42, *, mixed_precision=False, deterministic=True, announce=True):
    """Prepare a reproducible, quiet TensorFlow session and describe it in one line.

    Seeds Python, NumPy and TensorFlow with :func:`keras.utils.set_random_seed`
    and makes ``seed`` the default seed of every experiment of the course
    (:mod:`companion.lab.seeding`: drivers and multi-seed loops derive theirs
    from it unless given one),
    turns on op determinism, silences TensorFlow's Python loggers, applies the
    book's plot style and, on a GPU, enables memory growth (and mixed precision
    when asked).

    Args:
        seed: a non-negative integer.
        mixed_precision: use the ``"mixed_float16"`` policy; only on a GPU.
        deterministic: call ``tf.config.experimental.enable_op_determinism()``.
        announce: print the one-line summary.

    Returns:
        The summary line.

    Example:
        >>> import companion as cp
        >>> line = cp.setup(seed=0, announce=False)
        >>> "seed 0" in line
        True
    """
    seed = check_int("seed", seed, minimum=0)
    mixed_precision = check_bool("mixed_precision", mixed_precision)
    deterministic = check_bool("deterministic", deterministic)
    announce = check_bool("announce", announce)
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            # The GPU was initialised by an earlier call; growth is fixed by then.
            pass
    if mixed_precision and not gpus:
        raise ValueError(
            "mixed_precision=True needs a GPU; this machine has none "
            "(float16 arithmetic on a CPU is slower, not faster)"
        )
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")
    keras.utils.set_random_seed(seed)
    set_course_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    use_book_style()
    line = describe(seed=seed)
    if announce:
        print(line)
    return line


def device_summary():
    """Describe the visible devices, e.g. ``"CPU x1"`` or ``"GPU x2 (NVIDIA H100)"``."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU x{len(tf.config.list_logical_devices('CPU'))}"
    names = sorted({tf.config.experimental.get_device_details(g).get("device_name", "GPU")
                    for g in gpus})
    return f"GPU x{len(gpus)} ({', '.join(names)})"


def describe(seed=None):
    """The one-line summary that :func:`setup` prints."""
    parts = [
        f"TensorFlow {tf.__version__}",
        f"Keras {keras.__version__}",
        device_summary(),
        f"{active_profile().name} profile",
    ]
    policy = keras.mixed_precision.global_policy().name
    if policy != "float32":
        parts.append(f"policy {policy}")
    if seed is not None:
        parts.append(f"seed {seed}")
    return " | ".join(parts)


def split_cpu(n):
    """Expose the first CPU as ``n`` logical devices (before TensorFlow initialises).

    Lets the multi-device code path run on a laptop; it must be called before
    any tensor is created.

    Example:
        >>> split_cpu(2)  # doctest: +SKIP
        >>> strategy(devices=["/cpu:0", "/cpu:1"]).num_replicas_in_sync  # doctest: +SKIP
        2
    """
    n = check_int("n", n, minimum=1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    except RuntimeError as err:
        raise RuntimeError(
            "split_cpu() must run before TensorFlow creates its first tensor; "
            "call it at the top of a fresh process"
        ) from err


def strategy(devices=None):
    """Return a ``tf.distribute`` strategy suited to the visible devices or cluster.

    - When the environment variable ``TF_CONFIG`` describes a cluster of two or
      more workers, a :class:`tf.distribute.MultiWorkerMirroredStrategy` over
      all of them (one process per machine; each machine sets its own
      ``TF_CONFIG``, with the same worker list and its own index). Its
      collectives use ``CommunicationImplementation.AUTO``, TensorFlow's
      choice (ring all-reduce over gRPC on CPUs; NCCL is for GPUs only). Call
      it at the top of the program, before :func:`setup` or anything else that
      starts TensorFlow (TensorFlow configures its collectives at start-up),
      and feed ``fit`` the *global* batch size: each worker trains on its share
      of every batch (``tf.data`` input: ``AutoShardPolicy.DATA``). ``devices``
      cannot be combined with such a ``TF_CONFIG``.
    - With ``devices`` given, a :class:`tf.distribute.MirroredStrategy` over them.
    - Otherwise a mirrored strategy over all GPUs when there are several, else
      the default (single-device) strategy.

    Build and compile the model inside ``with strategy().scope():``.

    Args:
        devices: device names such as ``["/gpu:0", "/gpu:1"]``, or ``None``.

    Returns:
        The strategy. With a multi-worker ``TF_CONFIG``, every call in a process
        returns the same one.

    Raises:
        ValueError: ``TF_CONFIG`` is set but malformed (not JSON, no worker
            list, a task index out of range, ...), ``devices`` is given with a
            multi-worker ``TF_CONFIG``, or a device is unknown.
        RuntimeError: the multi-worker strategy is asked for after TensorFlow
            has started.

    Example:
        >>> with strategy().scope():  # doctest: +SKIP
        ...     model = build_mlp(depth=2, width=32)

        On each of two machines (``"index": 1`` on the second)::

            export TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                               "task": {"type": "worker", "index": 0}}'

        then, at the top of the same script on both:

        >>> mirrored = strategy()  # doctest: +SKIP
        >>> mirrored.num_replicas_in_sync  # doctest: +SKIP
        2
    """
    workers = _tf_config_workers()
    if len(workers) > 1:
        if devices is not None:
            raise ValueError(
                f"devices={devices!r} cannot be combined with a multi-worker TF_CONFIG "
                f"(workers {workers}): the multi-worker strategy uses each worker's own "
                "devices; unset TF_CONFIG to choose devices on one machine"
            )
        return _multi_worker_strategy()
    if devices is not None:
        if isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__"):
            raise TypeError(f"devices must be a list of device names such as ['/cpu:0'], got "
                            f"{type(devices).__name__} {devices!r}")
        devices = list(devices)
        if not all(isinstance(d, str) for d in devices):
            raise TypeError(f"devices must hold device names (strings), got {devices!r}")
        known = {_canonical(d.name) for d in tf.config.list_logical_devices()}
        unknown = [d for d in devices if _canonical(d) not in known]
        if not devices or unknown:
            raise ValueError(
                f"unknown devices {unknown or devices!r}; "
                f"valid choices: {sorted(known)}"
            )
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


_TF_CONFIG_FORM = ('{"cluster": {"worker": ["host:port", ...]}, '
                   '"task": {"type": "worker", "index": i}}')


def _tf_config_workers():
    """The worker addresses of ``TF_CONFIG`` ([] when unset), after checking it whole."""
    text = os.environ.get("TF_CONFIG")
    if text is None:
        return []

    def bad(what):
        return ValueError(f"TF_CONFIG {what}; expected the form {_TF_CONFIG_FORM}, "
                          f"got TF_CONFIG={text!r}")

    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise bad(f"is not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise bad("must be a JSON object")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict):
        raise bad('has no "cluster" object')
    others = sorted(set(cluster) - {"worker"})
    if others:
        raise bad(f'names jobs {others}; only a "worker" job is supported '
                  "(no chief, ps or evaluator)")
    workers = cluster.get("worker")
    if (not isinstance(workers, list) or not workers
            or not all(isinstance(w, str) and _is_address(w) for w in workers)):
        raise bad('needs "cluster": {"worker": [...]}, a non-empty list of '
                  '"host:port" strings')
    if len(set(workers)) != len(workers):
        raise bad("lists a worker address twice")
    task = config.get("task")
    if not isinstance(task, dict):
        raise bad('has no "task" object')
    if task.get("type") != "worker":
        raise bad(f'has task type {task.get("type")!r}; valid choices: ["worker"]')
    index = task.get("index")
    if isinstance(index, bool) or not isinstance(index, int) \
            or not 0 <= index < len(workers):
        raise bad(f"has task index {index!r}, out of range for {len(workers)} worker(s): "
                  f"valid choices: 0 to {len(workers) - 1}")
    return workers


def _is_address(text):
    host, sep, port = text.rpartition(":")
    return bool(host) and bool(sep) and port.isdigit() and 0 < int(port) < 65536


# One multi-worker strategy per process: TensorFlow configures its collectives once.
_MULTI_WORKER = {}


def _multi_worker_strategy():
    text = os.environ["TF_CONFIG"]
    if text in _MULTI_WORKER:
        return _MULTI_WORKER[text]
    if _MULTI_WORKER:
        raise RuntimeError(
            "TF_CONFIG changed after this process created its multi-worker strategy; "
            "a process belongs to one cluster: start a new process"
        )
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.AUTO)
    try:
        made = _KerasMultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as err:
        raise RuntimeError(
            "the multi-worker strategy must be created before TensorFlow starts: call "
            "cp.strategy() at the top of the program, before cp.setup() and before "
            f"any tensor or device query (TensorFlow: {err})"
        ) from err
    _MULTI_WORKER[text] = made
    return made


class _KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """``MultiWorkerMirroredStrategy`` whose ``reduce`` accepts what Keras 3's ``fit`` passes.

    Keras 3's TensorFlow trainer (``keras/src/backend/tensorflow/trainer.py``)
    calls ``strategy.reduce`` with the whole first batch, a nested ``(x, y)``,
    to build the model, and with ``axis=0`` on scalar metric values; with more
    than one worker, TensorFlow's implementation accepts neither, so ``fit``
    fails (tensorflow/tensorflow#72388, keras-team/keras#20585). Here a nested
    value is reduced leaf by leaf, a scalar across replicas only, and integer
    types that TensorFlow's collectives lack (``uint8`` labels) in ``int32``.
    """

    def reduce(self, reduce_op, value, axis=None):
        if tf.nest.is_nested(value):
            return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
        local = self.experimental_local_results(value)[0]
        if not isinstance(local, (tf.Tensor, tf.Variable)):
            return super().reduce(reduce_op, value, axis)
        if axis is not None and local.shape.rank == 0:
            axis = None  # a scalar has no batch axis: reduce across replicas only
        if local.dtype in _NARROW_INTEGERS:
            wide = self.run(lambda t: tf.cast(t, tf.int32), args=(value,))
            return tf.cast(super().reduce(reduce_op, wide, axis), local.dtype)
        return super().reduce(reduce_op, value, axis)


_NARROW_INTEGERS = (tf.uint8, tf.int8, tf.uint16, tf.int16)


def _canonical(name):
    """'/cpu:1', '/device:CPU:1' and '/job:localhost/.../device:CPU:1' -> 'cpu:1'."""
    kind, _, index = name.lower().rsplit("/", 1)[-1].replace("device:", "").partition(":")
    return f"{kind}:{index or 0}"
