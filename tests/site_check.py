"""Browser test of the built website: every page opened in headless Chromium.

Run after a build (``make book`` or the quick build in CI) with ``make site-test``,
i.e. ``python -m pytest tests/site_check.py``. Not collected by ``make test``
(the file name does not start with ``test_``), because it needs ``_build/html``.

Every page is opened twice, at a desktop width (1280 CSS px) and at a phone width
(390 CSS px, an iPhone 12 to 15 held upright), and fails on:

* a console error, an image that did not load, mathematics left unrendered;
* a figure drawn out of proportion, or scaled down so far that its text is too small
  to read (``MIN_FIGURE_SCALE``);
* markup that was printed instead of processed: reST directives, field lists and
  roles (``.. py:function::``, ``:param x:``, ``:class:`...```), MyST roles and
  directives (``{glue}`...```, ``{cite:p}``, a ```` ```{figure} ```` fence), or a
  code block that starts with a directive option (``:pyobject:``, ``:class:``);
* a code block whose text does not fit its box (clipped, spilling out of the column,
  or hidden behind a sideways scroll; see ``CODE_OVERFLOW``), a formula cut off by
  the box around it, and a page that is wider than the window, so that the whole page
  scrolls sideways.

Collapsed parts (solutions, hidden cells) are opened for the markup and code checks.
An internal link (target page or anchor) must exist: a target page is a file of the
built site, and an anchor an ``id`` in that page's HTML as served (on the page itself,
an ``id`` its scripts add counts too). Each page checks its own links (at the desktop
width), so that the pages can be spread over ``make site-test``'s pytest-xdist workers
(``$(JOBS)``, 2 by default), each with its own Chromium. A search for words from the
book must find pages. Screenshots (JPEG; PNG for pages taller than JPEG allows) go to
``_build/screenshots/`` (desktop) and ``_build/screenshots/phone/``. Chromium is
Debian's (``$CHROMIUM``, default ``/usr/bin/chromium``), driven by Playwright without
downloading a browser.
"""

import contextlib
import functools
import html.parser
import http.server
import os
import pathlib
import re
import threading
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Another built site (e.g. an older build, to compare) with $SITE_DIR; its
# screenshots then go beside it, in <SITE_DIR>-screenshots.
SITE = pathlib.Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = (SITE.parent / f"{SITE.name}-screenshots" if "SITE_DIR" in os.environ
               else ROOT / "_build" / "screenshots")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The flags this closed network needs: no background connections, no GPU, no sandbox as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SEARCH_WORDS = ["gradient", "saturation", "initialisation"]
SKIPPED_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}
# Desktop, and a phone held upright.
VIEWPORTS = {"desktop": {"width": 1280, "height": 900},
             "phone": {"width": 390, "height": 844}}


def site_pages():
    if not (SITE / "index.html").is_file():
        raise RuntimeError(f"no built site at {SITE}: run `make book` first")
    return sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
                  if not SKIPPED_DIRS & set(p.relative_to(SITE).parts))


PAGES = site_pages()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not pathlib.Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium, "
                    "or set $CHROMIUM")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def open_page(browser, url, viewport=VIEWPORTS["desktop"]):
    """A page loaded from ``url`` with its console errors collected in ``page.errors``."""
    page = browser.new_page(viewport=viewport)
    page.errors = []
    # The location names the failing URL, which a console message alone does not (the
    # browser's own /favicon.ico request raises no Playwright response event).
    page.on("console", lambda m: m.type == "error" and page.errors.append(
        f"{m.text} at {m.location.get('url') or 'unknown URL'}"))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400
            and page.errors.append(f"HTTP {r.status} for {r.url}"))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        yield page
    finally:
        page.close()


WAIT_FOR_MATHJAX = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
}"""
UNRENDERED_MATH = """() => Array.from(document.querySelectorAll('.math'))
  .filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60))"""
BROKEN_IMAGES = """() => Array.from(document.images)
  .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'))"""
# Figures: none drawn out of proportion, and none scaled down so far that its text is
# too small to read. The book's plots set 13-pt text at 90 px per inch, 16 CSS px at
# full size; shown at MIN_FIGURE_SCALE of that size or more, it stays 9 px or larger.
MIN_FIGURE_SCALE = 0.55
CHAPTER_PAGE = re.compile(r"book/\d\d_\w+\.html")
FIGURES = """() => Array.from(document.querySelectorAll('.cell_output img'))
  .filter(i => i.getClientRects().length && i.naturalWidth > 0)
  .map(i => ({src: i.getAttribute('src'), shown: [i.clientWidth, i.clientHeight],
              natural: [i.naturalWidth, i.naturalHeight],
              intended: parseFloat(i.style.width) || parseFloat(i.getAttribute('width'))
                        || i.naturalWidth}))"""
LINKS = "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
IDS = "() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"

# Solutions (sphinx-exercise dropdowns), hidden inputs and toggled admonitions are
# <details> elements or sphinx-togglebutton blocks; open them all.
EXPAND_ALL = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('.toggle-details__summary, button.toggle-button')
    .forEach(b => b.setAttribute('aria-expanded', 'true'));
}"""

# Markup that a page shows as text when a directive or role was not processed (e.g.
# autodoc's reST read by the Markdown parser). Searched in the text outside code.
RAW_MARKUP_IN_PROSE = [
    ("reST directive", r"(^|\s)\.\. [a-z][\w:-]*::"),
    ("reST role", r"(^|[\s(])(:[a-z]+)?:[a-z][\w-]*:`"),
    ("reST or directive field", r"(^|\s):(param|type|returns?|rtype|raises?|yields?|members|"
                                r"undoc-members|pyobject|caption|start-after|end-before|"
                                r"emphasize-lines|linenos|lines|class|name|label|dedent|"
                                r"language|alt|width|align)( [^:\n]{1,60})?:(\s|$)"),
    ("MyST role", r"\{[a-z][\w:.-]*\}`"),
    ("MyST directive", r"(```|~~~|:::)\{[a-z]"),
    ("MyST glue or citation", r"\{(glue|cite)[:}]"),
]
# A code block that begins with a directive option shows a directive whose options
# were taken for its content; reST directives and MyST fences never belong in code.
RAW_MARKUP_IN_CODE = [
    ("directive option at the start of a code block", r"^\s*:[a-z][\w-]*:"),
    ("reST directive in a code block", r"(^|\n)\s*\.\. [a-z][\w:-]*::"),
    ("MyST directive in a code block", r"(^|\n)\s*(```|~~~|:::)\{[a-z]"),
    ("MyST glue or citation in a code block", r"\{(glue|cite)[:}]"),
]
RAW_MARKUP = """([prosePatterns, codePatterns]) => {
  const prose = prosePatterns.map(([name, re]) => [name, new RegExp(re)]);
  const code = codePatterns.map(([name, re]) => [name, new RegExp(re)]);
  const skip = 'pre, code, script, style, textarea, noscript, mjx-container, .math, kbd, samp';
  const blockSelector = 'p, li, dt, dd, td, th, h1, h2, h3, h4, h5, h6, figcaption, caption, div';
  // The text of each block around a text node, code replaced by a placeholder, so that
  // markup split across inline elements (":param <em>x</em>:") is seen whole.
  const blocks = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !node.textContent.trim()) continue;
    blocks.add(parent.closest(blockSelector) || parent);
  }
  const found = new Set();
  const excerpt = (text, at) =>
    text.slice(Math.max(0, at - 20), Math.max(0, at - 20) + 80).replace(/\\s+/g, ' ').trim();
  for (const block of blocks) {
    const copy = block.cloneNode(true);
    copy.querySelectorAll(skip).forEach(e => e.replaceWith(' CODE '));
    const text = copy.textContent;
    for (const [name, re] of prose) {
      const m = text.match(re);
      if (m) found.add(`${name}: "${excerpt(text, m.index)}"`);
    }
  }
  for (const pre of document.querySelectorAll('pre')) {
    const text = pre.textContent;
    for (const [name, re] of code) {
      const m = text.match(re);
      if (m) found.add(`${name}: "${excerpt(text, m.index)}"`);
    }
  }
  return Array.from(found);
}"""

# A code block must show all of its text inside its box: text wider than the box
# fails, whether the box hides it, lets it spill out of the column, or scrolls it.
# Scrolling counts as clipping because the reader rarely sees the scrollbar: phones
# draw overlay scrollbars only while a finger scrolls, headless Chromium hides them
# (Playwright's default, kept here to see pages as phones show them), and
# screenshots and printouts show only the box. A box around a code block must not
# cut it either, and the page as a whole must not be wider than the window.
CODE_OVERFLOW = """() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  const label = e => JSON.stringify((e.textContent.trim().split('\\n')[0] || '').slice(0, 50));
  for (const pre of document.querySelectorAll('pre')) {
    if (!pre.getClientRects().length) continue;  // not displayed
    const excess = pre.scrollWidth - pre.clientWidth;
    if (excess > 1) {
      const how = {visible: 'runs out of its box', hidden: 'is clipped', clip: 'is clipped'};
      const overflow = getComputedStyle(pre).overflowX;
      problems.push(`code ${how[overflow] || 'hides behind a horizontal scroll'} ` +
                    `by ${excess}px: ${label(pre)}`);
    }
    const r = pre.getBoundingClientRect();
    for (let a = pre.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX === 'visible') continue;
      const ar = a.getBoundingClientRect();
      const outside = Math.round(Math.max(r.right - ar.right, ar.left - r.left));
      if (outside > 1) {
        problems.push(`code block ${outside}px outside the box that cuts it ` +
                      `(${a.tagName.toLowerCase()}.${[...a.classList].join('.')}): ${label(pre)}`);
      }
      break;
    }
    if (r.right > width + 1) {
      problems.push(`code block ends ${Math.round(r.right - width)}px past the window: ${label(pre)}`);
    }
  }
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > width + 1) {
    // The outermost elements that reach past the window's right edge.
    const wide = Array.from(document.querySelectorAll('body *'))
      .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > width + 1)
      .filter(e => e.parentElement.getBoundingClientRect().right <= width + 1)
      .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`);
    problems.push(`the page is ${pageWidth}px wide in a ${width}px window; ` +
                  `elements past the edge: ${wide.join(', ')}`);
  }
  return problems;
}"""


# Mathematics cannot wrap (MathJax 3 breaks no lines), so a formula wider than the
# column may scroll inside its own box; it must not be cut off by a box that hides
# what overflows it.
CLIPPED_MATH = """() => {
  const cut = [];
  for (const math of document.querySelectorAll('mjx-container')) {
    if (!math.getClientRects().length) continue;
    const r = math.getBoundingClientRect();
    for (let a = math.parentElement; a && a !== document.body; a = a.parentElement) {
      const overflow = getComputedStyle(a).overflowX;
      if (overflow === 'visible') continue;
      const ar = a.getBoundingClientRect();
      const outside = Math.round(Math.max(r.right - ar.right, ar.left - r.left));
      if (outside > 1 && (overflow === 'hidden' || overflow === 'clip')) {
        const text = (math.querySelector('mjx-assistive-mml') || math).textContent;
        cut.push(`${outside}px cut off: ${JSON.stringify(text.slice(0, 50))}`);
      }
      break;
    }
  }
  return cut;
}"""


class _IdParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name == "id" and value)


@functools.lru_cache(maxsize=None)
def page_ids(target):
    """The ``id`` attributes in the HTML file ``target`` (a path in the built site)."""
    parser = _IdParser()
    parser.feed(target.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def broken_links(base_url, path, links, loaded_ids):
    """The internal links among ``links`` (on page ``path``) whose page or anchor is missing."""
    here = SITE / path
    broken = []
    for link in links:
        url, _, fragment = link.partition("#")
        if not url.startswith(base_url):
            continue
        target = SITE / urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link} (no such page)")
            continue
        if not fragment or target.suffix != ".html":  # a file's fragment is no anchor
            continue
        ids = page_ids(target) | (loaded_ids if target == here else frozenset())
        if urllib.parse.unquote(fragment) not in ids:
            broken.append(f"{link} (no such anchor)")
    return sorted(set(broken))


# JPEG encodes a long page faster than PNG (a 26,000-px chapter: 1.4 s against 2.6 s
# here, one run), but holds at most 65,500 px: taller pages (the API reference is
# 127,000 px tall at desktop width) are saved as PNG.
JPEG_MAX_HEIGHT = 65_500


def save_screenshot(page, path, device):
    """A full-page screenshot of ``page`` (which also loads every image); its file."""
    folder = SCREENSHOTS if device == "desktop" else SCREENSHOTS / device
    stem = folder / path.removesuffix(".html")
    stem.parent.mkdir(parents=True, exist_ok=True)
    tall = page.evaluate("document.documentElement.scrollHeight") > JPEG_MAX_HEIGHT
    shot, other = ((stem.with_suffix(".png"), stem.with_suffix(".jpg")) if tall else
                   (stem.with_suffix(".jpg"), stem.with_suffix(".png")))
    options = {} if tall else {"type": "jpeg", "quality": 80}
    page.screenshot(path=str(shot), full_page=True, **options)
    other.unlink(missing_ok=True)  # an earlier build's screenshot of the page
    return shot


@pytest.mark.parametrize("device", VIEWPORTS)
@pytest.mark.parametrize("path", PAGES)
def test_page(browser, base_url, path, device):
    with open_page(browser, base_url + path, VIEWPORTS[device]) as page:
        page.evaluate(WAIT_FOR_MATHJAX)
        shot = save_screenshot(page, path, device)
        broken = page.evaluate(BROKEN_IMAGES)
        figures = page.evaluate(FIGURES)
        unrendered = page.evaluate(UNRENDERED_MATH)
        broken_internal = (broken_links(base_url, path, page.evaluate(LINKS),
                                        frozenset(page.evaluate(IDS)))
                           if device == "desktop" else [])  # the same links at any width
        page.evaluate(EXPAND_ALL)
        raw = page.evaluate(RAW_MARKUP, [RAW_MARKUP_IN_PROSE, RAW_MARKUP_IN_CODE])
        overflow = page.evaluate(CODE_OVERFLOW)
        clipped_math = page.evaluate(CLIPPED_MATH)
        errors = list(page.errors)
    assert not errors, f"{path} ({device}): console errors {errors}"
    assert shot.stat().st_size > 0, f"{path} ({device}): the screenshot {shot} is empty"
    assert not broken_internal, (f"{path} ({device}): broken internal links:\n"
                                 + "\n".join(broken_internal))
    assert not broken, f"{path} ({device}): images that did not load: {broken}"
    assert not unrendered, f"{path} ({device}): mathematics left unrendered: {unrendered}"
    # Every chapter plots; a chapter page without a figure was executed without an inline
    # backend (a build once lost all its figures to the test suite's MPLBACKEND).
    if CHAPTER_PAGE.fullmatch(path):
        assert figures, f"{path} ({device}): a chapter page without a single figure"
    distorted = [f["src"] for f in figures if abs(
        f["shown"][0] * f["natural"][1] / (f["shown"][1] * f["natural"][0]) - 1) > 0.02]
    assert not distorted, f"{path} ({device}): figures out of proportion: {distorted}"
    tiny = [f"{f['src']} at {f['shown'][0] / f['intended']:.2f}" for f in figures
            if f["shown"][0] / f["intended"] < MIN_FIGURE_SCALE]
    assert not tiny, (f"{path} ({device}): figures shown below {MIN_FIGURE_SCALE} of "
                      f"their size, text too small to read: {tiny}")
    assert not raw, (f"{path} ({device}): {len(raw)} pieces of markup shown as text, "
                     "e.g.\n" + "\n".join(raw[:12]))
    assert not overflow, (f"{path} ({device}): {len(overflow)} overflow problems:\n"
                          + "\n".join(overflow[:12]))
    assert not clipped_math, f"{path} ({device}): mathematics cut off: {clipped_math}"


@pytest.mark.parametrize("word", SEARCH_WORDS)
def test_search_finds_pages(browser, base_url, word):
    with open_page(browser, f"{base_url}search.html?q={word}") as page:
        page.wait_for_selector("#search-results ul.search li", timeout=15_000)
        hits = page.locator("#search-results ul.search li").count()
        errors = list(page.errors)
    assert hits > 0, f"searching {word!r} found nothing"
    assert not errors, f"search page console errors {errors}"
