"""Numbers for the prose: ``glue`` them from the computation into the page."""

import numpy as np

try:
    from myst_nb import glue as _myst_glue
except ImportError:  # Colab or a bare kernel: the value is computed, just not glued.
    _myst_glue = None


def glue(name, value):
    """Store ``value`` under ``name`` for the page's ``{glue:text}`` roles; displays nothing.

    The raw number is stored; its format belongs in the page, where the glue
    role names it together with a format spec such as ``:.3g``. Without myst-nb
    (e.g. in Colab) the call does nothing and returns the value, so the notebook
    still runs.

    Example:
        >>> glue("n_layers", 50)
        50
        >>> glue("ratio", np.float64(0.5))  # stored as a Python float
        0.5
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier-like string, got {name!r}")
    if isinstance(value, np.generic):
        # NumPy 2 writes np.float64(0.5) as its text form, which the page's
        # format specs (``:.3g``) cannot parse; a Python number prints as 0.5.
        value = value.item()
    if _myst_glue is not None:
        _myst_glue(name, value, display=False)
    return value


def glue_values(**values):
    """Glue several values at once, each under its keyword's name.

    Example:
        >>> glue_values(depth=50, ratio=np.float64(0.5))
    """
    for name, value in values.items():
        glue(name, value)
