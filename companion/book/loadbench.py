"""The book's wall-time claims, measured beside busy neighbours: ``python -m companion loadbench``.

A claim about wall time must hold on a shared machine. This benchmark (not a
test: it asserts nothing, it prints figures) starts ``N`` busy-loop processes
(pure Python ``while True: pass``, each taking a whole core when it can) and then
measures, exactly as the chapters do in the active profile, every timing claim of
the book:

* chapter 4, "an epoch with BN costs more CPU time" (ratio of epoch CPU times, >= 1.1)
  and "the folded model is faster at inference" (ratio of inference CPU times, >= 1.2);
* chapter 9, "the default recipe reaches the target in less wall time than
  keras_defaults" and "... than sgd_1cycle" (ratios of the median seconds to the target
  over seeds, >= 1.0), and a figure the chapter reports but does not claim: the speed-up
  of folding the default recipe's BN layers.

For each it prints the measured ratio, its threshold and the relative margin
(``companion.book.ledger.relative_margin``). The functions here repeat the
chapters' timing cells with the same models, sizes and rounds; a change to one
of those cells must be made here too.
"""

import contextlib
import dataclasses
import os
import subprocess
import sys
import time

import numpy as np

from companion._quiet import keras
from companion.book.ledger import relative_margin
from companion.book.profiles import profile as active_profile
from companion.lab.bench import time_to_accuracy
from companion.lab.data import load_fashion_mnist
from companion.lab.models import build_mlp
from companion.lab.recipes import default_recipe
from companion.lab.seeding import reseed
from companion.lab.training import epoch_seconds, train
from companion.tools.checks import check_int
from companion.tools.folding import fold_batch_norm
from companion.tools.timing import interleaved_inference_time

BUSY_LOOP = "while True: pass"


@contextlib.contextmanager
def busy_loops(n):
    """Run ``n`` busy-loop processes (``python -c "while True: pass"``) for the block's duration.

    They are plain interpreters, not forks of this process, so they hold no
    TensorFlow state; they are killed when the block ends, however it ends.

    Example:
        >>> with busy_loops(1) as loops:
        ...     running = [loop.poll() is None for loop in loops]
        >>> running, [loop.poll() is not None for loop in loops]
        ([True], [True])
    """
    n = check_int("n", n, minimum=0)
    loops = []
    try:
        for _ in range(n):
            loops.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP],
                                          stdin=subprocess.DEVNULL))
        yield loops
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()


@dataclasses.dataclass(frozen=True)
class TimingClaim:
    """One measured timing ratio, its threshold (``None``: reported, not claimed) and details."""

    chapter: str
    claim: str
    ratio: float
    at_least: float = None
    detail: str = ""

    @property
    def margin(self):
        """The relative margin to the threshold, ``(ratio - at_least) / at_least``."""
        if self.at_least is None:
            return None
        return relative_margin(self.ratio, at_least=self.at_least)


def _spread(ratios, unit="round"):
    ratios = np.asarray(ratios, dtype=float)
    return (f"{len(ratios)} {unit}s; per-{unit} ratios min {ratios.min():.2f}, "
            f"quartiles {np.percentile(ratios, 25):.2f}-{np.percentile(ratios, 75):.2f}, "
            f"max {ratios.max():.2f}")


def chapter4_claims(budget=None):
    """Chapter 4's two timing claims, measured as its sections 4.4 and 4.5 do.

    Builds the ten-layer sigmoid networks without and with BN (before the
    activation), trains each for one epoch (the chapter trains three in the quick
    profile, five in the full one; the cost
    of an epoch does not depend on how far training has gone), then times
    interleaved epochs (:func:`~companion.lab.training.epoch_seconds`) and, after folding the
    BN network, interleaved inference on a batch of test images
    (:func:`~companion.tools.timing.interleaved_inference_time`).

    Returns:
        A list of two :class:`TimingClaim`.
    """
    budget = budget or active_profile()
    data = load_fashion_mnist(train_size=budget.train_size)
    nets = {}
    for name, placement in {"no BN": None, "BN before": "before"}.items():
        reseed()
        nets[name] = build_mlp(depth=10, width=100, activation="sigmoid",
                               batch_norm=placement)
        train(nets[name], data, epochs=1, evaluate=False,
              optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    images = budget.pick(quick=5_000, full=10_000)  # the first training images, as timed there
    timing = dataclasses.replace(data, x_train=data.x_train[:images],
                                 y_train=data.y_train[:images])  # views
    cost = epoch_seconds(nets, timing, rounds=budget.pick(quick=11, full=15), clock="cpu")
    epoch_ratios = np.array(cost["BN before"].runs) / np.array(cost["no BN"].runs)
    folded = fold_batch_norm(nets["BN before"])
    times = interleaved_inference_time({"BN": nets["BN before"], "folded": folded},
                                       data.x_test[:256],
                                       rounds=budget.pick(quick=41, full=51), clock="cpu")
    infer_ratios = np.array(times["BN"].runs) / np.array(times["folded"].runs)
    return [
        TimingClaim("4", "an epoch with BN costs more CPU time", float(np.median(epoch_ratios)),
                    1.1, _spread(epoch_ratios)),
        TimingClaim("4", "the folded model is faster at inference",
                    float(np.median(infer_ratios)), 1.2, _spread(infer_ratios)),
    ]


def chapter9_claims(budget=None):
    """Chapter 9's timing claims (wall time to target against two baselines) and its folding.

    Runs the chapter's time-to-accuracy benchmark of section 9.5 (the default recipe
    against ``keras_defaults`` and ``sgd_1cycle``: 10,000 training images, target 0.86,
    cap 25, the profile's seeds, the chapter's schedule lengths) and times the folded
    default recipe as section 9.6 does.

    Returns:
        A list of three :class:`TimingClaim`; the first two have a threshold.
    """
    budget = budget or active_profile()
    cap = 25  # sgd_1cycle's specified length, its schedule laid over the whole cap
    bench = time_to_accuracy(["default", "keras_defaults", "sgd_1cycle"], target=0.86,
                             seeds=budget.pick(quick=3, full=5), max_epochs=cap,
                             train_size=10_000,
                             schedule_epochs={"sgd_1cycle": cap})  # default: its own
    s = bench.summary
    runs = bench.runs.set_index(["configuration", "seed"])
    claims = []
    for base in ("keras_defaults", "sgd_1cycle"):
        ratio = float(s.loc[base, "seconds_median"] / s.loc["default", "seconds_median"])
        per_seed = (runs.loc[base, "seconds_counted"]
                    / runs.loc["default", "seconds_counted"]).to_numpy()
        claims.append(TimingClaim(
            "9", f"the default recipe reaches the target in less wall time than {base}",
            ratio, 1.0,
            f"{int(s.loc[base, 'reached'])}/{len(per_seed)} {base} runs reached it (misses "
            "count at the cap); " + _spread(per_seed, unit="seed")))
    model = default_recipe(total_steps=2, batch_norm="after").model
    x = np.random.default_rng(0).normal(size=(256, 28, 28)).astype("float32")
    times = interleaved_inference_time({"with BN": model, "folded": fold_batch_norm(model)},
                                       x, rounds=budget.pick(quick=10, full=30))
    fold_ratios = np.array(times["with BN"].runs) / np.array(times["folded"].runs)
    claims.append(TimingClaim("9", "folding the default recipe's BN speeds up inference "
                              "(reported, not claimed)", float(np.median(fold_ratios)), None,
                              _spread(fold_ratios)))
    return claims


CHAPTERS = {"4": chapter4_claims, "9": chapter9_claims}


def measure(busy, chapters=("4", "9"), budget=None):
    """Measure the timing claims of ``chapters`` with ``busy`` busy loops running beside.

    Returns:
        ``(claims, info)``: a list of :class:`TimingClaim` and a dict with the
        seconds taken and the load averages before and after.
    """
    busy = check_int("busy", busy, minimum=0)
    unknown = [c for c in chapters if c not in CHAPTERS]
    if unknown or not chapters:
        raise ValueError(f"unknown chapters {list(chapters)}; valid choices: {sorted(CHAPTERS)}")
    info = {"load_before": os.getloadavg()}
    start = time.perf_counter()
    claims = []
    with busy_loops(busy):
        time.sleep(1.0)  # let the loops reach full speed
        for chapter in chapters:
            claims += CHAPTERS[chapter](budget)
    info["seconds"] = time.perf_counter() - start
    info["load_after"] = os.getloadavg()
    return claims, info


def format_claims(claims):
    """The benchmark's table: one line per timing claim, then its details.

    Example:
        >>> print(format_claims([TimingClaim("4", "BN costs more", 1.32, 1.1, "9 rounds")]))
        chapter  ratio  threshold  margin   claim
        4        1.32   >= 1.1     +20.0%   BN costs more
                 9 rounds
    """
    lines = [f"{'chapter':8s} {'ratio':6s} {'threshold':10s} {'margin':8s} claim"]
    for c in claims:
        threshold = f">= {c.at_least:g}" if c.at_least is not None else "-"
        margin = f"{100 * c.margin:+.1f}%" if c.margin is not None else "-"
        lines.append(f"{c.chapter:8s} {c.ratio:<6.2f} {threshold:10s} {margin:8s} {c.claim}")
        if c.detail:
            lines.append(f"{'':8s} {c.detail}")
    return "\n".join(lines)
