"""Reader notebooks (companion/book/reader_notebooks.py) from the real chapter sources.

The chapters are "executed" synthetically here: every glue key the prose uses gets a
glue output of a distinct value in the form myst-nb's ``glue`` writes (a ``display_data``
whose ``scrapbook`` metadata names the key), so that the whole book converts in seconds.
One reader notebook is then executed for real by nbval, from a directory outside the
repository. The checks use their own patterns and Python's ``format``, ``inspect`` and
the raw BibTeX file, not the converter's helpers.
"""

import codecs
import inspect
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("myst_nb")  # the [book] extra: the converter runs where the book builds
pytest.importorskip("sphinxcontrib.bibtex")
pytest.importorskip("latexcodec")  # registers the "ulatex" codec (a pybtex dependency)

from companion.book import colab, reader_notebooks as rn  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = ROOT / "_config.yml"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
CHEAPEST = BOOK / "01_unstable_gradients.ipynb"  # 20 s in the quick profile

GLUE_ROLE = re.compile(r"\{glue:(?P<kind>text|md|any)?\}`(?P<content>[^`]+)`")
GLUE_PREFIX = "application/papermill.record/"
# What may not survive outside code: roles, directive fences and their options,
# targets, and the converter's own markers.
MYST_LEFTOVERS = [
    re.compile(r"\{(glue|cite|numref|ref|doc|eq|math|abbr|sub|sup)(:[a-z]*)?\}`"),
    re.compile(r"\{[a-z][\w:-]*\}`"),
    re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*\{", re.M),
    re.compile(r"^\s*:{3,}", re.M),
    re.compile(r"^\s*:(pyobject|label|class|filter|keyprefix|name|nonumber):", re.M),
    re.compile(r"^\([\w-]+\)=\s*$", re.M),
    re.compile("\x00"),
]
FENCE = re.compile(r"^(?P<fence>`{3,})[^\n]*\n.*?^(?P=fence)\s*$", re.M | re.S)


def _markdown(notebook):
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def _without_code(markdown):
    return FENCE.sub("", markdown)


def _glue_keys(source_notebook):
    """{key: [format specs]} of the glue roles in a chapter's Markdown."""
    keys = {}
    for cell in source_notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for match in GLUE_ROLE.finditer(cell.source):
            key, _, spec = match["content"].partition(":")
            keys.setdefault(key, []).append((match["kind"] or "any", spec))
    return keys


def synthetic_execution(path, *, glue_in_outputs=True):
    """The chapter at ``path`` as if executed: glue outputs for every key, one stream output.

    Returns the notebook and ``{key: value}``: an int (1000 + i) for keys formatted as
    numbers, else a string; Markdown for ``glue:md`` keys.
    """
    notebook = nbformat.read(path, as_version=4)
    values, outputs = {}, []
    for i, (key, uses) in enumerate(sorted(_glue_keys(notebook).items())):
        if any(kind == "md" for kind, _ in uses):
            value, mime = f"**glued markdown {i}**", "text/markdown"
            text = value
        elif any(spec and spec[-1] not in "s" for _, spec in uses):
            value, mime = 1000 + i, "text/plain"
            text = repr(value)
        else:
            value, mime = f"glued text {i}", "text/plain"
            text = repr(value)
        values[key] = value
        outputs.append(nbformat.v4.new_output(
            "display_data", data={GLUE_PREFIX + mime: text},
            metadata={"scrapbook": {"name": key, "mime_prefix": GLUE_PREFIX}}))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
    code[-1].outputs = outputs if glue_in_outputs else []
    code[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="set-up line\n")]
    return notebook, values


@pytest.fixture(scope="module")
def readers(tmp_path_factory):
    """{chapter name: (source notebook, glue values, reader notebook)} for every chapter."""
    executed = tmp_path_factory.mktemp("jupyter_execute")
    out = tmp_path_factory.mktemp("readers")
    values = {}
    for path in CHAPTERS:
        notebook, values[path.name] = synthetic_execution(path)
        nbformat.write(notebook, executed / path.name)
    written = rn.convert_book(executed, out, config_path=CONFIG, sources=BOOK,
                              doctrees=executed / "no-doctrees")
    assert sorted(p.name for p in written) == [p.name for p in CHAPTERS]
    return {path.name: (nbformat.read(path, as_version=4), values[path.name],
                        nbformat.read(out / path.name, as_version=4)) for path in CHAPTERS}


def test_the_book_has_chapters():
    assert len(CHAPTERS) >= 9


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_no_myst_survives(readers, name):
    _, _, reader = readers[name]
    prose = _without_code(_markdown(reader))
    for pattern in MYST_LEFTOVERS:
        found = [m.group(0) for m in pattern.finditer(prose)]
        assert found == [], f"{name}: {pattern.pattern!r} survives: {found[:5]}"
    nbformat.validate(reader)


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_glue_values_appear_formatted_and_marked(readers, name):
    source, values, reader = readers[name]
    prose = _markdown(reader)
    missing = []
    for key, uses in _glue_keys(source).items():
        for kind, spec in uses:
            if kind == "md":
                expected = values[key]
            else:
                expected = format(values[key], spec) if spec else str(values[key])
            if f"{expected}{rn.BUILD_MARK}" not in prose:
                missing.append((key, spec, expected))
    assert missing == []
    glue_roles = sum(len(uses) for uses in _glue_keys(source).values())
    # one mark per glue role, plus the note that explains it
    assert prose.count(rn.BUILD_MARK) == glue_roles + 1
    assert f"marked {rn.BUILD_MARK}" in reader.cells[0].source


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_literal_includes_are_the_package_source(readers, name):
    source, _, reader = readers[name]
    # the site shows a method at its indentation in the class; compare dedented
    blocks = {textwrap.dedent(block).rstrip("\n") for block in
              re.findall(r"^```python\n(.*?)^```$", _markdown(reader), re.M | re.S)}
    includes = re.findall(r"```\{literalinclude\} \.\./companion/(\w+)\.py\n:pyobject: ([\w.]+)",
                          _markdown(source))
    for module_name, qualname in includes:
        obj = __import__(f"companion.{module_name}", fromlist=["_"])
        for part in qualname.split("."):
            obj = getattr(obj, part)
        code = textwrap.dedent(inspect.getsource(obj)).rstrip("\n")
        assert code in blocks, f"{name}: {qualname} is not inlined"


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_code_cells_and_outputs_are_kept(readers, name):
    source, _, reader = readers[name]
    source_code = [c.source for c in source.cells if c.cell_type == "code"]
    reader_code = [c for c in reader.cells if c.cell_type == "code"]
    assert [c.source for c in reader_code[1:]] == source_code[1:]
    assert reader_code[1].outputs[0]["text"] == "set-up line\n"
    # glue outputs are data for the prose, not for the reader
    assert not any(GLUE_PREFIX in key for cell in reader_code for output in cell.outputs
                   for key in output.get("data", {}))


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_first_code_cells_install_on_colab_then_set_up(readers, name):
    _, _, reader = readers[name]
    install, setup = [c for c in reader.cells if c.cell_type == "code"][:2]
    assert colab.COLAB_TEST in install.source
    assert "tags" not in install.metadata  # visible in a reader notebook
    assert "import companion as cp" in setup.source


@pytest.mark.parametrize("name", [p.name for p in CHAPTERS])
def test_exercises_solutions_and_references(readers, name):
    source, _, reader = readers[name]
    source_md, prose = _markdown(source), _markdown(reader)
    exercises = len(re.findall(r"^`{3,}\{exercise\}", source_md, re.M))
    solutions = len(re.findall(r"^`{3,}\{solution(-start)?\}", source_md, re.M))
    assert len(re.findall(r"^### Exercise \d+ \(", prose, re.M)) == exercises
    folded = re.findall(r"<summary>Solution to Exercise \d+[^<]*</summary>", prose)
    gated = re.findall(r"^\*\*Solution to Exercise \d+", prose, re.M)
    assert len([s for s in folded if not s.endswith(": text</summary>")]) + len(gated) \
        == solutions
    assert prose.count("<details>") == prose.count("</details>")
    # every cited work is in the reference list, which follows a References heading
    cited = {key for roles in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", source_md)
             for key in roles.split(",")}
    if cited:
        references = prose.split("## References", 1)[1]
        bib = (BOOK / "references.bib").read_text(encoding="utf-8")
        for key in cited:
            bare = re.sub(r"^ch\d+-", "", key.strip())
            entry = re.search(r"@\w+\{" + re.escape(bare) + r",(.*?)\n\}", bib, re.S).group(1)
            year = re.search(r"year\s*=\s*\{(\d{4})\}", entry).group(1)
            surname = re.search(r"author\s*=\s*\{(.+?),", entry).group(1).strip()
            surname = codecs.decode(surname, "ulatex").replace("{", "").replace("}", "")
            line = next((li for li in references.splitlines()
                         if surname in li and year in li), None)
            assert line is not None, f"{name}: {key} ({surname}, {year}) not listed"


def test_numbers_and_links_follow_the_book(readers):
    # Without a Sphinx build, figures and exercises are counted through the chapters in
    # table-of-contents order, as the site numbers them: the first exercise of a chapter
    # comes right after the last one of the previous chapter.
    last = 0
    for path in CHAPTERS:
        numbers = [int(n) for n in re.findall(r"^### Exercise (\d+)",
                                              _markdown(readers[path.name][2]), re.M)]
        assert numbers == list(range(last + 1, last + 1 + len(numbers)))
        last = numbers[-1] if numbers else last
    prose = _markdown(readers["09_practical_guidelines.ipynb"][2])
    assert "](02_initialization.ipynb)" in prose  # {doc} -> the sibling reader notebook


def test_a_reader_notebook_executes_outside_the_repository(tmp_path):
    notebook, _ = synthetic_execution(CHEAPEST)
    book = rn.Book(CONFIG, sources=BOOK, reader_names=[CHEAPEST.stem])
    book.collect_targets(notebook)
    reader = rn.convert_notebook(notebook, book, doc_path=CHEAPEST)
    nbformat.write(reader, tmp_path / CHEAPEST.name)
    env = dict(os.environ, COMPANION_PROFILE="quick",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q",
                          "-p", "no:cacheprovider", CHEAPEST.name],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert re.search(r"\d+ passed", run.stdout)


# -- pieces, on small inputs ----------------------------------------------------------------

@pytest.fixture(scope="module")
def book():
    return rn.Book(CONFIG, sources=BOOK, reader_names=["02_initialization"],
                   numbers={"ex-a": ("exercise", (3,)), "fig-a": ("figure", (7,))})


def convert(book, text, glue=None):
    converter = rn.ChapterConverter(book, BOOK / "06_optimizers.ipynb", glue or {})
    converter.key_prefixes.append("ch6-")
    return converter.markdown(text), converter


def test_escaped_text_renders_as_itself():
    from markdown_it import MarkdownIt

    text = "a_b *c* [d](e) <f> $g$ `h` | \\ #"
    html = MarkdownIt("commonmark").render(rn.escape_markdown(text))
    assert html == "<p>" + text.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;") + "</p>\n"


def test_roles_in_inline_code_are_left_alone(book):
    text = "Write ``{glue:text}`x` `` to glue; {glue:text}`x:.1f` is glued."
    converted, _ = convert(book, text, {"x": {"data": {"text/plain": "2.25"}}})
    assert converted == "Write ``{glue:text}`x` `` to glue; 2.2† is glued."


def test_citations_take_the_sites_author_year_form(book):
    converted, converter = convert(book, "{cite:t}`ch6-polyak1964` and {cite:p}`ch6-polyak1964,nesterov1983`.")
    # the site's rendering of the same roles (sphinxcontrib-bibtex, author_year)
    assert converted == ("Polyak \\[1964\\] and \\[Polyak, 1964, Nesterov, 1983\\].")
    assert converter.cited == ["polyak1964", "nesterov1983"]


def test_admonitions_become_quotes_or_details(book):
    quoted, _ = convert(book, "```{admonition} Objectives\n:class: tip\nLearn\n\n- this\n```")
    assert quoted == "> **Objectives**\n>\n> Learn\n>\n> - this"
    folded, _ = convert(book, ":::{note}\n:class: dropdown\nHidden *text*\n:::")
    assert folded == ("<details>\n<summary>Note</summary>\n\nHidden *text*\n\n</details>")


def test_numref_doc_and_exercise(book):
    text = ("See {numref}`ex-a`, {numref}`Figure %s <fig-a>` and {doc}`02_initialization`.\n\n"
            "```{exercise} Try it\n:label: ex-a\n\nDo it.\n```")
    converted, _ = convert(book, text)
    assert converted.startswith("See Exercise 3, Figure 7 and "
                                "[Weight initialisation](02_initialization.ipynb).")
    assert converted.endswith("### Exercise 3 (Try it)\n\nDo it.")


@pytest.mark.parametrize("text, named", [("```{toctree}\nx\n```", "toctree"),
                                          ("{term}`x`", "term"),
                                          ("{glue:text}`missing`", "missing")])
def test_unknown_myst_is_an_error_naming_it(book, text, named):
    with pytest.raises(ValueError, match=named):
        convert(book, text)


# -- the Colab install cell ---------------------------------------------------------------

def _run_cell(source, *, colab_present, tmp_path):
    """Run an install cell in an interpreter without site-packages (companion missing)."""
    script = textwrap.dedent(f"""
        import json, sys, types
        calls = []
        if {colab_present}:
            sys.modules["google"] = types.ModuleType("google")
            sys.modules["google.colab"] = types.ModuleType("google.colab")
        fake = types.ModuleType("subprocess")
        fake.run = lambda args, **kw: calls.append(args) or types.SimpleNamespace(returncode=0)
        sys.modules["subprocess"] = fake
        before = set(sys.modules)
        try:
            exec({source!r})
            error = None
        except RuntimeError as exc:
            error = str(exc)
        heavy = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in
                       ("tensorflow", "keras", "companion", "numpy"))
        print(json.dumps({{"calls": calls, "error": error, "heavy": heavy}}))
    """)
    run = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    return json.loads(run.stdout)


def test_install_cell_does_nothing_outside_colab(tmp_path):
    for url in ("", "https://github.com/owner/course"):
        result = _run_cell(colab.install_cell_source(url, "main"), colab_present=False,
                           tmp_path=tmp_path)
        assert result == {"calls": [], "error": None, "heavy": []}


def test_install_cell_on_colab_installs_from_the_configured_repository(tmp_path):
    result = _run_cell(colab.install_cell_source("https://github.com/owner/course", "main"),
                       colab_present=True, tmp_path=tmp_path)
    assert result["error"] is None and len(result["calls"]) == 1
    assert result["calls"][0][-1] == "companion @ git+https://github.com/owner/course@main"
    assert result["calls"][0][1:4] == ["-m", "pip", "install"]
    unset = _run_cell(colab.install_cell_source("", "main"), colab_present=True,
                      tmp_path=tmp_path)
    assert unset["calls"] == [] and "repository.url" in unset["error"]


@pytest.mark.parametrize("url", ["github.com/owner/course", 3, None])
def test_install_requirement_rejects_bad_urls(url):
    with pytest.raises(ValueError, match="url"):
        colab.install_requirement(url, "main")


def test_reader_install_cell_follows_the_configuration(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace(
        'url: ""', 'url: "https://github.com/owner/course"'), encoding="utf-8")
    assert colab.repository_settings(config) == ("https://github.com/owner/course", "main")
    (tmp_path / "book").symlink_to(BOOK)
    notebook, _ = synthetic_execution(CHEAPEST)
    book = rn.Book(config, sources=BOOK)
    book.collect_targets(notebook)
    reader = rn.convert_notebook(notebook, book, doc_path=CHEAPEST)
    install = next(c for c in reader.cells if c.cell_type == "code")
    assert "git+https://github.com/owner/course@main" in install.source


def test_glued_figure_becomes_an_attachment(book):
    png = "iVBORw0KGgo="  # the data is carried, not decoded
    text = "```{glue:figure} curve\n:alt: A falling curve\n\nThe loss.\n```"
    converted, converter = convert(book, text, {"curve": {"data": {"image/png": png,
                                                                   "text/plain": "<Figure>"}}})
    assert converted == "![A falling curve](attachment:curve.png)\n\nThe loss.†"
    assert converter.attachments == {"curve.png": {"image/png": png}}


def test_myst_quoted_in_a_code_block_is_not_flagged():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "Text.\n\n```markdown\n{glue:text}`x`\n```\n")])
    assert rn.surviving_myst(notebook) == []
    notebook.cells.append(nbformat.v4.new_markdown_cell("Left: {cite:t}`x`"))
    assert rn.surviving_myst(notebook) == ["Left: {cite:t}`x`"]
