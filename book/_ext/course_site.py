"""Sphinx extension for the course's website (loaded from ``_config.yml``).

* MathJax is served from the built site instead of a CDN, because classrooms and CI
  are offline. Its files come from the PyPI package ``django-static-mathjax``, which
  ships MathJax 3 as plain data and depends on nothing.
* One setting, ``repository.url`` in ``_config.yml``, switches the repository button
  and the Colab and Binder launch buttons on; while it is empty they are all off, so
  the site never shows a button that leads nowhere.
* A chapter's download button serves its *reader notebook* (plain Jupyter Markdown with
  the build's outputs, ``_notebooks/NAME.ipynb``, written after the build by
  ``make notebooks``; see ``companion/book/reader_notebooks.py``) instead of the MyST
  source without outputs.
* The favicon is also written to the site's root as ``favicon.ico``: the root
  ``index.html`` that Jupyter Book writes is a bare redirect with no icon link, and
  a browser that opens it asks for ``/favicon.ico`` (a 404 without this copy).
"""

import pathlib
import shutil

import mathjax
from PIL import Image

MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = "tex-chtml.js"
# Combined bundles the site never loads. The rest stays: MathJax fetches TeX
# extensions, fonts, its menu and accessibility modules from beside its entry file.
UNUSED_BUNDLES = ("mml-*.js", "tex-mml-*.js", "tex-svg*.js", "tex-chtml-full*.js",
                  "node-main.js")
REPOSITORY_SWITCHED = ("use_repository_button", "use_issues_button", "use_edit_page_button")
READER_NOTEBOOKS = "_notebooks"  # under the site's root; the Makefile writes them there


def mathjax_source():
    """The directory holding MathJax's browser build (``es5``)."""
    return pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def apply_repository_switch(theme_options):
    """Repository and launch buttons on when a repository URL is set, all off otherwise.

    Jupyter Book refuses ``use_repository_button: true`` without a URL, so the
    button is switched on here rather than in ``_config.yml``.
    """
    if (theme_options.get("repository_url") or "").strip():
        theme_options["use_repository_button"] = True
        return
    theme_options["launch_buttons"] = {}
    for key in REPOSITORY_SWITCHED:
        theme_options[key] = False


def _configure(app, config):
    config.mathjax_path = f"{MATHJAX_DIR}/{MATHJAX_ENTRY}"
    apply_repository_switch(config.html_theme_options)


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Keep one copy of each inline script.

    sphinx-thebe and sphinx-togglebutton register their inline configuration
    scripts twice in a Jupyter Book build (once with ``filename=None``, once with
    ``""``), so every page declared ``const THEBE_JS_URL`` twice: a console error
    in every browser.
    """
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def serve_reader_notebook(app, pagename, templatename, context, doctree):
    """Point a notebook page's download button at its reader notebook.

    sphinx-book-theme builds the button (``download-source-button``) to serve
    ``_sources/<page>.ipynb``, the MyST source without outputs; this handler runs after
    the theme's (priority 501) and changes only that link's address and tooltip.
    """
    if context.get("page_source_suffix") != ".ipynb":
        return
    target = f"{READER_NOTEBOOKS}/{pagename.rsplit('/', 1)[-1]}.ipynb"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            if button.get("label") == "download-source-button":
                button["url"] = context["pathto"](target, 1)
                button["tooltip"] = "Download the notebook, with this build's outputs"


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = pathlib.Path(app.outdir) / "_static" / MATHJAX_DIR
    shutil.copytree(mathjax_source(), target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*UNUSED_BUNDLES))


def write_root_favicon(favicon, outdir):
    """Save the PNG ``favicon`` as ``outdir/favicon.ico`` (16 and 32 pixels)."""
    target = pathlib.Path(outdir) / "favicon.ico"
    with Image.open(favicon) as image:
        image.save(target, format="ICO", sizes=[(16, 16), (32, 32)])
    return target


def _root_favicon(app, exception):
    favicon = app.config.html_favicon
    if exception is not None or app.builder.format != "html" or not favicon:
        return
    source = pathlib.Path(app.confdir) / favicon
    if source.is_file():  # html_favicon may also be a URL, which needs no copy
        write_root_favicon(source, app.outdir)


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("html-page-context", drop_duplicate_scripts)
    app.connect("html-page-context", serve_reader_notebook, priority=600)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _root_favicon)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
