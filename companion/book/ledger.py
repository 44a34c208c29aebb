"""The claim ledger: every claim of a run, its measured value and its margin, on disk.

:func:`~companion.book.claims.claim` calls :func:`record` for every claim it checks, passed or
failed. A record is one JSON object: the statement, the measured value, the bounds,
whether it held, the relative margin to the nearest bound (:func:`relative_margin`),
the profile, the chapter and the machine (:func:`machine`). The records of one
chapter go to ``<ledger dir>/<chapter>.jsonl``, one JSON object a line, rewritten
as a whole at every claim so that the file always holds the latest value of each
statement of the current kernel (a cell run twice replaces its record).

Where the ledger goes is chosen by the runner, through two environment variables:

* ``COMPANION_LEDGER_DIR``: the directory. The book's build sets it to
  ``<build dir>/claims`` (``_build/claims``) unless it is set already. The chapters
  are executed by nbval under ``make test`` and ``make execute``, whose executions the
  book reuses (:mod:`companion.book.nbcache`), so the Makefile points them at the same
  ``_build/claims``; a plain ``pytest --nbval-lax`` run records to
  ``_build/claims-nbval``, apart from the build's. Unset or
  empty, nothing is written: a learner's Jupyter session or Colab is not a build.
* ``COMPANION_CHAPTER``: the chapter's name, the notebook's file name without
  ``.ipynb``, set per notebook by the same runners. Without it, the notebook path
  a Jupyter server gives its kernels (``JPY_SESSION_NAME``) is used, else
  ``"unknown"``.

A ledger that was asked for and cannot be written is an error
(:class:`LedgerError`), which fails the page: a claim silently missing from the
ledger would make the verification report look stronger than the build was.

Read a ledger back with :func:`read_ledger`; :func:`format_report` prints the
table of ``python -m companion claims``, and the book's *Verification report*
page shows the same rows (:func:`report_rows`).
"""

import datetime
import functools
import json
import math
import numbers
import os
import pathlib
import platform
import re

import numpy as np

from companion._quiet import keras, tf
from companion.book.profiles import profile
from companion.book.runtime import device_summary

LEDGER_ENV = "COMPANION_LEDGER_DIR"
CHAPTER_ENV = "COMPANION_CHAPTER"
WEAK_MARGIN = 0.20  # margins below this are marked in the report
_BOUND_KEYS = ("at_least", "at_most")


class LedgerError(OSError):
    """The ledger directory that the run asked for cannot be written."""


def relative_margin(value, *, at_least=None, at_most=None):
    """How far ``value`` lies inside its bounds, as a fraction of the nearest bound.

    For a lower bound ``b`` (``at_least``) the margin is ``(value - b) / |b|``;
    for an upper bound ``b`` (``at_most``) it is ``(b - value) / |b|``. With both
    bounds, the smaller of the two. The margin is the relative change of the
    value (or of the bound) that would flip the claim: 0.2 means that a value 20%
    of the bound lower (for ``at_least``) would fail. It is negative when the
    value lies outside.

    A bound of 0 gives no scale of its own: with a second, non-zero bound, that
    bound's magnitude is the scale of both (the margin is then a fraction of the
    range ``[0, b]``); alone, its relative margin is undefined. Infinite bounds
    constrain nothing and are ignored.

    Returns:
        A float, or ``None`` when no finite bound gives a scale, or when
        ``value`` is NaN.

    Example:
        >>> relative_margin(1.5, at_least=1.25)    # (1.5 - 1.25) / 1.25
        0.2
        >>> relative_margin(0.25, at_most=1.0)     # (1.0 - 0.25) / 1.0
        0.75
        >>> relative_margin(0.75, at_least=0.5, at_most=1.0)    # min(0.5, 0.25)
        0.25
        >>> relative_margin(0.125, at_least=0.0, at_most=0.5)   # scale 0.5: min(0.25, 0.75)
        0.25
        >>> relative_margin(0, at_most=0) is None
        True
    """
    margins = _side_margins(value, at_least=at_least, at_most=at_most)
    return min(margins.values()) if margins else None


def _side_margins(value, *, at_least=None, at_most=None):
    """The relative margin to each bound that has one (see ``relative_margin``)."""
    value = _real("value", value)
    bounds = {key: _real(key, bound) for key, bound in
              (("at_least", at_least), ("at_most", at_most)) if bound is not None}
    bounds = {key: bound for key, bound in bounds.items() if math.isfinite(bound)}
    if math.isnan(value):
        return {}
    nonzero = [abs(bound) for bound in bounds.values() if bound != 0]
    margins = {}
    for key, bound in bounds.items():
        scale = abs(bound) if bound != 0 else (nonzero[0] if nonzero else None)
        if scale is not None:
            gap = value - bound if key == "at_least" else bound - value
            margins[key] = float(gap / scale)
    return margins


def _real(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


@functools.lru_cache(maxsize=1)
def machine():
    """The machine a claim was measured on: CPU model and features, cores, versions.

    Example:
        >>> sorted(machine())  # doctest: +NORMALIZE_WHITESPACE
        ['cores', 'cpu', 'devices', 'keras', 'onednn', 'platform', 'python', 'simd',
         'tensorflow']
    """
    cpu, flags = _cpu_info()
    simd = next((name for name in ("avx512f", "avx2", "avx", "neon", "asimd")
                 if name in flags), "")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    return {"cpu": cpu, "simd": simd, "cores": cores,
            "platform": platform.platform(terse=True), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "devices": device_summary(),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")}


def _cpu_info():
    """The CPU's model name and feature flags, from /proc/cpuinfo where there is one."""
    model, flags = "", set()
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model or platform.processor() or platform.machine() or "unknown", flags


def ledger_dir(environ=None):
    """The directory the run asked the ledger to go to (``$COMPANION_LEDGER_DIR``), or ``None``.

    Example:
        >>> ledger_dir({"COMPANION_LEDGER_DIR": "/tmp/claims"}).as_posix()
        '/tmp/claims'
        >>> ledger_dir({"COMPANION_LEDGER_DIR": ""}) is None
        True
    """
    environ = os.environ if environ is None else environ
    value = environ.get(LEDGER_ENV, "").strip()
    return pathlib.Path(value) if value else None


def chapter_name(environ=None):
    """The running notebook's name: ``$COMPANION_CHAPTER``, else the Jupyter session's notebook.

    ``environ`` defaults to ``os.environ``.

    Example:
        >>> chapter_name({"COMPANION_CHAPTER": "04_batch_normalization"})
        '04_batch_normalization'
        >>> chapter_name({"JPY_SESSION_NAME": "/home/me/book/09_practical_guidelines.ipynb"})
        '09_practical_guidelines'
        >>> chapter_name({})
        'unknown'
    """
    environ = os.environ if environ is None else environ
    name = environ.get(CHAPTER_ENV, "").strip()
    if not name:
        session = environ.get("JPY_SESSION_NAME", "").strip()
        name = pathlib.PurePath(session).name if session else ""
        name = name[:-len(".ipynb")] if name.endswith(".ipynb") else name
    # the name becomes a file name: keep it to safe characters
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "unknown"


# The records this process wrote, per ledger file, keyed by statement.
_WRITTEN = {}


def record(statement, measured, *, at_least=None, at_most=None, holds=None, passed):
    """Add one checked claim to the ledger, if the run asked for one; return the record.

    Called by :func:`~companion.book.claims.claim`; ``holds`` is given for a claim checked
    by a bool, ``at_least``/``at_most`` for a bounded one.

    Raises:
        LedgerError: the ledger directory cannot be created or written.

    Example:
        >>> rec = record("loss is small", 0.25, at_most=1.0, passed=True)
        >>> rec["margin"], rec["nearest"]
        (0.75, 'at_most')
    """
    bounded = holds is None
    margins = _side_margins(measured, at_least=at_least, at_most=at_most) if bounded else {}
    nearest = min(margins, key=margins.get) if margins else None
    margin = margins[nearest] if margins else None
    entry = {"chapter": chapter_name(), "statement": statement,
             "kind": "bounds" if bounded else "holds",
             "measured": _jsonable(measured), "at_least": _jsonable(at_least),
             "at_most": _jsonable(at_most), "passed": bool(passed),
             "margin": _jsonable(margin), "nearest": nearest,
             "profile": profile().name, "machine": machine(),
             "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    directory = ledger_dir()
    if directory is not None:
        _write(directory / f"{entry['chapter']}.jsonl", entry)
    return entry


def _write(path, entry):
    """Rewrite ``path`` with this process's records for it, ``entry`` added or replacing."""
    records = _WRITTEN.setdefault(str(path.absolute()), {})
    records[entry["statement"]] = entry  # a cell run again replaces its record in place
    text = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n"
                   for r in records.values())
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, path)  # readers never see half a file
    except OSError as err:
        raise LedgerError(
            f"cannot write the claim ledger {path}: {err}. ${LEDGER_ENV} asks for a ledger "
            f"in {path.parent}; make it writable, or unset ${LEDGER_ENV} to run without "
            "one") from err


def _jsonable(value):
    """A JSON value for a measured value or bound: numbers stay numbers; inf and NaN become text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else str(value)
    return str(value)


def _number(value):
    """The inverse of ``_jsonable`` for margins: "inf" and "nan" back to floats."""
    return float(value) if isinstance(value, str) else value


def read_ledger(path):
    """Every record of a ledger: ``path`` is the ledger directory or a build directory.

    A build directory is one that holds the ledger as ``claims/`` (``_build``
    for ``_build/claims``). Records come chapter by chapter (files in name order),
    each chapter's in the order its claims first ran.

    Raises:
        FileNotFoundError: there is no such directory.
        ValueError: a line of a ledger file is not a JSON record.

    Example:
        >>> records = read_ledger("_build")  # doctest: +SKIP
        >>> records[0]["statement"], records[0]["margin"]  # doctest: +SKIP
        ('gradients vanish in the sigmoid network', 0.92)
    """
    path = pathlib.Path(path)
    directory = path / "claims" if (path / "claims").is_dir() else path
    if not directory.is_dir():
        raise FileNotFoundError(f"no claim ledger at {path}: neither {path / 'claims'} "
                                f"nor {path} is a directory")
    records = []
    for file in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{file}, line {number}: not a JSON record ({err})") from err
            if not isinstance(entry, dict) or "statement" not in entry:
                raise ValueError(f"{file}, line {number}: not a claim record")
            entry["margin"] = _number(entry.get("margin"))
            records.append(entry)
    return records


def _show(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    return f"{value:.3g}"


def required_text(entry):
    """The bounds of a record as text, e.g. ``">= 1.1"``, or ``"holds"`` for a bool claim."""
    if entry.get("kind") == "holds":
        return "holds"
    parts = [f"{sign} {_show(entry[key])}" for key, sign in (("at_least", ">="),
                                                             ("at_most", "<="))
             if entry.get(key) is not None]
    return " and ".join(parts)


def report_rows(records):
    """The rows of the verification report: ``(ranked, unranked)``.

    ``ranked`` holds the claims with a relative margin, smallest margin first
    (a failed claim's is negative); ``unranked`` those without one (claims
    checked by a bool, and claims bounded by 0 alone), failed ones first, then
    in chapter order. Every row is a dict with ``chapter``, ``statement``,
    ``measured`` and ``required`` (text), ``margin`` (float or ``None``),
    ``passed`` and ``weak`` (margin below :data:`WEAK_MARGIN`).

    Example:
        >>> ranked, unranked = report_rows([
        ...     {"chapter": "a", "statement": "s1", "kind": "bounds", "measured": 1.3,
        ...      "at_least": 1.2, "at_most": None, "passed": True, "margin": 1 / 12},
        ...     {"chapter": "a", "statement": "s2", "kind": "holds", "measured": "ok",
        ...      "at_least": None, "at_most": None, "passed": True, "margin": None}])
        >>> [(r["statement"], r["required"], r["weak"]) for r in ranked]
        [('s1', '>= 1.2', True)]
        >>> [(r["statement"], r["required"]) for r in unranked]
        [('s2', 'holds')]
    """
    rows = [{"chapter": r.get("chapter", "unknown"), "statement": r["statement"],
             "measured": _show(r.get("measured")), "required": required_text(r),
             "margin": r.get("margin"), "passed": bool(r.get("passed")),
             "weak": r.get("margin") is not None and r["margin"] < WEAK_MARGIN}
            for r in records]
    ranked = sorted((row for row in rows if row["margin"] is not None),
                    key=lambda row: row["margin"])
    unranked = sorted((row for row in rows if row["margin"] is None),
                      key=lambda row: row["passed"])  # stable: chapter order otherwise
    return ranked, unranked


def describe_runs(records):
    """One line per distinct (profile, machine) of the records, e.g. for the report's header."""
    seen = {}
    for entry in records:
        box = entry.get("machine") or {}
        simd = f", {box['simd']}" if box.get("simd") else ""
        line = (f"{entry.get('profile', '?')} profile; {box.get('cpu', '?')} "
                f"({box.get('cores', '?')} cores{simd}); {box.get('devices', '?')}; "
                f"TensorFlow {box.get('tensorflow', '?')}, Keras {box.get('keras', '?')}")
        seen.setdefault(line, set()).add(entry.get("chapter", "unknown"))
    return [f"{line} ({len(chapters)} chapter{'s' if len(chapters) != 1 else ''})"
            for line, chapters in seen.items()]


def format_report(records):
    """The verification report as plain text: what ``python -m companion claims`` prints.

    Example:
        >>> print(format_report([
        ...     {"chapter": "04_bn", "statement": "BN costs more", "kind": "bounds",
        ...      "measured": 1.3, "at_least": 1.1, "at_most": None, "passed": True,
        ...      "margin": 0.2 / 1.1, "profile": "quick", "machine": {}}]))
        ... # doctest: +NORMALIZE_WHITESPACE
        1 claim: 1 passed, 0 failed; 1 with a relative margin, 1 of them under 20%
        quick profile; ? (? cores); ?; TensorFlow ?, Keras ? (1 chapter)
        <BLANKLINE>
        margin           chapter   measured  required  claim
        +18.2%  < 20%    04_bn     1.3       >= 1.1    BN costs more
    """
    ranked, unranked = report_rows(records)
    failed = sum(not row["passed"] for row in ranked + unranked)
    weak = sum(row["weak"] for row in ranked)
    lines = [f"{len(records)} claim{'s' if len(records) != 1 else ''}: "
             f"{len(records) - failed} passed, {failed} failed; {len(ranked)} with a "
             f"relative margin, {weak} of them under {WEAK_MARGIN:.0%}",
             *describe_runs(records)]

    def table(rows, first):
        width = {key: max([len(header)] + [len(row[key]) for row in rows])
                 for key, header in (("chapter", "chapter"), ("measured", "measured"),
                                     ("required", "required"))}
        out = [f"{first:16s} {'chapter':{width['chapter']}s}  "
               f"{'measured':{width['measured']}s}  {'required':{width['required']}s}  claim"]
        for row in rows:
            out.append(f"{_lead(row):16s} {row['chapter']:{width['chapter']}s}  "
                       f"{row['measured']:{width['measured']}s}  "
                       f"{row['required']:{width['required']}s}  {row['statement']}")
        return out

    if ranked:
        lines += ["", *table(ranked, "margin")]
    if unranked:
        lines += ["", "claims without a relative margin (checked by a bool, or bounded "
                  "by 0 alone):", *table(unranked, "result")]
    return "\n".join(lines)


def _lead(row):
    """The first column of a report row: the margin and its mark, or the result."""
    if row["margin"] is None:
        return "ok" if row["passed"] else "FAILED"
    mark = "FAILED" if not row["passed"] else (f"< {WEAK_MARGIN:.0%}" if row["weak"] else "")
    return f"{margin_text(row['margin']):7s} {mark}"


def margin_text(margin):
    """A margin as a signed percentage, e.g. ``"+18.2%"``; ``"n/a"`` for ``None``.

    Example:
        >>> margin_text(0.1818), margin_text(-0.05), margin_text(float("inf"))
        ('+18.2%', '-5.0%', '+inf')
    """
    if margin is None:
        return "n/a"
    if math.isinf(margin):
        return "+inf" if margin > 0 else "-inf"
    return f"{100 * margin:+.1f}%"
