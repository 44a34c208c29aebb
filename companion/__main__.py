"""Command line: ``python -m companion info`` and ``python -m companion data``."""

import argparse
import platform
import sys


def _info(args):
    import numpy as np

    import companion
    from companion import profiles, runtime
    from companion._quiet import keras, tf

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
    from companion import data

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
            match = data.content_sha256(directory / name) == data.CONTENT_SHA256[name]
            verdict = "ok" if match else "readable, but its content differs from the reference"
        except data.DataError as err:
            verdict, status = f"ERROR {err}", 1
        print(f"  {name:28s} {verdict}")
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m companion",
                                     description="The course's companion package.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="versions, devices, profile, data location and integrity")
    info.add_argument("--data-dir", default=None, help="a directory to search first")
    check = commands.add_parser("data", help="locate and verify Fashion-MNIST; exit 1 when missing")
    check.add_argument("--data-dir", default=None, help="a directory to search first")
    args = parser.parse_args(argv)
    return _info(args) if args.command == "info" else _data(args)


if __name__ == "__main__":
    sys.exit(main())
