"""The load benchmark's parts (companion/book/loadbench.py); the benchmark itself is a command.

No test here times anything: ``python -m companion loadbench`` prints its figures.
"""

import json
import pathlib
import time

import numpy as np
import pytest

from companion.book import loadbench
from companion.book.loadbench import busy_loops, format_claims, TimingClaim
from companion.book.profiles import Profile

BOOK = pathlib.Path(__file__).resolve().parents[1] / "book"


def _cpu_ticks(pid):
    """User plus system clock ticks a process has used, from /proc/<pid>/stat."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def test_busy_loops_run_during_the_block_and_are_killed_after():
    with busy_loops(2) as loops:
        assert len(loops) == 2
        assert all(loop.poll() is None for loop in loops)
        if pathlib.Path(f"/proc/{loops[0].pid}/stat").exists():
            before = [_cpu_ticks(loop.pid) for loop in loops]
            time.sleep(0.5)
            assert all(_cpu_ticks(loop.pid) > b for loop, b in zip(loops, before))
    assert all(loop.poll() is not None for loop in loops)


def test_busy_loops_are_killed_when_the_block_raises():
    with pytest.raises(RuntimeError, match="inside"):
        with busy_loops(1) as loops:
            raise RuntimeError("inside")
    assert loops[0].poll() is not None


def test_no_busy_loop_and_bad_counts():
    with busy_loops(0) as loops:
        assert loops == []
    with busy_loops(np.int64(1)) as loops:
        assert len(loops) == 1
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValueError, match="n must be"):
            with busy_loops(bad):
                pass


def test_timing_claim_margin_is_relative_to_the_threshold():
    assert TimingClaim("4", "c", 1.32, 1.1).margin == pytest.approx(0.2)
    assert TimingClaim("9", "c", 0.9, 1.0).margin == pytest.approx(-0.1)
    assert TimingClaim("9", "reported", 1.7).margin is None


def test_format_claims_lists_ratio_threshold_margin_and_detail():
    text = format_claims([TimingClaim("4", "BN costs more", 1.375, 1.1, "21 rounds"),
                          TimingClaim("9", "reported only", 1.66)])
    lines = text.splitlines()
    assert lines[0].split() == ["chapter", "ratio", "threshold", "margin", "claim"]
    assert lines[1].split() == ["4", "1.38", ">=", "1.1", "+25.0%", "BN", "costs", "more"]
    assert lines[2].strip() == "21 rounds"
    assert lines[3].split()[:4] == ["9", "1.66", "-", "-"]


def test_measure_rejects_bad_arguments():
    with pytest.raises(ValueError, match="busy must be"):
        loadbench.measure(-1)
    with pytest.raises(ValueError, match=r"unknown chapters \['5'\]; valid choices: \['4', '9'\]"):
        loadbench.measure(0, chapters=["5"])


def test_chapter4_claims_run_on_a_small_budget(real_data_dir, monkeypatch):
    """A smoke test of the measurement path: two ratios come back; their size is not checked."""
    monkeypatch.setenv("COMPANION_DATA_DIR", str(real_data_dir))
    tiny = Profile(name="quick", train_size=256, epochs=1, seeds=1)
    claims = loadbench.chapter4_claims(tiny)
    assert [c.at_least for c in claims] == [1.1, 1.2]
    assert all(np.isfinite(c.ratio) and c.ratio > 0 for c in claims)
    assert "11 rounds" in claims[0].detail and "41 rounds" in claims[1].detail


def _chapter4_timing_sizes(budget):
    """ROUNDS and TIMING_IMAGES as chapter 4's timing cell sets them in ``budget``."""
    cells = json.loads((BOOK / "04_batch_normalization.ipynb").read_text())["cells"]
    sizes = {}
    for cell in cells:
        for line in "".join(cell["source"]).splitlines():
            if cell["cell_type"] == "code" and line.startswith(("ROUNDS =", "TIMING_IMAGES =")):
                name, expression = line.split("=", 1)
                sizes[name.strip()] = eval(expression, {"budget": budget})  # the cell's pick
    return sizes["TIMING_IMAGES"], sizes["ROUNDS"]


@pytest.mark.parametrize("name", ["quick", "full"])
def test_chapter4_times_epochs_on_the_chapters_images_and_rounds(real_data_dir, monkeypatch,
                                                                 name):
    """As chapter 4's timing cell: the first 5,000 (quick) or 10,000 (full) training images."""
    monkeypatch.setenv("COMPANION_DATA_DIR", str(real_data_dir))
    monkeypatch.setattr(loadbench, "train", lambda *args, **kwargs: None)
    seen = {}

    def stop(nets, data, **kwargs):
        seen["images"], seen["rounds"] = len(data.x_train), kwargs["rounds"]
        raise RuntimeError("measured")

    monkeypatch.setattr(loadbench, "epoch_seconds", stop)
    budget = Profile(name=name, train_size=12_000, epochs=1, seeds=1)
    with pytest.raises(RuntimeError, match="measured"):
        loadbench.chapter4_claims(budget)
    assert (seen["images"], seen["rounds"]) == _chapter4_timing_sizes(budget)
    assert seen == {"quick": {"images": 5_000, "rounds": 11},
                    "full": {"images": 10_000, "rounds": 15}}[name]
