"""Reader notebooks: the book's executed chapters in plain Jupyter Markdown.

The chapters are MyST notebooks written for Jupyter Book. Their Markdown holds glue roles,
citations, cross-references, literal includes, admonitions and exercise blocks that only
Sphinx understands, so JupyterLab, Colab and GitHub show them as raw markup. This module
turns each *executed* chapter (the copy Jupyter Book writes to ``_build/jupyter_execute``,
with its glue values beside it in ``NAME.glue.json``) into a *reader notebook*:

- a glue role becomes the value of the build, followed by a dagger (†) that a note under
  the title explains;
- a ``literalinclude`` becomes a fenced code block, read by Sphinx's own
  ``LiteralIncludeReader`` (``:pyobject:`` included), so the code is the site's;
- an admonition becomes a block quote with a bold title (a ``dropdown`` one, ``<details>``);
- an exercise becomes a level-3 heading, a solution a ``<details>`` element; the code cells
  of a gated solution (``solution-start`` ... ``solution-end``) are collapsed in JupyterLab;
- a citation becomes author-year text in the site's style (sphinxcontrib-bibtex's own
  ``author_year`` style), and the ``bibliography`` directive, or the end of the notebook, a
  reference list formatted by pybtex;
- ``numref``, ``ref`` and ``doc`` become the site's numbers and titles (``doc``: a link to
  the sibling reader notebook);
- code cells keep their source and outputs; a figure's caption follows its cell; the first
  code cell is the Colab install cell of :mod:`companion.book.colab`.

The Markdown is parsed with myst-parser's markdown-it configuration, so a directive or role
is what the book's parser takes for one, and it is rewritten in place: everything else in a
cell stays as written. MyST syntax the book does not use raises ``ValueError`` naming it, so
a build never publishes raw MyST. Command line (from the repository root, after
``jupyter-book build .``)::

    python -m companion.book.reader_notebooks _build/jupyter_execute/book _build/html/_notebooks
"""

import argparse
import base64
import dataclasses
import html
import json
import mimetypes
import pathlib
import pickle
import re
import sys
import types

import nbformat
import yaml

from companion.book.colab import INSTALL_CELL_TAGS, install_cell_source, is_install_cell, \
    repository_settings

#: Follows every value pasted from the build; the note under the title explains it.
BUILD_MARK = "†"
NOTE = ("> *Reader edition* of a chapter of *{title}*, generated from the chapter as it was "
        "executed when the course's website was built. The outputs are that build's, and "
        "a number marked {mark} in the text is a value it computed: when you run the "
        "notebook, the code cells compute their own.")

# Sphinx's default numfig_format, plus sphinx-exercise's entry.
NUMBER_FORMATS = {"figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s",
                  "section": "Section %s", "exercise": "Exercise %s"}
ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
               "warning": "Warning", "caution": "Caution", "attention": "Attention",
               "danger": "Danger", "error": "Error", "seealso": "See also"}
LITERALINCLUDE_INT_OPTIONS = ("dedent", "lineno-start", "tab-width")
# Cell tags of myst-nb that hide part of a cell on the page. In a reader notebook the cell
# must still run, so the hidden part is collapsed (JupyterLab's cell metadata), not removed.
COLLAPSE_TAGS = {"remove-cell": ("source_hidden", "outputs_hidden"),
                 "hide-cell": ("source_hidden", "outputs_hidden"),
                 "remove-input": ("source_hidden",), "hide-input": ("source_hidden",),
                 "remove-output": ("outputs_hidden",), "hide-output": ("outputs_hidden",)}

_ROLE = re.compile(r"\{(?P<name>[A-Za-z0-9_:+\-]+)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks)(?!`)",
                   re.S)
_TITLED_TARGET = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_OPTION = re.compile(r"^:(?P<name>[\w-]+):(?:\s+(?P<value>.*))?$")
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>$|])")
_SOLUTION_START = "\x00solution-start {}\x00"
_SOLUTION_END = "\x00solution-end\x00"
_SOLUTION_MARK = re.compile("\x00solution-(start (?P<label>[^\x00]+)|end)\x00")
_SURVIVING_MYST = re.compile(r"\{[a-z][\w:+-]*\}`|^\s*(`{3,}|:{3,})\s*\{|\x00", re.M)
_CODE_BLOCK = re.compile(r"^(?P<fence>`{3,}|~{3,})(?!\s*\{).*?^(?P=fence)\s*$", re.M | re.S)


def escape_markdown(text):
    r"""``text`` with the characters Markdown would interpret escaped by a backslash.

    Example:
        >>> escape_markdown("self_normalizing [2015]")
        'self\\_normalizing \\[2015\\]'
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def _plain(text):
    """A Markdown fragment reduced to one line (for titles inside HTML)."""
    return " ".join(str(text).split())


@dataclasses.dataclass
class Directive:
    """A MyST directive: ``name``, the ``argument`` after it, ``options`` and ``body``."""

    name: str
    argument: str
    options: dict
    body: str

    @classmethod
    def parse(cls, info, content):
        match = re.match(r"^\{(?P<name>[^}]+)\}\s*(?P<argument>.*)$", info.strip(), re.S)
        if not match:
            raise ValueError(f"not a MyST directive: {info!r}")
        lines = content.split("\n")
        options = {}
        if lines and lines[0].strip() == "---":  # YAML options block
            end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
            if end is None:
                raise ValueError(f"directive {info!r}: unterminated '---' options block")
            options = yaml.safe_load("\n".join(lines[1:end])) or {}
            lines = lines[end + 1:]
        else:
            while lines and _OPTION.match(lines[0].strip()):
                option = _OPTION.match(lines.pop(0).strip())
                options[option["name"]] = (option["value"] or "").strip()
        return cls(match["name"].strip(), match["argument"].strip(), options,
                   "\n".join(lines).strip("\n"))


class Bibliography:
    """Citations in the site's style, from the book's BibTeX files.

    In-text citations reuse sphinxcontrib-bibtex's ``author_year`` reference style (the
    one the site is built with); entries are formatted by pybtex's ``alpha`` style, the
    site's default, and rendered as Markdown.
    """

    def __init__(self, bibfiles, *, reference_style="author_year", entry_style="alpha"):
        import pybtex.database
        import pybtex.plugin
        from sphinxcontrib.bibtex.plugin import find_plugin

        self.data = pybtex.database.BibliographyData()
        for path in bibfiles:
            for key, entry in pybtex.database.parse_file(str(path)).entries.items():
                self.data.add_entry(key, entry)
        self.entry_style = pybtex.plugin.find_plugin("pybtex.style.formatting", entry_style)()
        self.reference_style = find_plugin("sphinxcontrib.bibtex.style.referencing",
                                           reference_style)()
        self._markdown = _markdown_backend_class()()

    def entry(self, key):
        if key not in self.data.entries:
            raise ValueError(f"citation key {key!r} is not in the bibliography "
                             f"({len(self.data.entries)} entries)")
        return self.data.entries[key]

    def cite(self, role, keys):
        """The text of citation role ``role`` ("p", "t", ...) for BibTeX ``keys``.

        Example:
            >>> Bibliography(["book/references.bib"]).cite("t", ["polyak1964"])  # doctest: +SKIP
            'Polyak [1964]'
        """
        import pybtex_docutils
        from sphinxcontrib.bibtex.style.referencing import format_references
        from sphinxcontrib.bibtex.style.template import SphinxReferenceInfo

        entries = [self.entry(key) for key in keys]
        formatted = {f.key: f for f in self.entry_style.format_entries(entries)}
        # The style builds docutils reference nodes; with the citing and the cited
        # document the same and a target id, Sphinx's make_refnode needs nothing of the
        # builder but its name, and the nodes' text is the citation's text.
        builder = types.SimpleNamespace(name="html")
        references = [(entry, formatted[entry.key],
                       SphinxReferenceInfo(builder=builder, fromdocname="doc", todocname="doc",
                                           citation_id="ref", title=None, pre_text="",
                                           post_text=""))
                      for entry in entries]
        if role not in self.reference_style.role_names():
            raise ValueError(f"unknown citation role cite:{role}; valid: "
                             f"{sorted(self.reference_style.role_names())}")
        text = format_references(self.reference_style, role, references)
        return "".join(node.astext() for node in text.render(pybtex_docutils.Backend()))

    def reference_list(self, keys):
        """A Markdown bullet list of the entries ``keys``, sorted as the site sorts them."""
        entries = self.entry_style.sort([self.entry(key) for key in dict.fromkeys(keys)])
        items = []
        for formatted in self.entry_style.format_entries(entries):
            items.append("- " + " ".join(formatted.text.render(self._markdown).split()))
        return "\n".join(items)


def _markdown_backend_class():
    from pybtex.backends.markdown import Backend

    class MarkdownBackend(Backend):
        """pybtex's Markdown backend, escaping only what Markdown inside a list item would
        interpret (pybtex's escapes every dot and hyphen), and leaving a title's ``$...$``
        to the notebook's MathJax."""

        def format_str(self, text):
            parts = str(text).split("$")
            for i in range(0, len(parts), 2):
                parts[i] = re.sub(r"([\\`*_\[\]<>|])", r"\\\1", parts[i])
            return "$".join(parts)

    return MarkdownBackend


@dataclasses.dataclass
class Targets:
    """What cross-references resolve to: numbers (``numref``), titles and documents."""

    numbers: dict = dataclasses.field(default_factory=dict)  # label -> (figtype, number)
    titles: dict = dataclasses.field(default_factory=dict)   # label -> title (Markdown)

    def number_text(self, label, template=None):
        if label not in self.numbers:
            raise ValueError(f"numref target {label!r} has no number; known: "
                             f"{sorted(self.numbers)[:20]}")
        figtype, number = self.numbers[label]
        number = ".".join(str(n) for n in number) if isinstance(number, tuple) else str(number)
        template = template or NUMBER_FORMATS.get(figtype, "%s")
        title = self.titles.get(label, "")
        return (template.replace("%s", number).replace("{number}", number)
                .replace("{name}", title))


def numbers_from_sphinx(doctrees_dir):
    """Figure and exercise numbers of the last Sphinx build, from its saved environment.

    Returns ``{label: (figtype, (number, ...))}``, or ``{}`` when there is no build.
    """
    path = pathlib.Path(doctrees_dir) / "environment.pickle"
    if not path.is_file():
        return {}
    with path.open("rb") as file:
        env = pickle.load(file)  # the build's own file, written by Sphinx on this machine
    return {label: (figtype, number)
            for figures in env.toc_fignumbers.values()
            for figtype, labels in figures.items()
            for label, number in labels.items()}


class ChapterConverter:
    """Converts the Markdown of one chapter, cell by cell, and collects what it cites."""

    def __init__(self, book, doc_path, glue):
        self.book = book
        self.doc_path = pathlib.Path(doc_path)
        self.glue = glue
        self.cited = []          # BibTeX keys, in order of first citation
        self.key_prefixes = [""]
        self.attachments = {}    # of the cell being converted
        self.has_bibliography = False

    # -- Markdown -------------------------------------------------------------------------

    def markdown(self, text):
        """``text`` with every MyST directive and role replaced by plain Markdown."""
        lines = text.split("\n")
        edits = []
        role_groups = {}
        for token in self.book.parser.parse(text, {}):
            if token.type in ("fence", "colon_fence") and token.info.strip().startswith("{"):
                start, end = token.map
                indent = re.match(r"^[ \t]*", lines[start]).group(0)
                if not lines[start][len(indent):].startswith(("`", "~", ":")):
                    raise ValueError(f"{self.doc_path.name}: directive {token.info!r} inside "
                                     "a block quote is not supported")
                directive = Directive.parse(token.info, token.content)
                replacement = self.directive(directive)
                edits.append((start, end, [indent + line if line else line
                                           for line in replacement.split("\n")]))
            elif token.type in ("myst_target", "myst_line_comment", "myst_block_break"):
                edits.append((*token.map, []))
            elif token.type == "math_block_label":
                start, end = token.map
                block = "\n".join(lines[start:end])
                block = re.sub(r"\s*\(" + re.escape(token.info) + r"\)\s*$", "", block)
                edits.append((start, end, block.split("\n")))
            elif token.type == "inline" and token.children:
                roles = [(child.meta["name"], child.content) for child in token.children
                         if child.type == "myst_role"]
                if roles:
                    role_groups.setdefault(tuple(token.map), []).extend(roles)
        for (start, end), roles in role_groups.items():
            edits.append((start, end,
                          self._replace_roles("\n".join(lines[start:end]), roles).split("\n")))
        edits.sort(key=lambda edit: edit[0], reverse=True)
        for (start, end, _), (next_start, _, _) in zip(edits[1:], edits):
            if end > next_start:
                raise ValueError(f"{self.doc_path.name}: overlapping MyST constructs "
                                 f"at lines {start + 1}-{end}")
        for start, end, replacement in edits:
            lines[start:end] = replacement
        return "\n".join(lines)

    def _replace_roles(self, text, roles):
        """Replace, in order, the role occurrences the parser found (``roles``) in ``text``.

        The parser decides what is a role; the pattern only locates it in the text. A
        match that is not the next expected role (role-like text in inline code) is left.
        """
        pending = list(roles)
        pieces, position = [], 0
        for match in _ROLE.finditer(text):
            if not pending:
                break
            name, content = pending[0]
            if match["name"] == name and match["content"].strip() == content.strip():
                pieces += [text[position:match.start()], self.role(name, content)]
                position = match.end()
                pending.pop(0)
        if pending:
            raise ValueError(f"{self.doc_path.name}: could not locate role(s) {pending} "
                             f"in {text[:200]!r}")
        return "".join(pieces) + text[position:]

    # -- roles ----------------------------------------------------------------------------

    def role(self, name, content):
        if name in ("glue", "glue:", "glue:any", "glue:text", "glue:md"):
            return self.glue_role(name, content)
        if name == "cite" or name.startswith("cite:"):
            role = name.partition(":")[2] or "p"
            keys = [self.bib_key(key.strip()) for key in content.split(",") if key.strip()]
            self.cited += [key for key in keys if key not in self.cited]
            return escape_markdown(self.book.bibliography.cite(role, keys))
        if name == "numref":
            title, target = self._titled_target(content)
            return escape_markdown(self.book.targets.number_text(target, title or None))
        if name == "ref":
            title, target = self._titled_target(content)
            if title:
                return escape_markdown(title)
            if target in self.book.targets.titles:
                return self.book.targets.titles[target]
            raise ValueError(f"{self.doc_path.name}: ref target {target!r} has no title")
        if name == "doc":
            return self.doc_role(content)
        if name == "math":
            return f"${content}$"
        if name in ("sub", "sup"):
            return f"<{name}>{html.escape(content)}</{name}>"
        if name == "abbr":
            title, target = self._titled_target(content)
            return escape_markdown(target if title else content)
        raise ValueError(f"{self.doc_path.name}: unsupported MyST role {{{name}}} "
                         f"(content {content!r})")

    @staticmethod
    def _titled_target(content):
        match = _TITLED_TARGET.match(content.strip())
        if match:
            return match["title"].strip(), match["target"].strip()
        return "", content.strip()

    def _glue_output(self, key):
        if key not in self.glue:
            raise ValueError(f"{self.doc_path.name}: no glued value {key!r} (is this an "
                             f"executed notebook? glued: {sorted(self.glue)[:20]})")
        return self.glue[key]

    def glue_role(self, name, content):
        from myst_nb.core.variables import format_plain_text

        if "::" in content:
            raise ValueError(f"{self.doc_path.name}: glue from another document "
                             f"({content!r}) is not supported")
        if name == "glue:text":
            key, _, spec = content.rpartition(":") if ":" in content else (content, "", "")
            data = self._glue_output(key)["data"]
            if "text/plain" not in data:
                raise ValueError(f"{self.doc_path.name}: glued value {key!r} has no text/plain")
            text = escape_markdown(format_plain_text(_text(data["text/plain"]), spec or "s"))
        elif name == "glue:md":
            key = content.rpartition(":")[0] if ":" in content else content
            data = self._glue_output(key)["data"]
            if "text/markdown" not in data:
                raise ValueError(f"{self.doc_path.name}: glued value {key!r} has no "
                                 "text/markdown")
            text = _text(data["text/markdown"]).strip()
        else:  # glue / glue:any: what the page shows for the value, inline
            data = self._glue_output(content)["data"]
            if "text/markdown" in data:
                text = _text(data["text/markdown"]).strip()
            elif "text/plain" in data:
                text = escape_markdown(format_plain_text(_text(data["text/plain"]), ""))
            else:
                raise ValueError(f"{self.doc_path.name}: glued value {content!r} has no "
                                 f"inline form (mime types {sorted(data)})")
        return f"{text}{BUILD_MARK}"

    def bib_key(self, key):
        """The BibTeX key of citation key ``key`` (the bibliography's keyprefix removed)."""
        for prefix in sorted(self.key_prefixes, key=len, reverse=True):
            if key.startswith(prefix) and key[len(prefix):] in self.book.bibliography.data.entries:
                return key[len(prefix):]
        raise ValueError(f"{self.doc_path.name}: citation key {key!r} is not in the "
                         f"bibliography (key prefixes {self.key_prefixes})")

    def doc_role(self, content):
        title, target = self._titled_target(content)
        base = self.book.root if target.startswith("/") else self.doc_path.parent
        path = (base / target.lstrip("/")).resolve()
        found = next((path.with_suffix(suffix) for suffix in (".ipynb", ".md")
                      if path.with_suffix(suffix).is_file()), None)
        if found is None:
            raise ValueError(f"{self.doc_path.name}: doc target {target!r} not found")
        title = escape_markdown(title) if title else document_title(found)
        if found.suffix == ".ipynb" and found.stem in self.book.reader_names:
            return f"[{title}]({found.stem}.ipynb)"
        return title

    # -- directives -----------------------------------------------------------------------

    def directive(self, d):
        name = d.name
        if name == "admonition" or name in ADMONITIONS:
            title = d.argument if name == "admonition" else ADMONITIONS[name]
            body = d.body if name == "admonition" or not d.argument else \
                f"{d.argument}\n{d.body}"
            classes = str(d.options.get("class", "")).split()
            return self.boxed(self.markdown(title), self.markdown(body),
                              collapsed="dropdown" in classes)
        if name in ("margin", "sidebar", "topic", "epigraph"):
            return self.boxed(self.markdown(d.argument), self.markdown(d.body))
        if name == "literalinclude":
            return self.literalinclude(d)
        if name in ("code-block", "code", "sourcecode"):
            return _fenced(d.body, d.argument)
        if name == "math":
            return f"$$\n{d.body}\n$$"
        if name == "exercise":
            return self.exercise(d)
        if name == "solution":
            return self.details(self.solution_title(d.argument), self.markdown(d.body))
        if name == "solution-start":
            return _SOLUTION_START.format(d.argument)
        if name == "solution-end":
            return _SOLUTION_END
        if name == "bibliography":
            return self.bibliography(d)
        if name in ("glue", "glue:", "glue:any", "glue:figure"):
            return self.glue_directive(d)
        if name == "glue:md":
            return self.glue_role("glue:md", d.argument)
        if name == "glue:math":
            data = self._glue_output(d.argument)["data"]
            return f"$$\n{_text(data['text/latex']).strip().strip('$')}\n$${BUILD_MARK}"
        if name in ("figure", "image"):
            return self.figure(d)
        raise ValueError(f"{self.doc_path.name}: unsupported MyST directive {{{name}}}")

    @staticmethod
    def boxed(title, body, collapsed=False):
        if collapsed:
            return ChapterConverter.details(title, body)
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in body.split("\n"))
        return f"> **{_plain(title)}**\n>\n{quoted}"

    @staticmethod
    def details(summary, body):
        return (f"<details>\n<summary>{html.escape(_plain(summary), quote=False)}</summary>"
                f"\n\n{body}\n\n</details>")

    def literalinclude(self, d):
        from sphinx.directives.code import LiteralIncludeReader

        path = (self.book.root / d.argument.lstrip("/") if d.argument.startswith("/")
                else self.doc_path.parent / d.argument)
        options = {key: (int(value) if key in LITERALINCLUDE_INT_OPTIONS else value)
                   for key, value in d.options.items()}
        language = options.pop("language", "python" if path.suffix == ".py" else "")
        for ignored in ("caption", "name", "class", "linenos", "lineno-start", "lineno-match",
                        "emphasize-lines", "force"):
            options.pop(ignored, None)
        config = types.SimpleNamespace(source_encoding="utf-8-sig")
        text, _ = LiteralIncludeReader(str(path), options, config).read()
        caption = d.options.get("caption")
        block = _fenced(text.rstrip("\n"), language)
        return f"*{caption}*\n\n{block}" if caption else block

    def exercise(self, d):
        label = d.options.get("label", "")
        if "nonumber" in d.options or not label:
            heading = "Exercise"
        else:
            heading = self.book.targets.number_text(label)
        title = self.markdown(d.argument) if d.argument else ""
        title_text = f"{heading} ({_plain(title)})" if title else heading
        return f"### {title_text}\n\n{self.markdown(d.body)}"

    def solution_title(self, label):
        targets = self.book.targets
        if label in targets.numbers:
            number = targets.number_text(label)
            title = targets.titles.get(label)
            return f"Solution to {number} ({title})" if title else f"Solution to {number}"
        return "Solution"

    def bibliography(self, d):
        self.has_bibliography = True
        filter_ = str(d.options.get("filter", "docname in docnames")).strip()
        if "all" in d.options:
            keys = list(self.book.bibliography.data.entries)
        elif filter_ == "docname in docnames":
            keys = self.cited
        else:
            raise ValueError(f"{self.doc_path.name}: unsupported bibliography filter "
                             f"{filter_!r}")
        return self.book.bibliography.reference_list(keys) if keys else ""

    def glue_directive(self, d):
        output = self._glue_output(d.argument)
        data = output["data"]
        image = next((mime for mime in ("image/png", "image/jpeg", "image/svg+xml")
                      if mime in data), None)
        if image is None:
            return self.glue_role("glue:any", d.argument)
        name = f"{d.argument}{mimetypes.guess_extension(image) or ''}"
        self.attachments[name] = {image: data[image]}
        caption = self.markdown(d.body) if d.body else ""
        label = d.options.get("name")
        if label and label in self.book.targets.numbers:
            caption = f"**{self.book.targets.number_text(label)}** {caption}".strip()
        alt = escape_markdown(d.options.get("alt", caption or d.argument))
        figure = f"![{_plain(alt)}](attachment:{name})"
        return f"{figure}\n\n{caption}{BUILD_MARK}" if caption else f"{figure}{BUILD_MARK}"

    def figure(self, d):
        path = (self.book.root / d.argument.lstrip("/") if d.argument.startswith("/")
                else self.doc_path.parent / d.argument)
        mime = mimetypes.guess_type(path.name)[0]
        if not path.is_file() or not mime or not mime.startswith("image/"):
            raise ValueError(f"{self.doc_path.name}: figure image {d.argument!r} not found")
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        self.attachments[path.name] = {mime: encoded}
        caption = self.markdown(d.body) if d.name == "figure" and d.body else ""
        label = d.options.get("name")
        if label and label in self.book.targets.numbers:
            caption = f"**{self.book.targets.number_text(label)}** {caption}".strip()
        alt = escape_markdown(d.options.get("alt", caption or path.stem))
        figure = f"![{_plain(alt)}](attachment:{path.name})"
        return f"{figure}\n\n{caption}" if caption else figure


def _fenced(code, language=""):
    """A fenced code block that no backtick run inside ``code`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def document_title(path):
    """The first level-1 heading of a Markdown file or notebook, as plain text."""
    path = pathlib.Path(path)
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text(encoding="utf-8"))
        text = "\n".join(_text(cell["source"]) for cell in notebook["cells"]
                         if cell["cell_type"] == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    match = re.search(r"^# +(.+?)\s*$", text, re.M)
    if not match:
        raise ValueError(f"{path}: no level-1 heading to use as its title")
    return match.group(1)


def glue_data(executed_path, notebook):
    """The glued values of an executed notebook: its ``.glue.json``, else its outputs.

    Jupyter Book writes the values to ``NAME.glue.json`` beside the executed notebook and
    removes them from the outputs; a notebook executed otherwise still has them in its
    outputs, from which they are taken (and removed, as the book does).
    """
    from myst_nb.ext.glue import extract_glue_data_cell

    sidecar = pathlib.Path(executed_path).with_suffix(".glue.json")
    values = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            values.update(dict(extract_glue_data_cell(cell)))
    return values


class Book:
    """The book-wide context of a conversion: configuration, parser, bibliography, targets."""

    def __init__(self, config_path="_config.yml", *, sources=None, reader_names=(),
                 numbers=None):
        from markdown_it.renderer import RendererHTML
        from myst_parser.config.main import MdParserConfig
        from myst_parser.parsers.mdit import create_md_parser

        config_path = pathlib.Path(config_path)
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        self.root = config_path.resolve().parent
        self.title = config.get("title", "the course")
        self.sources = pathlib.Path(sources) if sources else self.root / "book"
        self.repository_url, self.branch = repository_settings(config_path)
        extensions = (config.get("parse") or {}).get("myst_enable_extensions") or []
        self.parser = create_md_parser(MdParserConfig(enable_extensions=set(extensions)),
                                       RendererHTML)
        self.bibliography = Bibliography([self.root / path for path in
                                          config.get("bibtex_bibfiles") or []])
        self.reader_names = set(reader_names)
        self.targets = Targets(numbers=dict(numbers or {}))
        self.numbered_by_sphinx = bool(numbers)
        self._counters = {}

    def walk(self, text):
        """Yield ``("directive", Directive)`` and ``("role", name, content)`` in ``text``."""
        for token in self.parser.parse(text, {}):
            if token.type in ("fence", "colon_fence") and token.info.strip().startswith("{"):
                directive = Directive.parse(token.info, token.content)
                yield ("directive", directive)
                yield from self.walk(directive.body)
                yield from self.walk(directive.argument)
            elif token.type == "inline":
                for child in token.children or []:
                    if child.type == "myst_role":
                        yield ("role", child.meta["name"], child.content)

    def collect_targets(self, notebook):
        """Register the titles of a chapter's figures and exercises, and their numbers.

        The numbers are the Sphinx build's when ``numbers`` were given; otherwise figures
        and exercises are counted through the chapters in the order they are collected,
        which is the site's numbering when the chapters are collected in the order of the
        table of contents (the book numbers them continuously across chapters).
        """
        def register(figtype, label, title):
            if title:
                self.targets.titles[label] = title
            if not self.numbered_by_sphinx and label not in self.targets.numbers:
                self._counters[figtype] = self._counters.get(figtype, 0) + 1
                self.targets.numbers[label] = (figtype, (self._counters[figtype],))

        for cell in notebook.cells:
            if cell.cell_type == "code":
                figure = cell.metadata.get("mystnb", {}).get("figure", {})
                if figure.get("name"):
                    register("figure", figure["name"], figure.get("caption", ""))
            elif cell.cell_type == "markdown":
                for item in self.walk(cell.source):
                    directive = item[1] if item[0] == "directive" else None
                    if directive is None:
                        continue
                    label = directive.options.get("label") or directive.options.get("name")
                    if not label:
                        continue
                    if directive.name == "exercise" and "nonumber" not in directive.options:
                        register("exercise", label, directive.argument)
                    elif directive.name in ("figure", "glue:figure"):
                        register("figure", label, directive.body.split("\n")[0])


def convert_notebook(notebook, book, *, doc_path, glue=None):
    """The reader notebook of one executed chapter (``notebook``, an ``nbformat`` node).

    ``doc_path`` is the chapter's source file (it anchors relative paths); ``glue`` the
    glued values (default: taken from ``notebook``'s outputs). ``book.collect_targets``
    must have seen every chapter whose targets this one references.

    Example:
        >>> book = Book("_config.yml", reader_names=["06_optimizers"])  # doctest: +SKIP
        >>> executed = nbformat.read("_build/jupyter_execute/book/06_optimizers.ipynb",
        ...                          4)  # doctest: +SKIP
        >>> reader = convert_notebook(executed, book,  # doctest: +SKIP
        ...                           doc_path="book/06_optimizers.ipynb")
    """
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))  # a deep copy
    glue = dict(glue if glue is not None else glue_data(doc_path, notebook))
    converter = ChapterConverter(book, doc_path, glue)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for item in book.walk(cell.source):
                if item[0] == "directive" and item[1].name == "bibliography":
                    prefix = item[1].options.get("keyprefix", "")
                    if prefix not in converter.key_prefixes:
                        converter.key_prefixes.append(prefix)

    cells, in_solution = [], None
    install_done = False
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if not install_done and is_install_cell(cell):
                cells.append(_install_cell(book, cell))
                install_done = True
                continue
            _collapse_tagged(cell)
            if in_solution:
                cell.metadata.setdefault("jupyter", {}).update(
                    {"source_hidden": True, "outputs_hidden": True})
            cells.append(cell)
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            if figure.get("caption"):
                caption = converter.markdown(figure["caption"])
                if figure.get("name") in book.targets.numbers:
                    caption = f"**{book.targets.number_text(figure['name'])}** {caption}"
                cells.append(nbformat.v4.new_markdown_cell(caption))
            continue
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        converter.attachments = dict(cell.get("attachments", {}))
        text, in_solution = _solution_regions(converter.markdown(cell.source), in_solution,
                                              converter)
        cell.source = text.strip("\n")
        if converter.attachments:
            cell.attachments = converter.attachments
        if cell.source:
            cells.append(cell)
    if not install_done:
        first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
        cells.insert(first_code, _install_cell(book, None))
    if converter.cited and not converter.has_bibliography:
        cells.append(nbformat.v4.new_markdown_cell(
            "## References\n\n" + book.bibliography.reference_list(converter.cited)))
    _add_note(cells, book)
    notebook.cells = cells
    if notebook.nbformat_minor < 5:  # cell ids arrived with nbformat 4.5
        for cell in notebook.cells:
            cell.pop("id", None)
    survivors = surviving_myst(notebook)
    if survivors:
        raise ValueError(f"{pathlib.Path(doc_path).name}: MyST left in the reader notebook: "
                         f"{survivors[:5]}")
    nbformat.validator.normalize(notebook)
    nbformat.validate(notebook)
    return notebook


def _solution_regions(text, in_solution, converter):
    """Resolve the gated-solution markers of one converted Markdown cell.

    A ``solution-start`` marker becomes the solution's bold title; Markdown between the
    markers (possibly across cells: ``in_solution`` carries the exercise label from one
    cell to the next) goes into a ``<details>`` element. Returns the text and the label of
    the solution still open at the end of the cell (``None`` if none).
    """
    segments, position = [], 0
    for match in _SOLUTION_MARK.finditer(text):
        segments.append((text[position:match.start()], in_solution))
        in_solution = match["label"]  # None at solution-end
        if in_solution:
            title = escape_markdown(converter.solution_title(in_solution))
            segments.append((f"**{title}** (in JupyterLab its code cells are collapsed: "
                             "click one to show it)", None))
        position = match.end()
    segments.append((text[position:], in_solution))
    pieces = []
    for segment, label in segments:
        if not segment.strip():
            continue
        if label:
            summary = f"{converter.solution_title(label)}: text"
            pieces.append(converter.details(summary, segment.strip("\n")))
        else:
            pieces.append(segment.strip("\n"))
    return "\n\n".join(pieces), in_solution


def _collapse_tagged(cell):
    tags = cell.metadata.get("tags", [])
    hidden = {flag for tag in tags for flag in COLLAPSE_TAGS.get(tag, ())}
    if hidden:
        cell.metadata.setdefault("jupyter", {}).update({flag: True for flag in sorted(hidden)})
    if "remove-stderr" in tags:
        cell.outputs = [output for output in cell.outputs
                        if not (output.get("output_type") == "stream"
                                and output.get("name") == "stderr")]


def _install_cell(book, cell):
    """The Colab install cell for the configured repository (a reader sees it: not hidden)."""
    new = nbformat.v4.new_code_cell(install_cell_source(book.repository_url, book.branch))
    if cell is not None:
        new.metadata = {key: value for key, value in cell.metadata.items() if key != "tags"}
        extra_tags = [tag for tag in cell.metadata.get("tags", [])
                      if tag not in INSTALL_CELL_TAGS]
        if extra_tags:
            new.metadata["tags"] = extra_tags
        if "id" in cell:
            new.id = cell.id
        new.execution_count = cell.get("execution_count")
    return new


def _add_note(cells, book):
    note = NOTE.format(title=book.title, mark=BUILD_MARK)
    first = next((c for c in cells if c.cell_type == "markdown"), None)
    if first is not None and first.source.lstrip().startswith("# "):
        heading, _, rest = first.source.lstrip().partition("\n")
        first.source = f"{heading}\n\n{note}\n\n{rest.lstrip(chr(10))}".rstrip("\n")
    else:
        cells.insert(0, nbformat.v4.new_markdown_cell(note))


def surviving_myst(notebook):
    """Lines of ``notebook``'s Markdown cells that still look like a MyST role or directive.

    Code blocks are skipped: an included listing may quote MyST or reST.
    """
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            prose = _CODE_BLOCK.sub("", cell.source)
            found += [line for line in prose.split("\n") if _SURVIVING_MYST.search(line)]
    return found


def convert_book(executed_dir, out_dir, *, config_path="_config.yml", sources=None,
                 doctrees=None):
    """Write the reader notebook of every executed chapter in ``executed_dir`` to ``out_dir``.

    ``sources`` is the directory of the chapters' sources (default: ``book/`` beside the
    configuration); ``doctrees`` the Sphinx doctree directory whose saved environment gives
    the site's figure and exercise numbers (default: ``_build/.doctrees`` beside the
    configuration, when present). Returns the paths written.

    Example:
        >>> convert_book("_build/jupyter_execute/book", "_build/html/_notebooks")  # doctest: +SKIP
    """
    executed_dir, out_dir = pathlib.Path(executed_dir), pathlib.Path(out_dir)
    paths = sorted(executed_dir.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"executed_dir {str(executed_dir)!r} holds no notebook; build the "
                         "book first (make book)")
    config_path = pathlib.Path(config_path)
    root = config_path.resolve().parent
    doctrees = pathlib.Path(doctrees) if doctrees else root / "_build" / ".doctrees"
    book = Book(config_path, sources=sources, reader_names=[p.stem for p in paths],
                numbers=numbers_from_sphinx(doctrees))
    notebooks = [(path, _with_cached_outputs(nbformat.read(path, as_version=4),
                                             root / "_build" / ".jupyter_cache"))
                 for path in paths]
    for _, notebook in notebooks:
        book.collect_targets(notebook)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, notebook in notebooks:
        doc_path = book.sources / path.name
        if not doc_path.is_file():
            raise ValueError(f"no source {str(doc_path)!r} for executed notebook {path.name}")
        reader = convert_notebook(notebook, book, doc_path=doc_path,
                                  glue=glue_data(path, notebook))
        target = out_dir / path.name
        nbformat.write(reader, target)
        written.append(target)
    return written


def _with_cached_outputs(notebook, cache_dir):
    """``notebook`` with the outputs of its execution in the book's cache, if it lacks them.

    myst-nb writes a page's notebook to ``jupyter_execute`` without outputs when it took
    them from the execution cache (as it does for the chapters nbval executed), so the
    outputs are merged from that cache here.
    """
    has_outputs = any(cell.get("outputs") for cell in notebook.cells
                      if cell.cell_type == "code")
    if has_outputs or not pathlib.Path(cache_dir).is_dir():
        return notebook
    from jupyter_cache import get_cache  # a dependency of the book extra

    try:
        return get_cache(str(cache_dir)).merge_match_into_notebook(notebook)[1]
    except KeyError:  # not in the cache: convert what there is
        return notebook


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m companion.book.reader_notebooks",
        description="Write reader notebooks (plain Jupyter Markdown, outputs kept) of the "
                    "executed chapters in SRC_DIR to OUT_DIR.")
    parser.add_argument("src_dir", help="executed notebooks, e.g. _build/jupyter_execute/book")
    parser.add_argument("out_dir", help="where to write them, e.g. _build/html/_notebooks")
    parser.add_argument("--config", default="_config.yml", help="the book's _config.yml")
    parser.add_argument("--sources", help="the chapters' sources (default: book/)")
    parser.add_argument("--doctrees", help="Sphinx doctrees, for the site's numbers "
                                           "(default: _build/.doctrees)")
    args = parser.parse_args(argv)
    try:
        written = convert_book(args.src_dir, args.out_dir, config_path=args.config,
                               sources=args.sources, doctrees=args.doctrees)
    except ValueError as error:
        print(f"reader notebooks: {error}", file=sys.stderr)
        return 1
    print(f"{len(written)} reader notebooks written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
