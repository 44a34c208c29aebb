"""Fashion-MNIST: locating, validating, splitting and scaling the data set.

The four gzip files are looked for, in order, in: the ``data_dir`` argument, the
directory named by ``$COMPANION_DATA_DIR``, Keras's cache
(``~/.keras/datasets/fashion-mnist`` or under ``$KERAS_HOME``) and Debian's
``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``). A
directory named by ``data_dir`` or by ``$COMPANION_DATA_DIR`` must hold all four: one
that does not is an error, never a reason to fall back on another copy. Only when
no directory has them is Keras's downloader called, and only if the download host
is resolved and answers within three seconds in all, so an offline machine gets an
explanation instead of a hang.

A copy whose content differs from the reference (SHA-256 of the decompressed
files) still loads, with one :class:`DataWarning` per directory and process;
``python -m companion data`` then exits with status 1.
"""

import dataclasses
import gzip
import hashlib
import os
import pathlib
import socket
import struct
import threading
import time
import warnings
import zlib

import numpy as np

from companion._quiet import keras
from companion.lab.seeding import resolve_seed
from companion.tools.checks import check_attributes, check_bool, check_choice, check_int

ENV_VAR = "COMPANION_DATA_DIR"
DEBIAN_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_HOST = "storage.googleapis.com"
NETWORK_TIMEOUT = 3.0  # seconds to resolve the download host and connect to it, in all

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
# file name -> (IDX magic number, shape)
FILES = {
    "train-images-idx3-ubyte.gz": (2051, (60_000, 28, 28)),
    "train-labels-idx1-ubyte.gz": (2049, (60_000,)),
    "t10k-images-idx3-ubyte.gz": (2051, (10_000, 28, 28)),
    "t10k-labels-idx1-ubyte.gz": (2049, (10_000,)),
}
# SHA-256 of the *decompressed* files: unchanged by re-compression (Debian's gzip
# files differ byte-wise from the ones Keras downloads, their contents do not).
CONTENT_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
HOW_TO_GET = (
    "Fashion-MNIST was not found. Get it in one of these ways:\n"
    "  * Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
    "  * online: python -c 'import keras; keras.datasets.fashion_mnist.load_data()'\n"
    f"  * or put the four .gz files in a directory and set ${ENV_VAR} to it.\n"
    "Searched: {searched}"
)


class DataError(RuntimeError):
    """The data set is missing, corrupt or not what it should be."""


class DataWarning(UserWarning):
    """The data set loads, but its content differs from the reference files."""


def candidate_dirs(data_dir=None):
    """The directories searched for the gzip files, in order of preference."""
    dirs = []
    if data_dir is not None:
        dirs.append(pathlib.Path(data_dir))
    if os.environ.get(ENV_VAR):
        dirs.append(pathlib.Path(os.environ[ENV_VAR]))
    keras_home = os.environ.get("KERAS_HOME", pathlib.Path.home() / ".keras")
    dirs.append(pathlib.Path(keras_home) / "datasets" / "fashion-mnist")
    dirs.append(DEBIAN_DIR)
    return dirs


def locate(data_dir=None):
    """Return the first directory holding all four files, or ``None``.

    A directory the user named, by ``data_dir`` or by ``$COMPANION_DATA_DIR``,
    that lacks them is an error, not a fall-through: the user asked for that
    directory, and another copy would hide the mistake.

    Example:
        >>> locate() is None or (locate() / "train-labels-idx1-ubyte.gz").exists()
        True
    """
    named = {}
    if data_dir is not None:
        named[pathlib.Path(data_dir)] = f"data_dir={str(data_dir)!r}"
    if os.environ.get(ENV_VAR):
        named.setdefault(pathlib.Path(os.environ[ENV_VAR]),
                         f"${ENV_VAR}={os.environ[ENV_VAR]!r}")
    for directory in candidate_dirs(data_dir):
        if all((directory / name).is_file() for name in FILES):
            return directory
        if directory in named:
            missing = [n for n in FILES if not (directory / n).is_file()]
            state = "" if directory.is_dir() else " (no such directory)"
            raise DataError(f"{named[directory]}{state} lacks {missing}; put the four files "
                            f"there{' or unset the variable' if ENV_VAR in named[directory] else ''}")
    return None


def _decompress(path):
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
        raise DataError(f"{path} is corrupt or truncated ({err}); delete it and fetch it again") from err


def read_idx(path, magic, shape):
    """Read one gzip-compressed IDX file and check its header against ``magic`` and ``shape``."""
    path = pathlib.Path(path)
    return _parse_idx(path, _decompress(path), magic, shape)


def _parse_idx(path, raw, magic, shape):
    header = 4 + 4 * len(shape)
    if len(raw) < header:
        raise DataError(f"{path} is truncated: {len(raw)} bytes, shorter than its header")
    found_magic, *dims = struct.unpack(f">{1 + len(shape)}I", raw[:header])
    if found_magic != magic or tuple(dims) != shape:
        raise DataError(
            f"{path} has header magic={found_magic} shape={tuple(dims)}, "
            f"expected magic={magic} shape={shape}"
        )
    body = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} holds {body.size} values, expected {int(np.prod(shape))}")
    return body.reshape(shape).copy()  # writable, and frees the decompressed buffer


def content_sha256(path):
    """SHA-256 of a gzip file's decompressed content."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path} is corrupt or truncated ({err})") from err
    return digest.hexdigest()


_WARNED = set()  # directories whose differing content was reported in this process


def _read_raw(directory):
    arrays, differing = [], []
    for name, (magic, shape) in FILES.items():
        raw = _decompress(directory / name)
        arrays.append(_parse_idx(directory / name, raw, magic, shape))
        if hashlib.sha256(raw).hexdigest() != CONTENT_SHA256[name]:
            differing.append(name)
    x_train, y_train, x_test, y_test = arrays
    for name, labels, per_class in (("train", y_train, 6000), ("test", y_test, 1000)):
        if labels.max() > 9:
            raise DataError(f"{name} labels outside 0..9 (max {labels.max()}) in {directory}")
        counts = np.bincount(labels, minlength=10)
        if not np.all(counts == per_class):
            raise DataError(
                f"{name} class counts {counts.tolist()} in {directory}, expected {per_class} each"
            )
    key = (str(pathlib.Path(directory).resolve()), tuple(differing))
    if differing and key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(f"Fashion-MNIST in {directory}: {differing} differ from the reference "
                      "files (SHA-256 of the decompressed content), so results will not "
                      "match the book's; `python -m companion data` checks a copy",
                      DataWarning, stacklevel=3)
    return x_train, y_train, x_test, y_test


def host_answers(host, port, timeout):
    """Whether ``host`` is resolved and accepts a connection on ``port`` within ``timeout`` s.

    ``socket.create_connection``'s timeout covers the connection only: resolving
    the name first can take as long as the system's resolver waits (6 s and more
    with an unresponsive DNS server). Here the name is resolved in a daemon thread
    that is abandoned when the deadline passes, and the connection gets what is
    left of it.

    Example:
        >>> host_answers("localhost", 9, timeout=0.5)  # doctest: +SKIP
        False
    """
    deadline = time.monotonic() + timeout
    found = {}

    def resolve():
        try:
            found["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            pass

    worker = threading.Thread(target=resolve, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    for family, kind, protocol, _, address in found.get("addresses", []):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.socket(family, kind, protocol) as connection:
                connection.settimeout(left)
                connection.connect(address)
            return True
        except OSError:
            continue
    return False


def _download():
    """Call Keras's downloader if its host answers within a few seconds; report success."""
    if not host_answers(DOWNLOAD_HOST, 443, NETWORK_TIMEOUT):
        return False
    try:
        keras.datasets.fashion_mnist.load_data()
    except Exception as err:  # Keras raises several kinds; all mean "no usable copy"
        raise DataError(f"Keras could not download Fashion-MNIST ({err}).\n"
                        + HOW_TO_GET.format(searched="see above")) from err
    return True


@dataclasses.dataclass
class FashionMNIST:
    """Train / valid / test splits of Fashion-MNIST, as returned by :func:`load_fashion_mnist`."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: pathlib.Path
    scaling: str
    class_names: tuple = CLASS_NAMES

    def sizes(self):
        """Number of images per split, e.g. ``{'train': 55000, 'valid': 5000, 'test': 10000}``."""
        return {"train": len(self.x_train), "valid": len(self.x_valid), "test": len(self.x_test)}


SCALINGS = ("unit", "standard", "none")


def load_fashion_mnist(data_dir=None, *, scaling="unit", train_size=None, valid_size=5000,
                       flatten=False, download=True):
    """Load Fashion-MNIST as train, validation and test splits.

    The validation split is the last ``valid_size`` images of the official
    training set; the training split is the images before it, of which the first
    ``train_size`` are kept (all when ``None``).

    Args:
        data_dir: a directory holding the four gzip files; searched first.
        scaling: ``"unit"`` divides by 255 (values in [0, 1]); ``"standard"``
            subtracts each pixel's training mean and divides by its training
            standard deviation (floored at 1e-3 of the pixel range for the almost
            constant border pixels); ``"none"`` keeps ``uint8``.
        train_size: how many training images to keep, at most 60000 - valid_size.
        valid_size: how many images the validation split holds, at least 1.
        flatten: return images as vectors of 784 values instead of 28x28.
        download: fall back on Keras's downloader when no local copy exists.

    Returns:
        A :class:`FashionMNIST` with ``float32`` images (``uint8`` for
        ``scaling="none"``) and ``uint8`` labels.

    Raises:
        DataError: no copy found, a directory named by ``data_dir`` or
            ``$COMPANION_DATA_DIR`` without the four files, or a damaged file.

    Warns:
        DataWarning: once per directory and process, when a file's content
            differs from the reference.

    Example:
        >>> data = load_fashion_mnist(train_size=1000)  # doctest: +SKIP
        >>> data.sizes()  # doctest: +SKIP
        {'train': 1000, 'valid': 5000, 'test': 10000}
    """
    check_choice("scaling", scaling, SCALINGS)
    valid_size = check_int("valid_size", valid_size, minimum=1, maximum=59_999)
    limit = 60_000 - valid_size
    if train_size is not None:
        try:
            train_size = check_int("train_size", train_size, minimum=1, maximum=limit)
        except ValueError:
            raise ValueError(f"train_size must be None or an integer in [1, {limit}], "
                             f"got {train_size!r}") from None
    flatten = check_bool("flatten", flatten)
    download = check_bool("download", download)
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a directory (a str or a path) or None, got "
                        f"{type(data_dir).__name__} {data_dir!r}")

    directory = locate(data_dir)
    if directory is None and download and _download():
        directory = locate()
    if directory is None:
        searched = ", ".join(str(d) for d in candidate_dirs(data_dir))
        raise DataError(HOW_TO_GET.format(searched=searched))

    x_full, y_full, x_test, y_test = _read_raw(directory)
    x_train, y_train = x_full[:limit], y_full[:limit]
    x_valid, y_valid = x_full[limit:], y_full[limit:]
    if train_size is not None:
        x_train, y_train = x_train[:train_size], y_train[:train_size]

    splits = [x_train, x_valid, x_test]
    if scaling == "unit":
        splits = [x.astype(np.float32) / np.float32(255.0) for x in splits]
    elif scaling == "standard":
        mean = x_train.mean(axis=0, dtype=np.float64)
        std = np.maximum(x_train.std(axis=0, dtype=np.float64), 1e-3 * 255.0)
        splits = [((x - mean) / std).astype(np.float32) for x in splits]
    else:  # own the slices, so a small train_size does not pin the whole array
        splits = [x.copy() for x in splits]
    if flatten:
        splits = [x.reshape(len(x), -1) for x in splits]
    x_train, x_valid, x_test = splits
    return FashionMNIST(x_train=x_train, y_train=y_train, x_valid=x_valid, y_valid=y_valid,
                        x_test=x_test, y_test=y_test, source=directory, scaling=scaling)


# Transfer learning (chapter 5): task A is Fashion-MNIST without the two classes
# that task B must tell apart with a handful of labels.
TASK_B_CLASSES = (0, 2)  # T-shirt/top, Pullover
TASK_A_CLASSES = tuple(c for c in range(10) if c not in TASK_B_CLASSES)


def _relabelled(x, y, classes):
    """The examples of ``classes``, relabelled 0, 1, ... in the order of ``classes``."""
    lookup = np.full(10, -1, dtype=np.int16)
    lookup[list(classes)] = np.arange(len(classes))
    keep = np.isin(y, classes)
    return x[keep], lookup[y[keep]].astype(np.uint8)


def split_task_a_b(data, *, b_train_size=200, seed=None):
    """Split Fashion-MNIST into transfer-learning tasks A and B.

    Task A keeps the eight classes other than T-shirt/top (0) and Pullover
    (2), relabelled 0..7 in their original order (Trouser -> 0, ..., Ankle
    boot -> 7). Task B is the binary task T-shirt/top (0) versus Pullover
    (1); its training split is a random sample of ``b_train_size`` of the
    training images of those two classes, drawn without replacement and
    determined by ``seed``. Validation and test splits keep every image of
    their task's classes.

    Args:
        data: a :class:`FashionMNIST` (any scaling, flattened or not).
        b_train_size: labelled training images of task B, an integer from 2
            to the number of T-shirt and Pullover images in ``data.x_train``.
        seed: seeds the draw of task B's training sample; by default the
            seed of :func:`companion.setup`.

    Returns:
        ``(task_a, task_b)``, two :class:`FashionMNIST` with their own
        ``class_names``.

    Example:
        >>> task_a, task_b = split_task_a_b(load_fashion_mnist(), seed=0)  # doctest: +SKIP
        >>> task_a.class_names[0], task_b.class_names, len(task_b.x_train)  # doctest: +SKIP
        ('Trouser', ('T-shirt/top', 'Pullover'), 200)
    """
    splits = ("train", "valid", "test")
    check_attributes("data", data, [f"{k}_{s}" for s in splits for k in "xy"],
                     what="a data set such as load_fashion_mnist returns")
    available = int(np.isin(data.y_train, TASK_B_CLASSES).sum())
    try:
        b_train_size = check_int("b_train_size", b_train_size, minimum=2, maximum=available)
    except ValueError:
        raise ValueError(f"b_train_size must be an integer in [2, {available}] (the T-shirt "
                         f"and Pullover images of data.x_train), got {b_train_size!r}") from None
    seed = resolve_seed(seed)
    tasks = {}
    for task, classes in (("a", TASK_A_CLASSES), ("b", TASK_B_CLASSES)):
        arrays = {}
        for split in splits:
            x, y = _relabelled(getattr(data, f"x_{split}"), getattr(data, f"y_{split}"),
                               classes)
            arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
        tasks[task] = arrays
    pick = np.random.default_rng(seed).choice(available, size=int(b_train_size), replace=False)
    pick.sort()  # keep the data set's order; fit() shuffles anyway
    tasks["b"]["x_train"] = tasks["b"]["x_train"][pick]
    tasks["b"]["y_train"] = tasks["b"]["y_train"][pick]
    names = getattr(data, "class_names", CLASS_NAMES)
    return tuple(
        FashionMNIST(**tasks[task], source=getattr(data, "source", None),
                     scaling=getattr(data, "scaling", None),
                     class_names=tuple(names[c] for c in classes))
        for task, classes in (("a", TASK_A_CLASSES), ("b", TASK_B_CLASSES)))
