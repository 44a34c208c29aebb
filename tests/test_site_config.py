"""The website's Sphinx extension (book/_ext/course_site.py), without a build."""

import pathlib
import sys
import types

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "book" / "_ext"))
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
    config = types.SimpleNamespace(mathjax_path=None, html_theme_options=theme_options(""))
    course_site._configure(None, config)
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
