"""Command line: ``python -m companion info``, ``data``, ``steps``, ``bench``, ``claims``,
``loadbench`` and ``walltime``."""

import argparse
import contextlib
import os
import pathlib
import platform
import statistics
import sys

import numpy as np
import rich.console
import rich.progress

import companion
from companion._quiet import keras, tf
from companion.book import ledger, loadbench, profiles, runtime, walltime
from companion.lab import bench, data, models, recipes, training


def _info(args):
    print(f"companion   {companion.__version__}")
    print(f"python      {platform.python_version()}")
    print(f"tensorflow  {tf.__version__}")
    print(f"keras       {keras.__version__}")
    print(f"numpy       {np.__version__}")
    print(f"devices     {runtime.device_summary()}")
    chosen = profiles.profile()
    print(f"profile     {chosen.name} (set ${profiles.ENV_VAR} to quick or full; "
          f"train_size={chosen.train_size}, epochs={chosen.epochs}, seeds={chosen.seeds})")
    return _data(args)


def _data(args):
    try:
        directory = data.locate(args.data_dir)
    except data.DataError as err:
        print(f"data        error: {err}")
        return 1
    if directory is None:
        searched = ", ".join(str(d) for d in data.candidate_dirs(args.data_dir))
        print(f"data        not found (searched {searched}); "
              "apt-get install dataset-fashion-mnist, or run online once")
        return 1
    print(f"data        {directory}")
    status = 0
    for name, (magic, shape) in data.FILES.items():
        try:
            data.read_idx(directory / name, magic, shape)
            if data.content_sha256(directory / name) == data.CONTENT_SHA256[name]:
                verdict = "ok"
            else:  # loads, but the book's numbers will not come out of it
                verdict = "ERROR readable, but its content differs from the reference"
                status = 1
        except data.DataError as err:
            verdict, status = f"ERROR {err}", 1
        print(f"  {name:28s} {verdict}")
    return status


def _steps(args):
    """Median seconds per epoch of a small MLP for several steps_per_execution values."""
    runtime.setup(seed=0)
    fashion = data.load_fashion_mnist(train_size=args.train_size)
    print(f"epoch of {args.train_size} images, 5x100 ReLU MLP, batch 32, "
          f"median over {args.repeats} runs (first epoch, with tracing, excluded)")
    baseline = None
    for steps in args.values:
        seconds = []
        for _ in range(args.repeats):
            result = training.train(models.build_mlp(depth=5, width=100), fashion, epochs=2,
                                    steps_per_execution=steps, evaluate=False)
            seconds.append(float(result.history["seconds"].iloc[-1]))
        median = statistics.median(seconds)
        baseline = baseline or median
        print(f"steps_per_execution={steps:3d}: {median:.3f} s  (x{baseline / median:.2f})")
    return 0


def _bench(args):
    """The time-to-accuracy benchmark of chapter 9: print its table, write its JSON.

    The ``--json`` path's directory is checked before any training, and a
    progress bar (rich, on standard error) counts the runs.
    """
    if args.json:
        folder = pathlib.Path(args.json).expanduser().resolve().parent
        if not folder.is_dir():
            raise ValueError(f"--json {args.json!r}: its directory {str(folder)!r} does not "
                             "exist; create it first or name a path in an existing one")
        if not os.access(folder, os.W_OK):
            raise ValueError(f"--json {args.json!r}: its directory {str(folder)!r} is not "
                             "writable")
    schedules = _schedule_epochs(args.schedule_epochs)
    runtime.setup(seed=args.first_seed, announce=False)
    with _progress_bar(args.progress) as advance:
        result = bench.time_to_accuracy(args.configs, target=args.target, seeds=args.seeds,
                                        max_epochs=args.max_epochs,
                                        train_size=args.train_size,
                                        batch_size=args.batch_size,
                                        schedule_epochs=schedules, progress=advance)
    sizes = result.settings["batch_sizes"]
    batches = ", ".join(f"{name} {size}" for name, size in sizes.items())
    print(f"Fashion-MNIST, {result.settings['train_size']} training images, batch sizes "
          f"{batches}, seeds {result.settings['seeds']}")
    laid = result.settings.get("schedule_epochs", {})
    scheduled = [name for name in laid if recipes.recipe_defaults(name).get("schedule")]
    if scheduled:  # the constant-rate recipes have no schedule to lay
        print("schedules laid over " + ", ".join(f"{name} {laid[name]}" for name in scheduled)
              + " epochs")
    print(result.table())
    if args.json:
        result.to_json(args.json)
        print(f"wrote {args.json}")
    return 0


def _schedule_epochs(pairs):
    """``["default=8", ...]`` as ``{"default": 8}``: the ``--schedule-epochs`` option."""
    epochs = {}
    for pair in pairs or ():
        name, _, value = pair.partition("=")
        try:
            number = int(value)
        except ValueError:
            number = None
        if not name or number is None or number < 1:
            raise ValueError(f"--schedule-epochs {pair!r}: write NAME=EPOCHS with a recipe "
                             f"name and an integer >= 1, e.g. default=8")
        epochs[name] = number
    return epochs or None


@contextlib.contextmanager
def _progress_bar(mode):
    """A rich progress bar on standard error, as a ``progress`` function for the benchmark.

    ``mode`` is ``"auto"`` (a bar when standard error is a terminal), ``"on"`` or
    ``"off"``; the bar is removed when the benchmark ends.
    """
    if mode == "off" or (mode == "auto" and not sys.stderr.isatty()):
        yield None
        return
    console = rich.console.Console(file=sys.stderr, force_terminal=mode == "on" or None)
    columns = (rich.progress.TextColumn("{task.description}"), rich.progress.BarColumn(),
               rich.progress.MofNCompleteColumn(), rich.progress.TimeElapsedColumn(),
               rich.progress.TimeRemainingColumn())
    with rich.progress.Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("runs", total=None)

        def advance(done, total, name, seed):
            bar.update(task, completed=done, total=total,
                       description=f"runs (last: {name}, seed {seed})")

        yield advance


def _walltime(args):
    """Per-notebook and per-cell times of the last nbval run (and the book's cache)."""
    print(walltime.report(args.build_dir, profile=args.profile, slowest=args.slowest))
    return 0


def _claims(args):
    """The claim ledger of a build, smallest margin first: the verification report as text."""
    where = args.build_dir or os.environ.get(ledger.LEDGER_ENV, "").strip() or "_build"
    try:
        records = ledger.read_ledger(where)
    except FileNotFoundError as err:
        print(f"{err}; build the book (make book) or run the notebooks under nbval "
              "(make test: ledger in _build/claims-nbval) first")
        return 1
    if not records:
        print(f"the claim ledger at {where} holds no claim")
        return 1
    print(ledger.format_report(records))
    return 0 if all(r.get("passed") for r in records) else 1


def _loadbench(args):
    """The timing claims of chapters 4 and 9 beside busy loops: ratios, thresholds, margins."""
    runtime.setup(seed=42, announce=False)  # the chapters' seed
    budget = profiles.profile()
    print(f"{budget.name} profile; {args.busy} busy loop(s) beside; "
          f"{os.cpu_count()} CPUs; {ledger.machine()['cpu']}")
    claims, info = loadbench.measure(args.busy, args.chapters, budget)
    print(loadbench.format_claims(claims))
    before, after = info["load_before"], info["load_after"]
    print(f"took {info['seconds']:.0f} s; load average (1, 5, 15 min) before "
          f"{before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, after "
          f"{after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m companion",
                                     description="The course's companion package.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="versions, devices, profile, data location and integrity")
    info.add_argument("--data-dir", default=None, help="a directory to search first")
    check = commands.add_parser("data", help="locate and verify Fashion-MNIST; exit 1 when "
                                "missing, damaged or different from the reference")
    check.add_argument("--data-dir", default=None, help="a directory to search first")
    steps = commands.add_parser("steps", help="time training for several steps_per_execution values")
    steps.add_argument("values", nargs="*", type=int, default=[1, 4, 16, 64])
    steps.add_argument("--train-size", type=int, default=10_000)
    steps.add_argument("--repeats", type=int, default=3)
    race = commands.add_parser("bench", help="time-to-accuracy benchmark of the chapter 9 recipes")
    race.add_argument("--configs", nargs="+", default=["keras_defaults", "sgd_1cycle", "default"],
                      help="recipe names (companion.lab.recipes.RECIPES)")
    race.add_argument("--seeds", type=int, default=3, help="how many seeds")
    race.add_argument("--first-seed", type=int, default=0,
                      help="the seeds are this one and the ones after it (chapter 9: 42)")
    race.add_argument("--target", type=float, default=0.85, help="validation accuracy to reach")
    race.add_argument("--max-epochs", type=int, default=10, help="epoch cap of every run")
    race.add_argument("--train-size", type=int, default=10_000)
    race.add_argument("--batch-size", type=int, default=None,
                      help="one batch size for every configuration (default: each "
                           "recipe's own)")
    race.add_argument("--schedule-epochs", nargs="+", default=None, metavar="NAME=EPOCHS",
                      help="the epochs a configuration's schedule is laid over (default: "
                           "its recipe's own, e.g. default's 8, capped at --max-epochs; "
                           "else the cap)")
    race.add_argument("--json", default=None, help="write the runs and the summary here "
                      "(its directory is checked before training)")
    race.add_argument("--progress", choices=["auto", "on", "off"], default="auto",
                      help="a progress bar on standard error (auto: when it is a terminal)")
    times = commands.add_parser("walltime", help="where the time of make test / make book goes")
    times.add_argument("--build-dir", default="_build")
    times.add_argument("--profile", default="quick", choices=["quick", "full"])
    times.add_argument("--slowest", type=int, default=10, help="how many of the slowest cells")
    claims = commands.add_parser(
        "claims", help="the claim ledger of a build, smallest relative margin first; "
                       "exit 1 when it is missing or a claim failed")
    claims.add_argument("build_dir", nargs="?", default=None,
                        help="a build directory holding claims/, or a ledger directory "
                             f"(default: ${ledger.LEDGER_ENV}, else _build)")
    load = commands.add_parser(
        "loadbench", help="the timing claims of chapters 4 and 9 beside N busy loops: "
                          "ratios, thresholds, margins")
    load.add_argument("--busy", type=int, default=0, help="busy-loop processes beside")
    load.add_argument("--chapters", nargs="+", default=["4", "9"],
                      choices=sorted(loadbench.CHAPTERS))
    args = parser.parse_args(argv)
    command = {"info": _info, "data": _data, "steps": _steps, "bench": _bench,
               "claims": _claims, "loadbench": _loadbench, "walltime": _walltime}[args.command]
    try:
        profiles.profile()  # a bad $COMPANION_PROFILE stops every command before it prints
    except ValueError as error:  # the environment is wrong, not the command line: no usage
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    try:
        return command(args)
    except ValueError as error:  # bad arguments: one line, not a traceback
        parser.error(str(error))


if __name__ == "__main__":
    sys.exit(main())
