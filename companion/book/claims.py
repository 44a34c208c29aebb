"""Claim checks: what a page asserts, tested against what the page measured.

Every claim checked, passed or failed, is also recorded in the run's claim ledger
(``companion.book.ledger``), with its relative margin to the nearest bound.
"""

import dataclasses
import html
import math
import numbers

import numpy as np

from companion.book import ledger
from companion.tools.checks import check_real


class ClaimError(AssertionError):
    """A claim did not hold; the message carries the measured value."""


def _format(value):
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    return f"{value:.3g}"


@dataclasses.dataclass(frozen=True)
class Claim:
    """A verified claim, displayed in the page as ``verified: <statement> (<evidence>)``."""

    statement: str
    evidence: str

    def __str__(self):
        return f"verified: {self.statement} ({self.evidence})"

    __repr__ = __str__

    def _repr_html_(self):
        return ('<div style="border-left:4px solid #2ca02c;padding:0.3em 0.8em;'
                'background:#f0f8f0"><strong>&#10004; verified:</strong> '
                f"{html.escape(self.statement)} <em>({html.escape(self.evidence)})</em></div>")


def claim(statement, measured, *, at_least=None, at_most=None, holds=None):
    """Check that ``measured`` satisfies the bounds, or that ``holds`` is true.

    Give ``at_least`` and/or ``at_most`` for a numeric claim, or ``holds`` (a
    bool computed by the page) for any other; ``measured`` is then the evidence
    shown beside it. The claim is recorded in the run's ledger, if the run asked
    for one (``companion.book.ledger.record``), before it raises or returns.

    Returns:
        A :class:`Claim`, which a notebook displays as "verified: ...".

    Raises:
        ClaimError: when the claim is false, with the measured value.
        OSError: (``companion.book.ledger.LedgerError``) when the ledger the
            run asked for cannot be written.

    Example:
        >>> claim("gradient ratio exceeds 1000", 2.5e4, at_least=1000)
        verified: gradient ratio exceeds 1000 (measured 2.5e+04; required >= 1,000)
        >>> claim("two runs agree", "max difference 0.0", holds=True)
        verified: two runs agree (max difference 0.0)
    """
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"statement must be a non-empty string, got {statement!r}")
    bounded = at_least is not None or at_most is not None
    if bounded == (holds is not None):
        raise ValueError("give at_least and/or at_most, or holds, but not both kinds")
    if holds is not None:
        if not isinstance(holds, (bool, np.bool_)):
            raise ValueError(f"holds must be a bool, got {holds!r}")
        evidence = measured if isinstance(measured, str) else f"measured {_format(measured)}"
        ledger.record(statement, measured, holds=bool(holds), passed=bool(holds))
        if not bool(holds):
            raise ClaimError(f"claim failed: {statement} ({evidence})")
        return Claim(statement, evidence)
    if isinstance(measured, bool) or not isinstance(measured, numbers.Real):
        raise ValueError(f"measured must be a real number for a bounded claim, got {measured!r}")
    # A NaN bound would make every comparison false and fail the claim with a message
    # that blames the measurement; an inverted interval could never hold.
    for name, bound in (("at_least", at_least), ("at_most", at_most)):
        if bound is not None:
            check_real(name, bound, finite=False)
    if at_least is not None and at_most is not None and at_least > at_most:
        raise ValueError(f"at_least ({at_least!r}) must not exceed at_most ({at_most!r})")
    required = []
    if at_least is not None:
        required.append(f">= {_format(at_least)}")
    if at_most is not None:
        required.append(f"<= {_format(at_most)}")
    evidence = f"measured {_format(measured)}; required {' and '.join(required)}"
    ok = (not math.isnan(measured)
          and (at_least is None or measured >= at_least)
          and (at_most is None or measured <= at_most))
    ledger.record(statement, measured, at_least=at_least, at_most=at_most, passed=ok)
    if not ok:
        raise ClaimError(f"claim failed: {statement} ({evidence})")
    return Claim(statement, evidence)
