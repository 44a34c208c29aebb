"""The book's Matplotlib style: one size, one palette, sharp on high-DPI screens."""

import matplotlib as mpl

# Sized for a phone as well as a desktop: a figure is 6 in wide and shown at 90 px per
# inch (540 CSS px, about the text column); on a 390-px phone it is scaled to the
# column's 342 px, which keeps 13-pt tick labels about 10 CSS px tall (their em).
STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 90,
    "savefig.dpi": 200,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "legend.fontsize": 12,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": mpl.cycler(color=["#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                         "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]),
}


def use_book_style():
    """Apply the book's Matplotlib settings (called by :func:`companion.setup`).

    In a notebook, figures are also rendered at twice their pixel density
    ("retina"), so they stay sharp on high-DPI screens and in the website.
    """
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # a plain Python process: nothing is displayed inline
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")
