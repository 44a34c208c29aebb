"""The Colab install cell: the first code cell of every chapter notebook.

On Colab a chapter needs the companion package installed from the course's repository;
anywhere else the package is already installed and the cell must do nothing. The
repository is configured in one place, ``repository.url`` (and ``repository.branch``) in
``_config.yml``, the same switch that turns on the site's launch buttons. The cell is
generated from that setting by :func:`install_cell_source`:

* the reader notebooks get it at build time (``companion.book.reader_notebooks``);
* the source notebooks, which Colab opens straight from the repository and which therefore
  cannot read ``_config.yml``, hold a copy written by ``python -m companion.book.colab``;
  ``tests/test_notebooks.py`` fails when a copy differs from what the setting gives, so
  the two cannot drift apart.

Command line (from the repository root)::

    python -m companion.book.colab            # rewrite book/*.ipynb's install cells
    python -m companion.book.colab --check    # exit 1 if any differs from _config.yml
"""

import argparse
import json
import pathlib
import sys

#: The test that tells Colab from everywhere else; every install cell contains it.
COLAB_TEST = '"google.colab" in sys.modules'
#: The cell is hidden on the site; it still runs there (and does nothing).
INSTALL_CELL_TAGS = ["remove-cell"]

_HEADER = ("# On Colab, install the course's companion package; "
           "elsewhere this cell does nothing.\n"
           "import importlib.util\n"
           "import sys\n\n"
           f"if {COLAB_TEST} and importlib.util.find_spec(\"companion\") is None:\n")

_INSTALL = """\
    import subprocess
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                          {requirement!r}], capture_output=True, text=True)
    if pip.returncode:
        raise RuntimeError(f"pip could not install the companion package:\\n{{pip.stderr}}")"""

_NO_URL = """\
    raise RuntimeError("This copy of the course names no repository (repository.url in "
                       "_config.yml is empty): upload the repository to Colab and run "
                       "!pip install ./<its folder>")"""


def repository_settings(config_path="_config.yml"):
    """The ``(url, branch)`` of ``repository`` in a Jupyter Book ``_config.yml``.

    A missing section or an empty URL gives ``("", branch)``.

    Example:
        >>> repository_settings("_config.yml")  # doctest: +SKIP
        ('https://github.com/owner/course', 'main')
    """
    import yaml  # PyYAML: with the [book] and [test] extras; the cell itself needs none

    config = yaml.safe_load(pathlib.Path(config_path).read_text(encoding="utf-8")) or {}
    repository = config.get("repository") or {}
    url = str(repository.get("url") or "").strip()
    branch = str(repository.get("branch") or "").strip()
    return url, branch


def install_requirement(url, branch=""):
    """The pip requirement that installs the package from ``url`` at ``branch``.

    Example:
        >>> install_requirement("https://github.com/owner/course", "main")
        'companion @ git+https://github.com/owner/course@main'
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"url must be a non-empty repository URL, got {url!r}")
    if not url.startswith(("https://", "http://", "git+")):
        raise ValueError(f"url must start with https://, http:// or git+, got {url!r}")
    source = url if url.startswith("git+") else f"git+{url}"
    return f"companion @ {source}@{branch}" if branch else f"companion @ {source}"


def install_cell_source(url, branch=""):
    """The source of the install cell for repository ``url`` (empty: none configured).

    Outside Colab the cell only imports ``sys`` and ``importlib.util``: it prints nothing,
    installs nothing and imports neither TensorFlow nor the companion.

    Example:
        >>> print(install_cell_source("https://github.com/owner/course", "main"))  # doctest: +SKIP
    """
    body = _INSTALL.format(requirement=install_requirement(url, branch)) if url else _NO_URL
    return _HEADER + body


def is_install_cell(cell):
    """Whether a notebook cell (a dict) is a Colab install cell."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    return cell.get("cell_type") == "code" and COLAB_TEST in source


def _with_install_cell(notebook, source):
    """``notebook`` (a dict) with its first code cell set to the install cell ``source``."""
    cells = notebook["cells"]
    first_code = next((i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"),
                      len(cells))
    cell = {"cell_type": "code", "execution_count": None, "id": "colab-install",
            "metadata": {"tags": list(INSTALL_CELL_TAGS)}, "outputs": [],
            "source": source.splitlines(keepends=True)}
    if first_code < len(cells) and is_install_cell(cells[first_code]):
        cell["id"] = cells[first_code].get("id", cell["id"])
        cells[first_code] = cell
    else:
        cells.insert(first_code, cell)
    if notebook.get("nbformat_minor", 0) < 5:
        cell.pop("id")
    return notebook


def sync_install_cells(book_dir="book", config_path="_config.yml", *, check=False):
    """Write (or with ``check`` only compare) the install cell of every ``book_dir/*.ipynb``.

    Returns the notebooks whose cell differed from the one ``_config.yml`` gives.

    Example:
        >>> sync_install_cells("book", "_config.yml", check=True)  # doctest: +SKIP
        []
    """
    source = install_cell_source(*repository_settings(config_path))
    changed = []
    for path in sorted(pathlib.Path(book_dir).glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        notebook = json.loads(text)
        # The notebooks' own layout (key order, one-space indent, final newline or not)
        # is kept, so that the diff is the cell and nothing else.
        updated = json.dumps(_with_install_cell(json.loads(text), source), indent=1,
                             ensure_ascii=False) + ("\n" if text.endswith("\n") else "")
        if json.loads(updated) != notebook:
            changed.append(path)
            if not check:
                path.write_text(updated, encoding="utf-8")
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m companion.book.colab",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("book_dir", nargs="?", default="book")
    parser.add_argument("--config", default="_config.yml")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook's cell is out of date")
    args = parser.parse_args(argv)
    changed = sync_install_cells(args.book_dir, args.config, check=args.check)
    for path in changed:
        print(f"{'out of date' if args.check else 'updated'}: {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
