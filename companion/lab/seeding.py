"""One seeding rule: the seed given to :func:`companion.setup` governs every experiment.

:func:`companion.setup` records its seed here (:func:`set_course_seed`). A driver of
the lab (``compare``, ``bake_off``, ``depth_sweep``, ``time_to_accuracy``,
``run_seeds``...) that is not given a seed explicitly uses this one, and a loop over
several seeds derives them from it (:func:`derive_seeds`): change the seed of
``setup`` and every result changes; keep it and every result repeats. Tools
(``companion.tools``) never seed on their own: they draw from the global random
state, or from a seed passed to them.

Example:
    >>> set_course_seed(7)
    >>> course_seed(), resolve_seed(None), resolve_seed(3)
    (7, 7, 3)
    >>> derive_seeds(3)
    [7, 8, 9]
"""

import numbers
from collections.abc import Iterable

from companion._quiet import keras
from companion.tools.checks import check_int

DEFAULT_SEED = 42
_state = {"seed": DEFAULT_SEED}


def set_course_seed(seed):
    """Make ``seed`` the default of every driver (:func:`companion.setup` calls this)."""
    _state["seed"] = check_int("seed", seed, minimum=0)


def course_seed():
    """The seed of the last :func:`companion.setup` (42 before any)."""
    return _state["seed"]


def resolve_seed(seed=None):
    """``seed`` when given, else the course seed.

    Example:
        >>> resolve_seed(5)
        5
    """
    return course_seed() if seed is None else check_int("seed", seed, minimum=0)


def derive_seeds(count, seed=None):
    """``count`` consecutive seeds starting at ``seed`` (default: the course seed).

    Example:
        >>> derive_seeds(2, seed=10)
        [10, 11]
    """
    base = resolve_seed(seed)
    return [base + i for i in range(check_int("count", count, minimum=1))]


def reseed(seed=None):
    """Seed Python, NumPy and Keras with ``seed`` (default: the course seed); return it.

    A notebook calls this before an experiment that must start from the same
    random state whatever ran before it.

    Example:
        >>> reseed(3)
        3
    """
    seed = resolve_seed(seed)
    keras.utils.set_random_seed(seed)
    return seed


def seed_list(seeds=None, *, name="seeds"):
    """The seeds of a multi-seed loop: a count, an iterable of seeds, or ``None``.

    A count ``n`` gives :func:`derive_seeds` ``(n)``, the course seed and the
    ``n - 1`` after it; ``None`` gives the course seed alone; an iterable is
    checked (distinct non-negative integers) and returned as a list.

    Example:
        >>> set_course_seed(42)
        >>> seed_list(3), seed_list(None), seed_list([0, 5])
        ([42, 43, 44], [42], [0, 5])
    """
    if seeds is None:
        return [course_seed()]
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return derive_seeds(check_int(name, seeds, minimum=1))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ValueError(f"{name} must be a count >= 1 or distinct non-negative integers, "
                         f"got {seeds!r}")
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"{name} must be a count >= 1 or distinct non-negative integers, "
                         f"got {seeds!r}")
    return [check_int(f"{name}[{i}]", seed, minimum=0) for i, seed in enumerate(seeds)]
