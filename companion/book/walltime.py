"""Where the wall time goes: per-notebook and per-cell times of nbval and of the book.

``make test`` and ``make execute`` run the chapters under nbval, which (through
``companion/book/nbcache.py``) writes each notebook's cell times to
``_build/cell-times/<profile>/`` and stores the executed notebooks in Jupyter Book's
cache; the build then reads them from there. :func:`walltime_table` joins the two
records, and ``python -m companion walltime`` prints it with the slowest cells.
"""

import json
import pathlib

import pandas as pd

from companion.tools.checks import check_int


def cell_times(build_dir="_build", *, profile="quick"):
    """The cell times nbval recorded: one row per (notebook, cell).

    Example:
        >>> cell_times("/nonexistent").empty
        True
    """
    rows = []
    for path in sorted(pathlib.Path(build_dir, "cell-times", profile).glob("*.json")):
        record = json.loads(path.read_text())
        rows += [{"notebook": record["notebook"], "passed": record["passed"], **cell}
                 for cell in record["cells"]]
    return pd.DataFrame(rows, columns=["notebook", "passed", "cell", "seconds", "first_line"])


def cached_seconds(build_dir="_build"):
    """Execution seconds of each notebook in the book's cache (what the build reused)."""
    cache_dir = pathlib.Path(build_dir, ".jupyter_cache")
    if not cache_dir.is_dir():
        return {}
    from jupyter_cache import get_cache  # a dependency of the book extra only

    return {pathlib.Path(record.uri).name: record.data.get("execution_seconds")
            for record in get_cache(str(cache_dir)).list_cache_records()}


def walltime_table(build_dir="_build", *, profile="quick"):
    """Per-notebook seconds under nbval (sum of cell times) and in the book's cache.

    Example:
        >>> walltime_table("/nonexistent").empty
        True
    """
    cells = cell_times(build_dir, profile=profile)
    table = cells.groupby("notebook").agg(nbval_seconds=("seconds", "sum"),
                                          cells=("cell", "count"),
                                          passed=("passed", "all"))
    cached = cached_seconds(build_dir)
    table["cached_seconds"] = [cached.get(name) for name in table.index]
    return table


def report(build_dir="_build", *, profile="quick", slowest=10):
    """The text ``python -m companion walltime`` prints."""
    slowest = check_int("slowest", slowest, minimum=0)
    table = walltime_table(build_dir, profile=profile)
    if table.empty:
        return (f"no cell times under {pathlib.Path(build_dir, 'cell-times', profile)}: "
                f"run `make test` (quick) or `make execute PROFILE={profile}` first")
    lines = [f"nbval per notebook ({profile} profile), seconds:",
             table.to_string(float_format=lambda v: f"{v:.1f}"),
             f"total {table['nbval_seconds'].sum():.1f} s over {len(table)} notebooks "
             "(cells run one after the other within a notebook; notebooks two at a time)"]
    if slowest:
        cells = cell_times(build_dir, profile=profile).nlargest(slowest, "seconds")
        lines += ["", f"the {len(cells)} slowest cells:",
                  cells[["notebook", "cell", "seconds", "first_line"]].to_string(index=False)]
    return "\n".join(lines)
