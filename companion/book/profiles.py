"""Quick and full budgets, chosen by the ``COMPANION_PROFILE`` environment variable.

The quick profile is for CI and nbval (each chapter in at most 90 s on two CPU
cores); the full profile, the default, is what the published book shows. Both
demonstrate every effect a chapter claims; the full one with more data, epochs and
seeds. This module is the only place that reads the variable.
"""

import dataclasses
import os

ENV_VAR = "COMPANION_PROFILE"
DEFAULT = "full"


@dataclasses.dataclass(frozen=True)
class Profile:
    """A named compute budget.

    Attributes:
        name: ``"quick"`` or ``"full"``.
        train_size: number of training images chapters train on.
        epochs: epochs for a typical training run.
        seeds: how many seeds a multi-seed comparison uses.

    Example:
        >>> Profile(name="quick", train_size=5000, epochs=3, seeds=3).pick(quick=1, full=10)
        1
    """

    name: str
    train_size: int
    epochs: int
    seeds: int

    def pick(self, *, quick, full):
        """Return ``quick`` or ``full`` according to this profile.

        Chapters use it for budgets of their own, e.g.
        ``steps = cp.profile().pick(quick=50, full=300)``.
        """
        return quick if self.name == "quick" else full

    @property
    def is_quick(self):
        return self.name == "quick"


PROFILES = {
    "quick": Profile(name="quick", train_size=10_000, epochs=3, seeds=3),
    "full": Profile(name="full", train_size=55_000, epochs=10, seeds=10),
}


def profile(name=None):
    """Return the active :class:`Profile`.

    Args:
        name: ``"quick"`` or ``"full"``; by default the value of the
            ``COMPANION_PROFILE`` environment variable, or ``"full"`` when unset.

    Example:
        >>> profile("quick").epochs
        3
    """
    if name is None:
        raw = os.environ.get(ENV_VAR, "")
        name = raw.strip().lower() or DEFAULT
        if name not in PROFILES:
            raise ValueError(f"the environment variable {ENV_VAR}={raw!r} names no profile; "
                             f"valid choices: {sorted(PROFILES)} (or unset it for {DEFAULT!r})")
        return PROFILES[name]
    if not isinstance(name, str) or name.strip().lower() not in PROFILES:
        raise ValueError(f"unknown profile name {name!r}; valid choices: {sorted(PROFILES)}")
    return PROFILES[name.strip().lower()]
