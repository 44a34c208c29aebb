import os
import re

import keras
import pytest
import tensorflow as tf

from companion.__main__ import main

FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def test_info_subprocess(run_python, real_data_dir, tmp_path):
    env = {"COMPANION_DATA_DIR": real_data_dir, "COMPANION_PROFILE": "quick",
           "KERAS_HOME": tmp_path / "empty-keras-home"}
    done = run_python("-m", "companion", "info", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(rf"^tensorflow\s+{re.escape(tf.__version__)}$", out, re.M)
    assert re.search(rf"^keras\s+{re.escape(keras.__version__)}$", out, re.M)
    assert re.search(r"^devices\s+\S", out, re.M)
    assert re.search(r"^profile\s+quick\b", out, re.M)
    assert re.search(rf"^data\s+{re.escape(str(real_data_dir))}$", out, re.M)
    for name in FILE_NAMES:
        assert re.search(rf"^\s+{re.escape(name)}\s+ok$", out, re.M), out


def test_data_subprocess_empty_dir(run_python, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_python("-m", "companion", "data", "--data-dir", str(empty))
    assert done.returncode == 1
    for name in FILE_NAMES:
        assert name in done.stdout + done.stderr


def _truncate(content):
    return content[: len(content) // 2]


def _flip_compressed_bytes(content):
    content = bytearray(content)
    for i in range(1000, 1100):
        content[i] ^= 0xFF
    return bytes(content)


@pytest.mark.parametrize("damage", [_truncate, _flip_compressed_bytes])
def test_data_in_process_reports_damaged_file(tmp_path, real_data_dir, capsys, damage):
    directory = tmp_path / "damaged"
    directory.mkdir()
    for name in FILE_NAMES[:3]:
        os.symlink(real_data_dir / name, directory / name)
    bad = directory / FILE_NAMES[3]
    bad.write_bytes(damage((real_data_dir / FILE_NAMES[3]).read_bytes()))
    assert main(["data", "--data-dir", str(directory)]) == 1
    out = capsys.readouterr().out
    lines = {name: line for line in out.splitlines() for name in FILE_NAMES if name in line}
    for name in FILE_NAMES[:3]:
        assert lines[name].rstrip().endswith("ok")
    assert "ERROR" in lines[FILE_NAMES[3]] and str(bad) in lines[FILE_NAMES[3]]


def test_data_in_process_recompressed_file_is_still_ok(tmp_path, real_data_dir, capsys):
    # the reference hashes cover the decompressed content, not the gzip bytes
    import gzip

    directory = tmp_path / "recompressed"
    directory.mkdir()
    for name in FILE_NAMES[:3]:
        os.symlink(real_data_dir / name, directory / name)
    name = FILE_NAMES[3]
    with gzip.open(real_data_dir / name, "rb") as handle:
        content = handle.read()
    (directory / name).write_bytes(gzip.compress(content, compresslevel=1, mtime=0))
    assert main(["data", "--data-dir", str(directory)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"{re.escape(name)}\s+ok$", out, re.M)


def test_data_in_process_nothing_found(tmp_path, monkeypatch, capsys):
    from companion.lab import data

    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)
    assert main(["data"]) == 1
    out = capsys.readouterr().out
    assert "not found" in out and "apt-get install dataset-fashion-mnist" in out
    assert str(tmp_path / "none") in out


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_steps_in_process(tmp_path, real_data_dir, monkeypatch, capsys):
    monkeypatch.setenv("COMPANION_DATA_DIR", str(real_data_dir))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert main(["steps", "1", "4", "--train-size", "64", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^steps_per_execution=\s*1: \d+\.\d+ s", out, re.M), out
    assert re.search(r"^steps_per_execution=\s*4: \d+\.\d+ s", out, re.M), out


@pytest.mark.parametrize("argv", [["info"], ["steps", "1", "--train-size", "64"],
                                  ["bench", "--seeds", "1"]])
def test_a_bad_profile_variable_is_named_before_any_output(monkeypatch, capsys, argv):
    monkeypatch.setenv("COMPANION_PROFILE", "bogus")
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""  # not half a report
    assert "COMPANION_PROFILE='bogus'" in err and "['full', 'quick']" in err
    assert "usage:" not in err  # the command line was fine; the environment was not
