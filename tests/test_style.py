"""companion.book.style: the book's Matplotlib settings."""

import matplotlib as mpl

from companion.book.style import STYLE, use_book_style


def test_use_book_style_applies_every_setting():
    with mpl.rc_context():
        use_book_style()
        for key, value in STYLE.items():
            if key == "axes.prop_cycle":
                assert mpl.rcParams[key].by_key() == value.by_key()
            else:
                assert mpl.rcParams[key] == (list(value) if isinstance(value, tuple) else value), key
