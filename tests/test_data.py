"""The task A / task B split of Fashion-MNIST used by the transfer-learning chapter."""


import gzip
import hashlib
import numpy as np
import os
import pathlib
import pytest
import re
import struct
import types

from companion.lab import data
from companion.lab.data import CLASS_NAMES, split_task_a_b
import companion


FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = FILE_NAMES


# ----------------------------------------------------------------------------- helpers

def write_idx(path, array, *, magic=None, dims=None, level=1):
    """Write ``array`` as a gzip-compressed IDX file, by hand (header: big-endian uint32s)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0803 if array.ndim == 3 else 0x0801  # 2051 images, 2049 labels
    dims = array.shape if dims is None else dims
    header = struct.pack(">" + "I" * (1 + len(dims)), magic, *dims)
    with gzip.open(path, "wb", compresslevel=level) as handle:
        handle.write(header + array.tobytes())
    return pathlib.Path(path)


def read_raw(path, header):
    """Independent reader: decompress and skip the header."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    return raw, np.frombuffer(raw, dtype=np.uint8, offset=header)


def link_real(directory, real_dir, names):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        os.symlink(real_dir / name, directory / name)


@pytest.fixture
def no_data_anywhere(tmp_path, monkeypatch):
    """No copy of the data set in any searched directory."""
    debian = tmp_path / "debian-empty"
    keras_home = tmp_path / "keras-home"
    debian.mkdir()
    keras_home.mkdir()
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)
    return keras_home


@pytest.fixture
def forbid_keras_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Keras's downloader must not be called")

    monkeypatch.setattr(data.keras.datasets.fashion_mnist, "load_data", refuse)


# ----------------------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def raw(real_data_dir):
    """The real files, read once by our own gzip + NumPy code."""
    out = {}
    for name in FILE_NAMES:
        header = 16 if "images" in name else 8
        content, values = read_raw(real_data_dir / name, header)
        out[name + ":sha256"] = hashlib.sha256(content).hexdigest()
        out[name] = values.reshape(-1, 28, 28) if "images" in name else values
    return out


@pytest.fixture(scope="module")
def unit(real_data_dir):
    return companion.load_fashion_mnist(real_data_dir, download=False)


def test_default_split_sizes(unit):
    assert unit.sizes() == {"train": 55_000, "valid": 5_000, "test": 10_000}
    assert len(unit.y_train) == 55_000 and len(unit.y_valid) == 5_000 and len(unit.y_test) == 10_000


def test_dtypes_shapes_and_labels(unit, real_data_dir):
    for x in (unit.x_train, unit.x_valid, unit.x_test):
        assert x.dtype == np.float32 and x.shape[1:] == (28, 28)
    for y in (unit.y_train, unit.y_valid, unit.y_test):
        assert y.dtype == np.uint8 and y.ndim == 1
        assert y.min() >= 0 and y.max() <= 9
    assert set(np.unique(unit.y_train)) == set(range(10))
    assert unit.scaling == "unit"
    assert pathlib.Path(unit.source) == real_data_dir
    assert len(unit.class_names) == 10


def test_unit_scaling_is_raw_over_255_and_valid_is_last_5000(unit, raw):
    train_x, train_y = raw[TRAIN_IMAGES], raw[TRAIN_LABELS]
    assert train_x.shape == (60_000, 28, 28)
    # raw / 255 computed in float64 for each of the 256 possible bytes, then rounded to float32
    table = (np.arange(256) / 255.0).astype(np.float32)
    assert np.array_equal(unit.x_train, table[train_x[:55_000]])
    assert np.array_equal(unit.x_valid, table[train_x[55_000:]])
    assert np.array_equal(unit.x_test, table[raw[TEST_IMAGES]])
    assert np.array_equal(unit.y_train, train_y[:55_000])
    assert np.array_equal(unit.y_valid, train_y[55_000:])
    assert np.array_equal(unit.y_test, raw[TEST_LABELS])
    assert unit.x_train.min() == 0.0 and unit.x_train.max() == 1.0


def test_reference_content_hashes_match_real_files(raw):
    for name in FILE_NAMES:
        assert data.CONTENT_SHA256[name] == raw[name + ":sha256"]


def test_train_size_valid_size_flatten_none(real_data_dir, raw):
    loaded = companion.load_fashion_mnist(real_data_dir, scaling="none", train_size=1000,
                                          valid_size=10_000, flatten=True, download=False)
    assert loaded.sizes() == {"train": 1000, "valid": 10_000, "test": 10_000}
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.shape == (1000, 784)
    assert loaded.x_valid.shape == (10_000, 784) and loaded.x_test.shape == (10_000, 784)
    train_x = raw[TRAIN_IMAGES].reshape(60_000, 784)
    assert np.array_equal(loaded.x_train, train_x[:1000])
    assert np.array_equal(loaded.x_valid, train_x[50_000:])
    assert np.array_equal(loaded.y_valid, raw[TRAIN_LABELS][50_000:])
    assert np.array_equal(loaded.x_test, raw[TEST_IMAGES].reshape(10_000, 784))


def test_scaling_none_returns_writable_arrays(real_data_dir):
    loaded = companion.load_fashion_mnist(real_data_dir, scaling="none", train_size=10,
                                          download=False)
    for name in ("x_train", "x_valid", "x_test", "y_train", "y_valid", "y_test"):
        assert getattr(loaded, name).flags.writeable, name


def test_standard_scaling(real_data_dir, raw):
    loaded = companion.load_fashion_mnist(real_data_dir, scaling="standard", train_size=5000,
                                          flatten=True, download=False)
    assert loaded.x_train.dtype == np.float32 and loaded.x_train.shape == (5000, 784)
    pixels = raw[TRAIN_IMAGES].reshape(60_000, 784)
    train_px = pixels[:5000].astype(np.float64)  # the statistics come from the kept images only
    mean, std = train_px.mean(axis=0), train_px.std(axis=0)
    floor = 1e-3 * 255
    varied = std > floor
    assert varied.sum() > 700  # almost every pixel varies
    got = loaded.x_train.astype(np.float64)
    np.testing.assert_allclose(got[:, varied].mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(got[:, varied].std(axis=0), 1.0, atol=1e-4)
    # pixels below the floor are divided by the floor, not by their (tiny) std
    np.testing.assert_allclose(got[:, ~varied], (train_px[:, ~varied] - mean[~varied]) / floor,
                               atol=1e-4)
    # validation and test use the training statistics
    scale = np.maximum(std, floor)
    np.testing.assert_allclose(loaded.x_valid, (pixels[55_000:] - mean) / scale, atol=1e-4, rtol=1e-5)
    test_px = raw[TEST_IMAGES].reshape(10_000, 784)[:2000]
    np.testing.assert_allclose(loaded.x_test[:2000], (test_px - mean) / scale, atol=1e-4, rtol=1e-5)
    assert np.all(np.isfinite(loaded.x_test))


def test_companion_data_dir_env_is_searched(tmp_path, monkeypatch, real_data_dir):
    copy = tmp_path / "via-env"
    link_real(copy, real_data_dir, FILE_NAMES)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(copy))
    assert data.locate() == copy
    assert data.candidate_dirs()[0] == copy
    # an explicit directory comes first
    other = tmp_path / "explicit"
    link_real(other, real_data_dir, FILE_NAMES)
    assert data.locate(other) == other


def test_download_fallback_is_used_when_no_local_copy(no_data_anywhere, monkeypatch, real_data_dir):
    calls = []
    cache = no_data_anywhere / "datasets" / "fashion-mnist"

    def fake_download():
        calls.append(True)
        link_real(cache, real_data_dir, FILE_NAMES)
        return True

    monkeypatch.setattr(data, "_download", fake_download)
    loaded = companion.load_fashion_mnist(scaling="none", train_size=10)
    assert calls == [True]
    assert pathlib.Path(loaded.source) == cache
    assert loaded.sizes()["train"] == 10


# ----------------------------------------------------------------------------- synthetic IDX files

def test_read_idx_roundtrip_on_handwritten_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    labels = np.array([9, 0, 3, 3, 7], dtype=np.uint8)
    img_path = write_idx(tmp_path / "img.gz", images)
    lbl_path = write_idx(tmp_path / "lbl.gz", labels)
    assert np.array_equal(data.read_idx(img_path, 2051, (3, 4, 5)), images)
    assert np.array_equal(data.read_idx(lbl_path, 2049, (5,)), labels)


def test_content_sha256_is_hash_of_decompressed_bytes(tmp_path):
    payload = os.urandom(3000) + b"fashion" * 100
    path = tmp_path / "blob.gz"
    path.write_bytes(gzip.compress(payload, compresslevel=9))
    assert data.content_sha256(path) == hashlib.sha256(payload).hexdigest()
    # a re-compression with another level has other bytes but the same content hash
    other = tmp_path / "blob1.gz"
    other.write_bytes(gzip.compress(payload, compresslevel=1))
    assert data.content_sha256(other) == hashlib.sha256(payload).hexdigest()


def test_wrong_magic_raises(tmp_path):
    path = write_idx(tmp_path / "img.gz", np.zeros((2, 3, 3)), magic=2049)
    with pytest.raises(data.DataError, match=re.escape(str(path))) as info:
        data.read_idx(path, 2051, (2, 3, 3))
    assert "2049" in str(info.value)


def test_wrong_dims_raise(tmp_path):
    path = write_idx(tmp_path / "img.gz", np.zeros((2, 3, 3)))
    with pytest.raises(data.DataError, match=re.escape(str(path))):
        data.read_idx(path, 2051, (4, 3, 3))


def test_payload_size_mismatch_raises(tmp_path):
    path = write_idx(tmp_path / "img.gz", np.zeros(17), dims=(2, 3, 3))  # 17 != 18 values
    with pytest.raises(data.DataError, match=re.escape(str(path))):
        data.read_idx(path, 2051, (2, 3, 3))


def test_file_shorter_than_header_raises(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03\x00"))
    with pytest.raises(data.DataError, match=re.escape(str(path))):
        data.read_idx(path, 2051, (2, 3, 3))


def test_truncated_real_gzip_raises_naming_the_file(tmp_path, real_data_dir):
    content = (real_data_dir / TEST_LABELS).read_bytes()
    path = tmp_path / TEST_LABELS
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(data.DataError, match=re.escape(str(path))):
        data.read_idx(path, 2049, (10_000,))


def test_random_bytes_raise_naming_the_file(tmp_path):
    path = tmp_path / TEST_LABELS
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(data.DataError, match=re.escape(str(path))):
        data.read_idx(path, 2049, (10_000,))


def corrupt_deflate_stream(path):
    """A file with an intact gzip header whose compressed body is damaged."""
    labels = np.random.default_rng(0).integers(0, 10, 10_000, dtype=np.uint8)
    write_idx(path, labels, level=9)
    content = bytearray(path.read_bytes())
    for i in range(200, 300):
        content[i] ^= 0xFF
    path.write_bytes(bytes(content))
    return path


def test_damaged_compressed_body_raises_data_error(tmp_path):
    path = corrupt_deflate_stream(tmp_path / TEST_LABELS)
    with pytest.raises(data.DataError, match=re.escape(str(path))):
        data.read_idx(path, 2049, (10_000,))


@pytest.mark.parametrize("damage", ["random-bytes", "truncated"])
def test_loader_reports_damaged_file(tmp_path, real_data_dir, damage):
    directory = tmp_path / "damaged"
    link_real(directory, real_data_dir, FILE_NAMES[1:])
    bad = directory / TRAIN_IMAGES
    if damage == "random-bytes":
        bad.write_bytes(os.urandom(100_000))
    else:
        content = (real_data_dir / TRAIN_IMAGES).read_bytes()
        bad.write_bytes(content[: len(content) // 2])
    with pytest.raises(data.DataError) as info:
        companion.load_fashion_mnist(directory, download=False)
    assert str(bad) in str(info.value)


def test_data_dir_missing_files_names_them(tmp_path, real_data_dir):
    directory = tmp_path / "partial"
    link_real(directory, real_data_dir, [TRAIN_IMAGES, TEST_LABELS])
    with pytest.raises(data.DataError) as info:
        companion.load_fashion_mnist(directory, download=False)
    message = str(info.value)
    assert TRAIN_LABELS in message and TEST_IMAGES in message
    assert TRAIN_IMAGES not in message and TEST_LABELS not in message
    assert str(directory) in message


def test_empty_data_dir_raises_even_when_data_exists_elsewhere(tmp_path):
    with pytest.raises(data.DataError) as info:
        data.locate(tmp_path)
    for name in FILE_NAMES:
        assert name in str(info.value)


@pytest.fixture(scope="module")
def synthetic_images(tmp_path_factory):
    """Full-size image files whose pixels all equal the image's index mod 256."""
    directory = tmp_path_factory.mktemp("synthetic-images")
    train = np.repeat((np.arange(60_000) % 256).astype(np.uint8), 784).reshape(60_000, 28, 28)
    test = np.repeat((np.arange(10_000) % 256).astype(np.uint8), 784).reshape(10_000, 28, 28)
    write_idx(directory / TRAIN_IMAGES, train)
    write_idx(directory / TEST_IMAGES, test)
    return directory


def synthetic_dir(tmp_path, synthetic_images, train_labels, test_labels):
    directory = tmp_path / "synthetic"
    directory.mkdir()
    for name in (TRAIN_IMAGES, TEST_IMAGES):
        os.symlink(synthetic_images / name, directory / name)
    write_idx(directory / TRAIN_LABELS, train_labels)
    write_idx(directory / TEST_LABELS, test_labels)
    return directory


def balanced(n_per_class, seed):
    labels = np.repeat(np.arange(10, dtype=np.uint8), n_per_class)
    return np.random.default_rng(seed).permutation(labels)


def test_synthetic_full_size_files_load(tmp_path, synthetic_images):
    train_labels, test_labels = balanced(6000, 0), balanced(1000, 1)
    directory = synthetic_dir(tmp_path, synthetic_images, train_labels, test_labels)
    with pytest.warns(data.DataWarning, match="differ from the reference"):  # not the real data
        loaded = companion.load_fashion_mnist(directory, train_size=100, download=False)
    index = np.arange(60_000)
    assert np.array_equal(loaded.x_train[:, 0, 0] * 255, (index[:100] % 256).astype(np.float32))
    np.testing.assert_allclose(loaded.x_valid[:, 5, 7], (index[55_000:] % 256) / 255.0, rtol=1e-6)
    assert np.array_equal(loaded.y_valid, train_labels[55_000:])
    assert np.array_equal(loaded.y_train, train_labels[:100])
    assert np.array_equal(loaded.y_test, test_labels)


def test_unbalanced_labels_raise(tmp_path, synthetic_images):
    train_labels = balanced(6000, 0)
    train_labels[:10] = 0
    directory = synthetic_dir(tmp_path, synthetic_images, train_labels, balanced(1000, 1))
    with pytest.raises(data.DataError, match="class counts"):
        companion.load_fashion_mnist(directory, download=False)


def test_label_out_of_range_raises(tmp_path, synthetic_images):
    test_labels = balanced(1000, 1)
    test_labels[0] = 10
    directory = synthetic_dir(tmp_path, synthetic_images, balanced(6000, 0), test_labels)
    with pytest.raises(data.DataError, match="0..9"):
        companion.load_fashion_mnist(directory, download=False)


# ----------------------------------------------------------------------------- nothing found

def test_no_data_anywhere_explains_how_to_get_it(no_data_anywhere, monkeypatch,
                                                 forbid_keras_download):
    calls = []

    def no_download():
        calls.append(True)
        return False

    monkeypatch.setattr(data, "_download", no_download)
    with pytest.raises(data.DataError) as info:
        companion.load_fashion_mnist()
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(data.DEBIAN_DIR) in message and str(no_data_anywhere) in message
    assert calls == [True]


def test_no_download_when_not_allowed(no_data_anywhere, monkeypatch, forbid_keras_download):
    def refuse():
        raise AssertionError("_download must not be called with download=False")

    monkeypatch.setattr(data, "_download", refuse)
    with pytest.raises(data.DataError, match="apt-get install dataset-fashion-mnist"):
        companion.load_fashion_mnist(download=False)


def test_offline_download_fails_fast_with_explanation(no_data_anywhere, monkeypatch,
                                                      forbid_keras_download):
    asked = []

    def offline(host, *args, **kwargs):
        asked.append(host)
        raise OSError("network unreachable")

    monkeypatch.setattr(data.socket, "getaddrinfo", offline)
    with pytest.raises(data.DataError, match="apt-get install dataset-fashion-mnist"):
        companion.load_fashion_mnist(download=True)
    assert asked == [data.DOWNLOAD_HOST]


# ----------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("kwargs, shown", [
    ({"scaling": "foo"}, "'foo'"),
    ({"scaling": "Unit"}, "'Unit'"),
    ({"train_size": 0}, "0"),
    ({"train_size": 10**6}, "1000000"),
    ({"train_size": 55_001}, "55001"),
    ({"train_size": 2.5}, "2.5"),
    ({"train_size": True}, "True"),
    ({"valid_size": 0}, "0"),
    ({"valid_size": 60_000}, "60000"),
    ({"valid_size": "5"}, "'5'"),
])
def test_bad_arguments_raise_before_reading(monkeypatch, kwargs, shown):
    def refuse(*args, **kwargs):
        raise AssertionError("arguments must be checked before looking for files")

    monkeypatch.setattr(data, "locate", refuse)
    with pytest.raises(ValueError) as info:
        companion.load_fashion_mnist(download=False, **kwargs)
    assert shown in str(info.value)


def test_largest_train_size_is_accepted(monkeypatch):
    # 60000 - valid_size is allowed: no ValueError, the search for files starts
    reached = []

    def stop(*args, **kwargs):
        reached.append(True)
        raise data.DataError("stop here")

    monkeypatch.setattr(data, "locate", stop)
    with pytest.raises(data.DataError, match="stop here"):
        companion.load_fashion_mnist(train_size=59_000, valid_size=1000, download=False)
    assert reached == [True]


def fake_fashion(n_train=400, n_valid=100, n_test=200, seed=0):
    """Images whose first pixel records the example's original label and index."""
    rng = np.random.default_rng(seed)

    def split(n, offset):
        y = rng.integers(0, 10, size=n).astype(np.uint8)
        x = np.zeros((n, 28, 28), dtype=np.float32)
        x[:, 0, 0] = y
        x[:, 0, 1] = np.arange(n) + offset
        return x, y

    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (
        split(n_train, 0), split(n_valid, 10_000), split(n_test, 20_000))
    return types.SimpleNamespace(x_train=x_train, y_train=y_train, x_valid=x_valid,
                                 y_valid=y_valid, x_test=x_test, y_test=y_test,
                                 class_names=CLASS_NAMES, source=None, scaling="unit")


@pytest.fixture
def fake():
    return fake_fashion()


def test_task_a_keeps_eight_classes_relabelled_in_order(fake):
    task_a, _ = split_task_a_b(fake, b_train_size=20, seed=0)
    original = [1, 3, 4, 5, 6, 7, 8, 9]
    for split in ("train", "valid", "test"):
        x, y = getattr(task_a, f"x_{split}"), getattr(task_a, f"y_{split}")
        source_labels = getattr(fake, f"y_{split}")
        assert len(y) == np.isin(source_labels, original).sum()
        assert set(np.unique(y)) <= set(range(8))
        # the first pixel is the original label: relabelling maps it by position
        np.testing.assert_array_equal(np.array(original)[y], x[:, 0, 0].astype(int))
    assert task_a.class_names == tuple(CLASS_NAMES[c] for c in original)
    assert "T-shirt/top" not in task_a.class_names and "Pullover" not in task_a.class_names


def test_task_b_is_tshirt_versus_pullover(fake):
    _, task_b = split_task_a_b(fake, b_train_size=30, seed=1)
    assert task_b.class_names == ("T-shirt/top", "Pullover")
    for split in ("train", "valid", "test"):
        x, y = getattr(task_b, f"x_{split}"), getattr(task_b, f"y_{split}")
        expected = np.where(x[:, 0, 0] == 0, 0, 1)
        assert set(x[:, 0, 0].astype(int)) <= {0, 2}
        np.testing.assert_array_equal(y, expected)
    # validation and test keep every image of the two classes
    assert len(task_b.y_valid) == np.isin(fake.y_valid, (0, 2)).sum()
    assert len(task_b.y_test) == np.isin(fake.y_test, (0, 2)).sum()


def test_task_b_training_size_and_no_duplicates(fake):
    _, task_b = split_task_a_b(fake, b_train_size=30, seed=3)
    assert len(task_b.x_train) == len(task_b.y_train) == 30
    ids = task_b.x_train[:, 0, 1]
    assert len(np.unique(ids)) == 30
    assert set(ids) <= set(fake.x_train[np.isin(fake.y_train, (0, 2)), 0, 1])


def test_task_b_sample_is_deterministic_for_a_seed_and_differs_across_seeds(fake):
    first = split_task_a_b(fake, b_train_size=25, seed=7)[1]
    again = split_task_a_b(fake, b_train_size=25, seed=7)[1]
    other = split_task_a_b(fake, b_train_size=25, seed=8)[1]
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert not np.array_equal(first.x_train[:, 0, 1], other.x_train[:, 0, 1])


def test_task_a_does_not_depend_on_the_seed(fake):
    a1 = split_task_a_b(fake, b_train_size=10, seed=0)[0]
    a2 = split_task_a_b(fake, b_train_size=10, seed=5)[0]
    np.testing.assert_array_equal(a1.x_train, a2.x_train)


def test_all_available_images_can_be_drawn(fake):
    available = int(np.isin(fake.y_train, (0, 2)).sum())
    _, task_b = split_task_a_b(fake, b_train_size=available, seed=0)
    assert sorted(task_b.x_train[:, 0, 1]) == sorted(
        fake.x_train[np.isin(fake.y_train, (0, 2)), 0, 1])


@pytest.mark.parametrize("size", [0, 1, 10_000, 2.5, True, "200"])
def test_bad_sizes_are_rejected_with_the_valid_range(fake, size):
    with pytest.raises(ValueError, match=r"b_train_size must be an integer in \[2, \d+\]"):
        split_task_a_b(fake, b_train_size=size)


def test_bad_seed_and_bad_data_are_rejected(fake):
    with pytest.raises(ValueError, match="seed"):
        split_task_a_b(fake, b_train_size=10, seed=-1)
    with pytest.raises(TypeError, match=r"data must have x_train.*lacks \[.x_valid."):
        split_task_a_b(types.SimpleNamespace(x_train=fake.x_train, y_train=fake.y_train))


def test_real_data_split_sizes(real_data_dir):
    from companion.lab.data import load_fashion_mnist

    data = load_fashion_mnist(real_data_dir, train_size=5000)
    task_a, task_b = split_task_a_b(data, b_train_size=200, seed=0)
    assert len(task_b.x_train) == 200
    assert len(task_a.x_test) == 8000 and len(task_b.x_test) == 2000
    assert len(task_a.x_train) + np.isin(data.y_train, (0, 2)).sum() == 5000
    assert task_a.x_train.dtype == np.float32


# ----------------------------------------------------------------------------- issue 16

@pytest.mark.parametrize("contents", ["missing", "empty", "partial"])
def test_companion_data_dir_without_the_files_raises_like_data_dir(
        tmp_path, monkeypatch, real_data_dir, contents):
    directory = tmp_path / "named-by-env"
    if contents != "missing":
        directory.mkdir()
    if contents == "partial":
        link_real(directory, real_data_dir, [TRAIN_IMAGES, TEST_LABELS])
    # a complete copy is searched later: the variable must not fall back on it
    monkeypatch.setattr(data, "DEBIAN_DIR", real_data_dir)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(directory))
    for call in (data.locate, lambda: companion.load_fashion_mnist(download=False)):
        with pytest.raises(data.DataError) as info:
            call()
        message = str(info.value)
        assert "COMPANION_DATA_DIR" in message and str(directory) in message
        assert TRAIN_LABELS in message and TEST_IMAGES in message
    with pytest.raises(data.DataError, match=re.escape(str(directory))):
        data.locate(directory)  # the same path as data_dir= raised already


def altered_copy(real_data_dir, directory, change):
    """A copy of the real files, one of them changed by ``change(name, array)`` and re-gzipped."""
    directory.mkdir()
    for name in FILE_NAMES:
        header = 16 if "images" in name else 8
        raw, values = read_raw(real_data_dir / name, header)
        values = values.copy()
        if change(name, values):
            with gzip.open(directory / name, "wb", compresslevel=1) as handle:
                handle.write(raw[:header] + values.tobytes())
        else:
            os.symlink(real_data_dir / name, directory / name)
    return directory


def invert_one_image(name, values):
    if name == TEST_IMAGES:
        values[:784] = 255 - values[:784]
        return True
    return False


def swap_two_labels(name, values):
    if name == TRAIN_LABELS:  # two labels of different classes: the class counts hold
        first = int(np.flatnonzero(values != values[0])[0])
        values[[0, first]] = values[[first, 0]]
        return True
    return False


def regzip_only(name, values):
    return name == TEST_LABELS


@pytest.mark.parametrize("change", [invert_one_image, swap_two_labels])
def test_altered_content_warns_once_and_fails_the_check(tmp_path, real_data_dir, change,
                                                        capsys):
    from companion.__main__ import main

    directory = altered_copy(real_data_dir, tmp_path / change.__name__, change)
    assert main(["data", "--data-dir", str(directory)]) == 1
    assert "differs from the reference" in capsys.readouterr().out
    with pytest.warns(data.DataWarning, match="differ from the reference") as record:
        companion.load_fashion_mnist(directory, train_size=100, download=False)
        companion.load_fashion_mnist(directory, train_size=100, download=False)
    assert len(record) == 1  # once, however often it is loaded
    assert str(directory) in str(record[0].message)


def test_recompressed_identical_content_neither_warns_nor_fails(tmp_path, real_data_dir,
                                                                 capsys):
    from companion.__main__ import main

    directory = altered_copy(real_data_dir, tmp_path / "regzipped", regzip_only)
    assert (directory / TEST_LABELS).read_bytes() != (real_data_dir / TEST_LABELS).read_bytes()
    companion.load_fashion_mnist(directory, train_size=100, download=False)  # no warning
    assert main(["data", "--data-dir", str(directory)]) == 0
    capsys.readouterr()


def test_an_unresponsive_name_server_is_covered_by_the_timeout(monkeypatch):
    # getaddrinfo that hangs like a DNS server that never answers (released at the end)
    release, finished = __import__("threading").Event(), __import__("threading").Event()

    def unresponsive(*args, **kwargs):
        release.wait(timeout=20)
        finished.set()
        raise data.socket.gaierror("temporary failure in name resolution")

    monkeypatch.setattr(data.socket, "getaddrinfo", unresponsive)
    monkeypatch.setattr(data, "NETWORK_TIMEOUT", 0.5, raising=False)
    try:
        answered = data._download()
        # the deadline ran out while the name was still being resolved
        gave_up_while_resolving = not finished.is_set()
    finally:
        release.set()
    assert answered is False and gave_up_while_resolving
