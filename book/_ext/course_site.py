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
* References to ``companion.<name>`` (the name readers call, ``cp.<name>``) resolve
  to the object's documented place, ``companion.<module>.<name>``, whatever the
  module: docstrings and chapters need not follow the package's layout.
* ``course_site.css`` (beside this file, in ``static/``): code blocks wrap long lines.
* The PDF of the whole course (``make pdf``) is copied into the website and linked
  from the introduction when it exists at ``course_pdf`` (a Sphinx setting in
  ``_config.yml``): the tag ``course_pdf`` switches the link on, so the site never
  links a PDF it does not have.
* The execution-times table says "succeeded" / "failed" where myst-nb prints the
  emoji ✅ / ❌, which many systems (and the PDF's font) cannot draw.
* The favicon is also written to the site's root as ``favicon.ico``: the root
  ``index.html`` that Jupyter Book writes is a bare redirect with no icon link, and
  a browser that opens it asks for ``/favicon.ico`` (a 404 without this copy).
"""

import importlib
import pathlib
import shutil

import mathjax
from PIL import Image
from sphinx.util.nodes import make_refnode

MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = "tex-chtml.js"
# Combined bundles the site never loads. The rest stays: MathJax fetches TeX
# extensions, fonts, its menu and accessibility modules from beside its entry file.
UNUSED_BUNDLES = ("mml-*.js", "tex-mml-*.js", "tex-svg*.js", "tex-chtml-full*.js",
                  "node-main.js")
PACKAGE = "companion"
STATIC_DIR = pathlib.Path(__file__).resolve().parent / "static"
CSS_FILE = "course_site.css"
PDF_TAG = "course_pdf"
STATUS_WORDS = {"\u2705": "succeeded", "\u274c": "failed"}
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


def course_pdf(confdir, setting):
    """The course's PDF (``setting`` is relative to ``confdir``) if it exists, else None."""
    if not setting:
        return None
    path = pathlib.Path(confdir) / setting
    return path if path.is_file() else None


def _configure(app, config):
    config.mathjax_path = f"{MATHJAX_DIR}/{MATHJAX_ENTRY}"
    apply_repository_switch(config.html_theme_options)
    config.html_static_path = [*config.html_static_path, str(STATIC_DIR)]
    # Tags set here, before the builder starts, are part of what Sphinx compares to
    # decide that every page must be written again.
    if course_pdf(app.confdir, config.course_pdf) is not None:
        app.tags.add(PDF_TAG)


def _copy_pdf(app, exception):
    pdf = course_pdf(app.confdir, app.config.course_pdf)
    if exception is None and app.builder.format == "html" and pdf is not None:
        shutil.copyfile(pdf, pathlib.Path(app.outdir) / pdf.name)


def status_in_words(doctree):
    """Replace myst-nb's status emoji in execution tables by words."""
    from docutils import nodes

    for table in doctree.findall(nodes.table):
        for text in list(table.findall(nodes.Text)):
            if str(text) in STATUS_WORDS:
                text.parent.replace(text, nodes.Text(STATUS_WORDS[str(text)]))


def _status_in_words(app, doctree, docname):
    status_in_words(doctree)


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


class _Importer:
    """``modules.get(name)`` that imports the module. A build that reuses its saved
    environment runs no autodoc, so the package may not have been imported yet."""

    @staticmethod
    def get(name):
        try:
            return importlib.import_module(name)
        except ImportError:
            return None


def documented_place(target, objects, objtypes, modules=None):
    """The documented full name of ``target`` (e.g. ``companion.build_mlp``), or None.

    ``objects`` maps full names to entries with an ``objtype`` (the Python domain's
    objects); a candidate counts only when it has the role's type and its module
    attribute is the very object that the package exports under ``target``.
    ``modules`` maps module names to modules (default: import them).
    """
    modules = _Importer() if modules is None else modules
    package, _, name = target.partition(".")
    if package != PACKAGE or not name or "." in name:
        return None
    exported = getattr(modules.get(PACKAGE), name, None)
    if exported is None:
        return None
    for fullname, entry in objects.items():
        module, _, attribute = fullname.rpartition(".")
        if (attribute == name and module.startswith(PACKAGE + ".")
                and entry.objtype in objtypes
                and getattr(modules.get(module), attribute, None) is exported):
            return fullname
    return None


def _resolve_package_names(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    fullname = documented_place(node.get("reftarget", ""), domain.objects,
                                domain.objtypes_for_role(node.get("reftype")) or ())
    if fullname is None:
        return None
    entry = domain.objects[fullname]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id,
                        contnode, fullname)


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
    app.add_config_value("course_pdf", "", "env", types=[str])
    app.add_css_file(CSS_FILE)
    app.connect("config-inited", _configure)
    app.connect("doctree-resolved", _status_in_words)
    app.connect("build-finished", _copy_pdf)
    app.connect("html-page-context", drop_duplicate_scripts)
    app.connect("html-page-context", serve_reader_notebook, priority=600)
    app.connect("missing-reference", _resolve_package_names)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _root_favicon)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
