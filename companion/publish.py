"""Numbers for the prose: ``glue`` them from the computation into the page."""

try:
    from myst_nb import glue as _myst_glue
except ImportError:  # Colab or a bare kernel: the value is computed, just not glued.
    _myst_glue = None


def glue(name, value):
    """Store ``value`` under ``name`` for the page's ``{glue:text}`` roles; displays nothing.

    Formats belong in the prose (``{glue:text}`ratio:.3g```), so the raw number
    is stored. Without myst-nb (e.g. in Colab) the call does nothing and returns
    the value, so the notebook still runs.

    Example:
        >>> glue("n_layers", 50)
        50
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"glue name must be an identifier-like string, got {name!r}")
    if _myst_glue is not None:
        _myst_glue(name, value, display=False)
    return value
