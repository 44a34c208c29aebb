"""The website's Sphinx extension (book/_ext/course_site.py), without a build."""

import pathlib
import re
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
course_site = pytest.importorskip("course_site")


def theme_options(url):
    return {"repository_url": url, "launch_buttons": {"colab_url": "https://colab",
                                                      "binderhub_url": "https://binder"}}


@pytest.mark.parametrize("url", ["", "   ", None])
def test_no_repository_url_switches_every_repository_button_off(url):
    options = theme_options(url)
    course_site.apply_repository_switch(options)
    assert options["launch_buttons"] == {}
    for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        assert options[key] is False


def test_repository_url_switches_repository_and_launch_buttons_on():
    options = theme_options("https://github.com/owner/course")
    course_site.apply_repository_switch(options)
    assert options["use_repository_button"] is True
    assert options["launch_buttons"] == {"colab_url": "https://colab",
                                         "binderhub_url": "https://binder"}


def test_mathjax_is_served_from_the_site():
    source = course_site.mathjax_source()
    assert (source / course_site.MATHJAX_ENTRY).is_file()
    # the fonts MathJax's CHTML output loads from beside its entry file
    assert any((source / "output" / "chtml" / "fonts").rglob("*.woff"))
    config = types.SimpleNamespace(mathjax_path=None, html_theme_options=theme_options(""),
                                   html_static_path=[], course_pdf="")
    app = types.SimpleNamespace(confdir=".", tags=set())
    course_site._configure(app, config)
    assert config.mathjax_path == "mathjax/tex-chtml.js"


def test_duplicate_inline_scripts_are_dropped():
    script = types.SimpleNamespace
    scripts = [script(filename=None, attributes={"body": "const A = 1"}),
               script(filename="a.js", attributes={}),
               script(filename="", attributes={"body": "const A = 1"}),
               script(filename="a.js", attributes={"async": "async"})]
    context = {"script_files": scripts}
    course_site.drop_duplicate_scripts(None, "page", "page.html", context, None)
    assert context["script_files"] == [scripts[0], scripts[1], scripts[3]]


def test_root_favicon_is_a_real_icon(tmp_path):
    from PIL import Image

    favicon = pathlib.Path(__file__).resolve().parents[1] / "book" / "images" / "favicon.png"
    target = course_site.write_root_favicon(favicon, tmp_path)
    assert target == tmp_path / "favicon.ico"
    with Image.open(target) as icon:
        assert icon.format == "ICO"
        assert (32, 32) in icon.info["sizes"]


def _header_buttons():
    return [{"type": "group", "label": "download-buttons", "buttons": [
        {"type": "link", "url": "../_sources/book/06_optimizers.ipynb",
         "label": "download-source-button", "tooltip": "Download source file"},
        {"type": "javascript", "label": "download-pdf-button"}]}]


@pytest.mark.parametrize("suffix, expected", [
    (".ipynb", "../_notebooks/06_optimizers.ipynb"),
    (".md", "../_sources/book/06_optimizers.ipynb")])
def test_download_button_serves_the_reader_notebook(suffix, expected):
    # pathto(name, 1) gives a file's address relative to the page (book/...)
    context = {"page_source_suffix": suffix, "header_buttons": _header_buttons(),
               "pathto": lambda name, resource=0: "../" + name}
    course_site.serve_reader_notebook(None, "book/06_optimizers", "page.html", context, None)
    source_button, pdf_button = context["header_buttons"][0]["buttons"]
    assert source_button["url"] == expected
    assert pdf_button == {"type": "javascript", "label": "download-pdf-button"}


def test_site_css_is_served():
    config = types.SimpleNamespace(mathjax_path=None, html_theme_options=theme_options(""),
                                   html_static_path=["_static"], course_pdf="")
    course_site._configure(types.SimpleNamespace(confdir=".", tags=set()), config)
    assert config.html_static_path[0] == "_static"
    static = pathlib.Path(config.html_static_path[1])
    assert (static / course_site.CSS_FILE).is_file()


@pytest.mark.parametrize("built", [False, True])
def test_pdf_link_only_when_the_pdf_exists(tmp_path, built):
    if built:
        (tmp_path / "_build").mkdir()
        (tmp_path / "_build" / "course.pdf").write_bytes(b"%PDF-1.5")
    config = types.SimpleNamespace(mathjax_path=None, html_theme_options=theme_options(""),
                                   html_static_path=[], course_pdf="_build/course.pdf")
    app = types.SimpleNamespace(confdir=str(tmp_path), tags=set())
    course_site._configure(app, config)
    assert (course_site.PDF_TAG in app.tags) is built
    assert course_site.course_pdf(tmp_path, "") is None


def test_status_emoji_become_words():
    from docutils import nodes

    def row(*cells):
        return nodes.row("", *[nodes.entry("", nodes.paragraph(text=c)) for c in cells])

    table = nodes.table("", row("book/intro", "\u2705"), row("book/ch1", "\u274c"))
    document = nodes.section("", nodes.paragraph(text="\u2705 outside a table"), table)
    course_site.status_in_words(document)
    assert [e.astext() for e in table.findall(nodes.entry)] == [
        "book/intro", "succeeded", "book/ch1", "failed"]
    assert document[0].astext() == "\u2705 outside a table"


class Entry(types.SimpleNamespace):
    pass


def test_package_names_resolve_to_the_documented_object():
    def build_mlp():
        pass

    def other():
        pass

    package = types.SimpleNamespace(build_mlp=build_mlp, other=other)
    modules = {"companion": package,
               "companion.models": types.SimpleNamespace(build_mlp=build_mlp),
               "companion.lab.models": types.SimpleNamespace(build_mlp=other)}
    objects = {"companion.lab.models.build_mlp": Entry(objtype="function"),
               "companion.models.build_mlp": Entry(objtype="function")}
    place = course_site.documented_place
    # the module attribute that is the exported object, not another of the same name
    assert place("companion.build_mlp", objects, ["function"], modules) == \
        "companion.models.build_mlp"
    assert place("companion.build_mlp", objects, ["class"], modules) is None
    assert place("companion.missing", objects, ["function"], modules) is None
    assert place("keras.build_mlp", objects, ["function"], modules) is None
    assert place("companion.models.build_mlp", objects, ["function"], modules) is None


def test_every_citation_names_an_entry_of_the_bibliography():
    # A merge once left an entry of references.bib unclosed, which hides every entry after
    # it; the build would only fail at the end. Chapters cite with their bibliography's
    # ``:keyprefix:`` (``ch6-zeiler2012`` for the entry ``zeiler2012``).
    pybtex_database = pytest.importorskip("pybtex.database")
    entries = set(pybtex_database.parse_file(str(ROOT / "book" / "references.bib")).entries)
    missing = []
    for page in sorted((ROOT / "book").glob("*.*")):
        if page.suffix not in (".ipynb", ".md"):
            continue
        text = page.read_text(encoding="utf-8").replace("\\n", "\n")
        prefix = re.search(r":keyprefix: *(\S+)", text)
        prefix = prefix.group(1) if prefix else ""
        for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            for key in (k.strip() for k in keys.split(",")):
                if key.removeprefix(prefix) not in entries:
                    missing.append(f"{page.name}: {key}")
    assert not missing, f"citations without a bibliography entry: {missing}"
