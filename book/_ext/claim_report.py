"""Sphinx extension: the site's Verification report, made from the build's claim ledger.

Every claim cell records its claim in the ledger (:mod:`companion.book.ledger`), one
JSON-lines file per chapter. This extension

* tells the notebooks' kernels where the ledger goes and which chapter they run:
  at ``builder-inited`` it sets ``COMPANION_LEDGER_DIR`` to ``<build dir>/claims``
  (``_build/claims``) unless it is set already, and at ``source-read``, just before
  myst-nb executes a notebook in this process (kernels inherit the environment),
  ``COMPANION_CHAPTER`` to the notebook's file name;
* turns the ``{claim-report}`` directive into the report. The directive leaves a
  placeholder, which is filled at ``doctree-resolved``: in the write phase, after
  every chapter has been read, that is executed or taken from the execution cache,
  whatever the order or parallelism of reading. A notebook page that read the
  ledger would not do: Jupyter Book's cache would never execute it again (its code
  does not change when the ledger does), and it would depend on execution order.
  The page with the directive is re-read on every build (``env-get-outdated``),
  since what it shows changes without its source changing;
* warns, which fails a ``-W`` build, when the ledger is missing, when a chapter of
  the build has no record in it, when records were made under another profile than
  the build's, or when a recorded claim failed: the report must not silently show
  less than the build checked;
* writes the ledger of the build as one JSON file, ``claims.json``, into the site.
"""

import json
import os
import pathlib
import posixpath

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from companion.book import ledger
from companion.book.profiles import profile

logger = logging.getLogger(__name__)
JSON_NAME = "claims.json"


class claim_report_placeholder(nodes.General, nodes.Element):
    """Where the report goes; replaced at ``doctree-resolved``."""


class ClaimReportDirective(SphinxDirective):
    """``{claim-report}``: the table of every claim of the build, smallest margin first."""

    has_content = False

    def run(self):
        pages = getattr(self.env, "claim_report_pages", set())
        pages.add(self.env.docname)
        self.env.claim_report_pages = pages
        return [claim_report_placeholder()]


def ledger_directory(outdir, configured):
    """The build's ledger: ``configured`` (``$COMPANION_LEDGER_DIR``) or ``claims`` beside the output.

    The path is made absolute: the kernels run in the notebooks' directory.

    Example:
        >>> ledger_directory("/book/_build/html", None).as_posix()
        '/book/_build/claims'
        >>> ledger_directory("/book/_build/html", "/tmp/ledger").as_posix()
        '/tmp/ledger'
    """
    chosen = pathlib.Path(configured) if configured else pathlib.Path(outdir).parent / "claims"
    return chosen.absolute()


def _builder_inited(app):
    os.environ[ledger.LEDGER_ENV] = str(ledger_directory(app.outdir, ledger.ledger_dir()))


def _source_read(app, docname, source):
    os.environ[ledger.CHAPTER_ENV] = posixpath.basename(docname)


def _outdated(app, env, added, changed, removed):
    return sorted(getattr(env, "claim_report_pages", set()) - set(removed))


def _purge(app, env, docname):
    getattr(env, "claim_report_pages", set()).discard(docname)


def _merge(app, env, docnames, other):
    pages = getattr(env, "claim_report_pages", set())
    pages |= getattr(other, "claim_report_pages", set()) & set(docnames)
    env.claim_report_pages = pages


def build_chapters(env):
    """The notebooks of the build: ``{chapter name: docname}``."""
    return {posixpath.basename(doc): doc for doc in sorted(env.found_docs)
            if str(env.doc2path(doc)).endswith(".ipynb")}


def check_ledger(records, chapters, profile_name):
    """What is wrong with the ledger of a build, as a list of messages (empty: nothing).

    ``records`` are the ledger's records, ``chapters`` the build's chapter names.

    Example:
        >>> check_ledger([{"chapter": "a", "profile": "quick", "passed": True,
        ...                "statement": "s"}], ["a", "b"], "full")  # doctest: +NORMALIZE_WHITESPACE
        ["chapter 'b' has no claim in the ledger", "chapter 'a' recorded its claims
        under the quick profile, the build is full"]
    """
    problems = []
    recorded = {r.get("chapter") for r in records}
    for chapter in chapters:
        if chapter not in recorded:
            problems.append(f"chapter {chapter!r} has no claim in the ledger")
    for chapter in chapters:
        profiles = sorted({r.get("profile") for r in records if r.get("chapter") == chapter})
        other = [p for p in profiles if p != profile_name]
        if other:
            problems.append(f"chapter {chapter!r} recorded its claims under the "
                            f"{', '.join(map(str, other))} profile, the build is {profile_name}")
    for r in records:
        if not r.get("passed"):
            problems.append(f"chapter {r.get('chapter')!r}: the claim {r['statement']!r} "
                            "failed")
    return problems


def _paragraph(*parts):
    para = nodes.paragraph()
    for part in parts:
        para += part if isinstance(part, nodes.Node) else nodes.Text(part)
    return para


def _table(headers, rows, widths):
    """A docutils table; every cell is text or a node."""
    table = nodes.table(classes=["claim-report"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row_node = nodes.row()
    for header in headers:
        row_node += nodes.entry("", _paragraph(header))
    head += row_node
    body = nodes.tbody()
    group += body
    for row in rows:
        row_node = nodes.row()
        for cell in row:
            row_node += nodes.entry("", _paragraph(cell))
        body += row_node
    return table


def report_nodes(app, docname, records, chapters):
    """The report: a summary, the machines, the ranked table and the table of the others."""
    env = app.builder.env

    def chapter_link(name):
        target = chapters.get(name)
        title = env.titles[target].astext() if target in env.titles else name
        if target is None:
            return nodes.Text(name)
        reference = nodes.reference("", title, internal=True,
                                    refuri=app.builder.get_relative_uri(docname, target))
        return reference

    ranked, unranked = ledger.report_rows(records)
    failed = sum(not row["passed"] for row in ranked + unranked)
    weak = sum(row["weak"] for row in ranked)
    result = [_paragraph(
        f"This build checked {len(records)} claims in {len(chapters)} chapters: "
        f"{len(records) - failed} held, {failed} failed. {len(ranked)} have a relative "
        f"margin; {weak} of them lie within {ledger.WEAK_MARGIN:.0%} of their bound, "
        "marked ⚠ below. The ledger of this build, as JSON: ",
        nodes.reference("", JSON_NAME, refuri=posixpath.relpath(
            JSON_NAME, posixpath.dirname(docname) or ".")), ".")]
    runs = nodes.bullet_list()
    for line in ledger.describe_runs(records):
        runs += nodes.list_item("", _paragraph(line))
    result += [_paragraph("Measured on:"), runs]
    if ranked:
        rows = [[f"{ledger.margin_text(r['margin'])}{' ⚠' if r['weak'] else ''}"
                 f"{'' if r['passed'] else ' failed'}",
                 chapter_link(r["chapter"]), r["statement"], r["measured"], r["required"]]
                for r in ranked]
        result.append(_table(["Margin", "Chapter", "Claim", "Measured", "Required"], rows,
                             [8, 18, 50, 10, 14]))
    if unranked:
        result.append(_paragraph(
            "Claims without a relative margin: those checked by a condition that holds "
            "or not, and those whose only bound is 0."))
        rows = [["held" if r["passed"] else "failed", chapter_link(r["chapter"]),
                 r["statement"], r["measured"], r["required"]] for r in unranked]
        result.append(_table(["Result", "Chapter", "Claim", "Evidence", "Required"], rows,
                             [8, 18, 50, 10, 14]))
    return result


def _doctree_resolved(app, doctree, docname):
    placeholders = list(doctree.findall(claim_report_placeholder))
    if not placeholders:
        return
    directory = ledger.ledger_dir()  # set at builder-inited
    chapters = build_chapters(app.builder.env)
    try:
        records = [r for r in ledger.read_ledger(directory) if r.get("chapter") in chapters]
    except (FileNotFoundError, ValueError) as err:
        logger.warning(f"claim ledger: {err}", location=docname)
        records = []
    if not records:
        logger.warning(f"the claim ledger {directory} holds no claim of this build's "
                       "chapters; they were taken from an execution cache made without a "
                       "ledger: delete _build/.jupyter_cache (make clean) and build again",
                       location=docname)
        content = [_paragraph(f"No claim was recorded in {directory} for this build.")]
    else:
        for problem in check_ledger(records, chapters, profile().name):
            logger.warning(f"claim ledger {directory}: {problem}", location=docname)
        content = report_nodes(app, docname, records, chapters)
        if app.builder.format == "html":
            pathlib.Path(app.outdir, JSON_NAME).write_text(
                json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for placeholder in placeholders:
        placeholder.replace_self(content)


def setup(app):
    app.add_node(claim_report_placeholder)
    app.add_directive("claim-report", ClaimReportDirective)
    app.connect("builder-inited", _builder_inited)
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-resolved", _doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
