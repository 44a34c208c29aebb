"""How much does TrainingMonitor add to an epoch? A benchmark script, not a test.

Run from the repository root:

    python tests/monitor_overhead.py                  # every=50, a sample of 256 images
    python tests/monitor_overhead.py --every 10 --sample 1024 --steps-per-execution 1

The network is chapter 1's (section 1.5): ten sigmoid layers of 60 units on
Fashion-MNIST, trained with SGD at a learning rate of 0.5 and batches of 32, compiled
as ``cp.train`` compiles it (``steps_per_execution=32`` unless told otherwise). One
model trains for ``2 * rounds`` epochs, one ``fit`` call per epoch, alternating epochs
with and without the monitor (the order within a round alternates too, so that a slow
drift of the machine's speed falls on both kinds alike). A warm-up round, which
includes tracing the training step and the monitor's measurement, is not counted.

The time of an epoch is measured from ``on_epoch_begin`` to ``on_epoch_end`` (as
``cp.train`` does), in wall-clock seconds and in CPU seconds of this process (all its
threads): on a machine shared with other work the CPU time is the steadier figure. It
contains the records the monitor takes every ``every`` steps, but not the record at the
start and the end of each ``fit`` call, which a run of many epochs takes once. The
figure is the median over rounds of the ratio of the two epochs of a round, minus 1;
the whole ``fit`` calls (start and end records, and Keras's set-up, included) are
reported too.
"""

import argparse
import os
import statistics
import time

import companion as cp
from companion._quiet import keras
from companion.tools.monitor import TrainingMonitor
from companion.lab.training import STEPS_PER_EXECUTION


class EpochClock(keras.callbacks.Callback):
    """Wall-clock and CPU seconds of the (single) epoch of a fit call."""

    def on_epoch_begin(self, epoch, logs=None):
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--sample", type=int, default=256, help="examples in the sample")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--steps-per-execution", type=int, default=STEPS_PER_EXECUTION)
    parser.add_argument("--log-dir", default=None, help="also write TensorBoard summaries")
    args = parser.parse_args()

    cp.setup(seed=42)
    data = cp.load_fashion_mnist(train_size=args.train_size)
    model = cp.build_mlp(depth=10, width=60, activation="sigmoid")
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy",
                  steps_per_execution=args.steps_per_execution)
    sample = (data.x_valid[:args.sample], data.y_valid[:args.sample])
    monitor = TrainingMonitor(args.every, sample=sample, log_dir=args.log_dir)

    def epoch(with_monitor):
        timer = EpochClock()
        callbacks = [timer, monitor] if with_monitor else [timer]
        records = len(monitor.to_frame()) if with_monitor else 0
        start = time.perf_counter()
        model.fit(data.x_train, data.y_train, epochs=1, batch_size=32, callbacks=callbacks,
                  verbose=0)
        fit_seconds = time.perf_counter() - start
        records = (len(monitor.to_frame()) - records) // len(monitor.layers) if with_monitor \
            else 0
        return timer.wall, fit_seconds, records, timer.cpu

    epoch(False), epoch(True)  # warm-up: tracing, first records
    rows = []
    for r in range(args.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        result = {kind: epoch(kind) for kind in order}
        rows.append((result[False], result[True]))
    epoch_ratio = [on[0] / off[0] for off, on in rows]
    cpu_ratio = [on[3] / off[3] for off, on in rows]
    fit_ratio = [on[1] / off[1] for off, on in rows]
    steps = -(-len(data.x_train) // 32)
    print(f"network: build_mlp(depth=10, width=60, activation='sigmoid'), SGD(0.5), "
          f"batch 32, steps_per_execution={args.steps_per_execution}")
    print(f"epoch: {steps} steps on {len(data.x_train)} images; monitor every={args.every}, "
          f"sample of {args.sample}, log_dir={args.log_dir}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'round':>5} {'wall off':>9} {'wall on':>9} {'ratio':>6} {'cpu off':>8} "
          f"{'cpu on':>8} {'ratio':>6} {'fit off':>8} {'fit on':>8} {'records/fit':>11}")
    for r, (off, on) in enumerate(rows, 1):
        print(f"{r:5d} {off[0]:8.3f}s {on[0]:8.3f}s {on[0] / off[0]:6.3f} {off[3]:7.3f}s "
              f"{on[3]:7.3f}s {on[3] / off[3]:6.3f} {off[1]:7.3f}s {on[1]:7.3f}s {on[2]:11d}")

    def summary(ratios):
        return (f"{statistics.median(ratios) - 1:+.1%} (min {min(ratios) - 1:+.1%}, "
                f"max {max(ratios) - 1:+.1%})")

    print(f"overhead per epoch, median over {args.rounds} rounds of on/off - 1:")
    print(f"  wall-clock time {summary(epoch_ratio)}")
    print(f"  CPU time        {summary(cpu_ratio)}")
    print(f"  whole fit calls, start and end records included (wall) {summary(fit_ratio)}")

    # A second estimate, steadier on a busy machine: the cost of one record (the
    # measurement and the copy of the kernels that precedes it), timed alone many times,
    # times the records per epoch, over the epoch without the monitor. It uses the
    # monitor's private methods: this is a benchmark of them.
    record, snapshot = [], []
    for _ in range(41):
        start = time.perf_counter()
        monitor._snapshot(0)
        middle = time.perf_counter()
        monitor._record(10**9)
        record.append(time.perf_counter() - middle)
        snapshot.append(middle - start)
    per_record = statistics.median(record) + statistics.median(snapshot)
    per_epoch = steps / args.every
    plain = statistics.median(off[0] for off, _ in rows)
    print(f"one record: {1000 * per_record:.2f} ms (median of 41); {per_epoch:.1f} records "
          f"per epoch of {1000 * plain:.0f} ms (median without the monitor): "
          f"{per_record * per_epoch / plain:+.1%}")

if __name__ == "__main__":
    main()
