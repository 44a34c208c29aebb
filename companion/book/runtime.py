"""Session set-up: quiet logs, seeds, determinism, devices, distribution."""

import logging

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
    """Return a ``tf.distribute`` strategy suited to the visible devices.

    With ``devices`` given, a :class:`tf.distribute.MirroredStrategy` over
    them; otherwise a mirrored strategy over all GPUs when there are several,
    else the default (single-device) strategy. Build and compile the model
    inside ``with strategy().scope():``.

    Example:
        >>> with strategy().scope():  # doctest: +SKIP
        ...     model = build_mlp(depth=2, width=32)
    """
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


def _canonical(name):
    """'/cpu:1', '/device:CPU:1' and '/job:localhost/.../device:CPU:1' -> 'cpu:1'."""
    kind, _, index = name.lower().rsplit("/", 1)[-1].replace("device:", "").partition(":")
    return f"{kind}:{index or 0}"
