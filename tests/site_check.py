"""Browser test of the built website: every page opened in headless Chromium.

Run after a build (``make book`` or the quick build in CI) with ``make site-test``,
i.e. ``python -m pytest tests/site_check.py``. Not collected by ``make test``
(the file name does not start with ``test_``), because it needs ``_build/html``.

Each page fails on a console error, an image that did not load, mathematics left
unrendered, or an internal link (target page or anchor) that does not exist; a
search for words from the book must find pages. A screenshot of every page goes
to ``_build/screenshots/``. Chromium is Debian's (``$CHROMIUM``, default
``/usr/bin/chromium``), driven by Playwright without downloading a browser.
"""

import contextlib
import functools
import http.server
import os
import pathlib
import threading
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The flags this closed network needs: no background connections, no GPU, no sandbox as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SEARCH_WORDS = ["gradient", "saturation", "initialisation"]
SKIPPED_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static"}


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
def open_page(browser, url):
    """A page loaded from ``url`` with its console errors collected in ``page.errors``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
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
LINKS = "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
IDS = "() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"


@pytest.fixture(scope="module")
def visited():
    """Per visited page: its element ids and the internal links it holds."""
    return {}


@pytest.mark.parametrize("path", PAGES)
def test_page(browser, base_url, visited, path):
    with open_page(browser, base_url + path) as page:
        page.evaluate(WAIT_FOR_MATHJAX)
        shot = SCREENSHOTS / (path.removesuffix(".html") + ".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)  # also loads every image
        broken = page.evaluate(BROKEN_IMAGES)
        unrendered = page.evaluate(UNRENDERED_MATH)
        # Under the address asked for and the one landed on (index.html redirects).
        info = {"ids": set(page.evaluate(IDS)), "links": page.evaluate(LINKS)}
        visited[base_url + path] = visited[page.url.split("#")[0]] = info
        errors = list(page.errors)
    assert not errors, f"{path}: console errors {errors}"
    assert not broken, f"{path}: images that did not load: {broken}"
    assert not unrendered, f"{path}: mathematics left unrendered: {unrendered}"


def test_internal_links(browser, base_url, visited):
    unvisited = [p for p in PAGES if base_url + p not in visited]
    assert not unvisited, f"run the page tests first (the whole file): {unvisited}"
    missing = []
    request = browser.new_context().request
    for source, info in visited.items():
        for link in info["links"]:
            url, _, fragment = link.partition("#")
            if not url.startswith(base_url):
                continue
            target = visited.get(url) or visited.get(urllib.parse.urljoin(url, "index.html"))
            if target is None:
                if request.get(url).status >= 400:
                    missing.append(f"{source} -> {link} (HTTP error)")
            elif fragment and urllib.parse.unquote(fragment) not in target["ids"]:
                missing.append(f"{source} -> {link} (no such anchor)")
    assert not missing, "broken internal links:\n" + "\n".join(sorted(set(missing)))


@pytest.mark.parametrize("word", SEARCH_WORDS)
def test_search_finds_pages(browser, base_url, word):
    with open_page(browser, f"{base_url}search.html?q={word}") as page:
        page.wait_for_selector("#search-results ul.search li", timeout=15_000)
        hits = page.locator("#search-results ul.search li").count()
        errors = list(page.errors)
    assert hits > 0, f"searching {word!r} found nothing"
    assert not errors, f"search page console errors {errors}"
