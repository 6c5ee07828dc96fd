"""The rendered book, as a reader's browser shows it; and the genai_lib reference in it.

These tests use the one strict build of tests/test_book.py (its module fixture `built_book`), and
are run as part of that module: test_book.py imports them (`from book_rendered import *`), so that
pytest-xdist's --dist loadscope puts them on the worker that builds the book instead of making a
second worker wait for, or repeat, the build. This file is not collected on its own.

The browser is Debian's `chromium` (`make browser`, part of `make test`, installs it), driven
headless by Playwright's Python package through `executable_path`; Playwright never downloads a
browser of its own here. The build is served on 127.0.0.1 and every other request is refused, so
a passing test also shows that the pages need nothing from the network: MathJax comes from the
build (`make book OFFLINE=1` makes the same pages). Screenshots of every page checked are saved
under _build/screenshots/ for a person to look at.

Without chromium or Playwright the browser tests fail when CI is set, and are skipped (with the
reason) elsewhere.
"""

from __future__ import annotations

import functools
import html as htmllib
import http.server
import importlib
import inspect
import os
import pkgutil
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from book.chapters import chapters as toc_chapters

# What test_book.py imports: the fixtures and the tests.
__all__ = [
    "served_book",
    "browser",
    "visit",
    "test_a_browser_shows_the_chapter_as_written",
    "test_a_browser_shows_the_part_map",
    "test_a_browser_shows_the_reference",
    "test_the_reference_lists_every_public_function_and_class_with_its_docstring",
    "test_the_build_serves_mathjax_itself_when_asked",
    "test_no_built_page_shows_solution_code_without_a_click",
    "test_a_solution_opens_on_click",
    "test_chapter_pages_link_their_exercise_edition_in_colab",
    "test_a_browser_loads_the_audio_a_page_embeds",
]

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"

# The pages the browser opens: chapters with math and citations (chapter 01 is executed in the
# test build, so it has figures), a part page with its map, and the reference.
CHAPTER_PAGES = [
    "book/part0/01_generative_modelling",
    "book/part1/02_gan_game",
    "book/part2/05_vae",
    "book/part4/11_diffusion",
]
PART_PAGE = "book/part1/index"
REFERENCE_PAGE = "book/appendices/a_reference"
PAGES_WITH_FIGURES = ["book/part0/01_generative_modelling"]
AUDIO_PAGE = "book/part6/19_sound"  # executed in the test build; its first player is a note of 0.5 s at 4 kHz

CHROMIUM_ARGS = [  # as root, in a sandboxed container, with no network beyond package registries
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
]


def _missing(what: str) -> None:
    """Fail in CI, where the set-up (`make test`) must have installed it; skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI is set, so the browser tests may not be skipped).")
    pytest.skip(what)


def chromium_executable() -> str | None:
    for candidate in (os.environ.get("GENAI_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


# --------------------------------------------------------------------------------------------
# Fixtures: the build served on localhost, one headless chromium


@pytest.fixture(scope="module")
def served_book(built_book):
    """The HTML folder served over HTTP on 127.0.0.1 (fonts and fetch() do not work on file://)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    executable = chromium_executable()
    if executable is None:
        _missing(
            "chromium is not installed: `make browser` installs Debian's package (as root), "
            "or set GENAI_CHROMIUM to a Chromium or Chrome binary"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed: pip install -e '.[test]'")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")  # we bring our own chromium
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Visit:
    """One page opened in the browser, with the requests it tried to make outside the build."""

    def __init__(self, browser, base: str, docname: str):
        self.docname = docname
        self.url = base + docname + ".html"
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.blocked: list[str] = []
        self.errors: list[str] = []

        def route(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                self.blocked.append(route.request.url)
                route.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(self.url, wait_until="load")
        # MathJax 3 resolves startup.promise once it has typeset the page.
        self.page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        self.page.wait_for_timeout(200)

    def screenshot(self, suffix: str = "", selector: str | None = None) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / (self.docname.replace("/", "__") + suffix + ".png")
        if selector:
            element = self.page.locator(selector).first
            element.scroll_into_view_if_needed()
            element.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path))
        return path

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def visit(browser, served_book):
    opened: dict[str, Visit] = {}

    def open_page(docname: str) -> Visit:
        if docname not in opened:
            opened[docname] = Visit(browser, served_book, docname)
        return opened[docname]

    yield open_page
    for page in opened.values():
        page.close()


# What the browser shows: evaluated in the page.
PAGE_FACTS = """async () => {
  const main = document.querySelector('main') || document.body;
  const math = [...main.querySelectorAll('.math')];
  const prose = main.cloneNode(true);
  prose.querySelectorAll('pre, code, script, mjx-container, .math').forEach(e => e.remove());
  const images = [...main.querySelectorAll('img')].map(img => ({
    src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0,
    shown: img.getBoundingClientRect().width > 0}));
  const links = [...main.querySelectorAll('a.reference.internal[href]')].map(a => a.href);
  const missing = [];
  const pages = {};
  for (const link of new Set(links)) {
    const url = new URL(link);
    const id = decodeURIComponent(url.hash.slice(1));
    url.hash = '';
    let doc = document;
    if (url.href !== new URL(location.href.split('#')[0]).href) {
      if (!(url.href in pages)) {
        const response = await fetch(url.href);
        pages[url.href] = response.ok ? new DOMParser().parseFromString(await response.text(), 'text/html') : null;
      }
      doc = pages[url.href];
    }
    if (!doc || (id && !doc.getElementById(id))) missing.push(link);
  }
  return {
    math: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    typeset: main.querySelectorAll('mjx-container').length,
    texErrors: [...main.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
    prose: prose.textContent,
    images, links: links.length, missing,
    citations: [...main.querySelectorAll('.bibtex-citation')].map(e => e.textContent.trim()),
    references: [...main.querySelectorAll('a.reference.internal')].map(a => a.textContent.trim()),
    colab: [...document.querySelectorAll('a[href*="colab.research.google.com"]')].map(a => a.href),
  };
}"""


def expected_colab_link(docname: str) -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    repo = config["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    return f"{colab}/github/{repo}/blob/{config['repository']['branch']}/{docname}.ipynb"


# --------------------------------------------------------------------------------------------
# The browser tests


@pytest.mark.parametrize("docname", CHAPTER_PAGES)
def test_a_browser_shows_the_chapter_as_written(visit, docname):
    page = visit(docname)
    facts = page.page.evaluate(PAGE_FACTS)
    page.screenshot()
    where = f"{docname}.html in chromium"

    assert not page.blocked, (
        f"{where} tried to load {page.blocked[:5]} from outside the build; the book must read "
        "offline. For MathJax: the test build serves it from _static/mathjax (GENAI_BOOK_MATHJAX)."
    )
    assert not page.errors, f"{where}: JavaScript errors {page.errors[:5]}"

    assert facts["math"] > 0, f"{where} has no math element; this page is chosen because it has math."
    assert not facts["untypeset"], (
        f"{where}: MathJax did not typeset {len(facts['untypeset'])} of {facts['math']} math elements, "
        f"e.g. {facts['untypeset'][:3]}; is MathJax loaded (see the page's <script> tags)?"
    )
    assert not facts["texErrors"], f"{where}: MathJax reports TeX errors in {facts['texErrors'][:3]}"
    for raw in ("$$", "\\(", "\\[", "\\begin{"):
        assert raw not in facts["prose"], (
            f"{where} shows a literal {raw!r} in its text: an equation that was not parsed as math."
        )

    assert facts["citations"], f"{where} shows no citation; the page is chosen because it cites."
    unresolved = [c for c in facts["citations"] if "?" in c or not c.strip("[]() ")]
    assert not unresolved, f"{where}: citations that did not resolve: {unresolved}"
    assert facts["links"] > 0 and not facts["missing"], (
        f"{where}: cross-references whose target page or anchor does not exist: {facts['missing'][:5]}"
    )
    assert not [r for r in facts["references"] if "??" in r], f"{where}: a numbered reference shows '??'."

    expected = expected_colab_link(docname)
    assert expected in facts["colab"], (
        f"{where}: the Colab button opens {facts['colab']}, not {expected} (the chapter's .ipynb on the main branch)."
    )

    broken = [image["src"] for image in facts["images"] if not image["ok"]]
    assert not broken, f"{where}: images that did not load: {broken[:5]}"
    if docname in PAGES_WITH_FIGURES:
        outputs = [image for image in facts["images"] if "_images/" in image["src"] and image["shown"]]
        assert outputs, f"{where} is executed in the test build but shows no figure."
        page.screenshot("-figure", "div.cell_output img")
    page.screenshot("-equation", "div.math")


def test_a_browser_shows_the_part_map(visit, built_book):
    page = visit(PART_PAGE)
    facts = page.page.evaluate(PAGE_FACTS)
    page.screenshot()
    page.screenshot("-map", ".genai-part-map-figure")
    assert not page.blocked and not page.errors, (page.blocked, page.errors)
    svg = page.page.evaluate("""() => {
      const svg = document.querySelector('svg.genai-part-map');
      if (!svg) return null;
      const box = svg.getBoundingClientRect();
      return {width: box.width, height: box.height,
              chapters: [...svg.querySelectorAll('a')].map(a => a.getAttribute('href')),
              dots: svg.querySelectorAll('circle').length};
    }""")
    assert svg, f"{PART_PAGE}.html shows no part map (the {{genai-part-map}} directive)."
    assert svg["width"] > 300 and svg["height"] > 100, f"The part map is drawn too small: {svg}"
    part = PART_PAGE.split("/")[1]
    chapters = [page.path.stem for page in toc_chapters(ROOT) if page.folder == part]
    for chapter in chapters:
        assert f"{chapter}.html" in svg["chapters"], f"The map of {part} has no box for {chapter}: {svg}"
    assert svg["dots"] >= len(chapters), f"The map of {part} shows fewer module uses than chapters: {svg}"
    assert not facts["missing"], f"{PART_PAGE}.html links to missing targets: {facts['missing']}"


def test_a_browser_shows_the_reference(visit):
    page = visit(REFERENCE_PAGE)
    page.screenshot()
    assert not page.blocked and not page.errors, (page.blocked, page.errors)
    shown = page.page.evaluate("""() => ({
      functions: document.querySelectorAll('dl.py.function').length,
      classes: document.querySelectorAll('dl.py.class').length,
      modules: document.querySelectorAll('h3').length})""")
    assert shown["functions"] > 20 and shown["classes"] > 10 and shown["modules"] > 10, shown


# --------------------------------------------------------------------------------------------
# The genai_lib reference lists every public function and class, with its docstring


def public_objects() -> list[tuple[str, str, object]]:
    """(module, name, object) for every public function and class defined in genai_lib.

    Public: named in its module's __all__ or, without __all__, not starting with '_'. Only objects
    defined in that module count (a name re-exported by a package is found in its own module).
    """
    import genai_lib

    found = []
    modules = ["genai_lib"] + [info.name for info in pkgutil.walk_packages(genai_lib.__path__, "genai_lib.")]
    for module_name in modules:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [name for name in vars(module) if not name.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module_name:
                found.append((module_name, name, obj))
    return found


def own_docstring(obj) -> str | None:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    if not doc or (inspect.isclass(obj) and doc.startswith(obj.__name__ + "(")):  # a dataclass's own
        return None
    return inspect.cleandoc(doc)


def skeleton(text: str) -> str:
    """Letters and digits only: compares a docstring with its rendering (quotes, dashes, markup)."""
    return re.sub(r"[\W_]+", "", text)


def test_the_reference_lists_every_public_function_and_class_with_its_docstring(built_book):
    page = (built_book / f"{REFERENCE_PAGE}.html").read_text(encoding="utf8")
    entries = {}  # id of an autodoc entry -> the text of its description
    for match in re.finditer(r'<dt class="sig sig-object py" id="([^"]+)">(.*?)</dl>', page, flags=re.S):
        entries[match.group(1)] = htmllib.unescape(re.sub(r"<[^>]+>", " ", match.group(2)))
    objects = public_objects()
    assert len(objects) > 100, f"Found only {len(objects)} public objects in genai_lib; is it installed?"
    missing, undocumented, wrong = [], [], []
    for module, name, obj in objects:
        key = f"{module}.{name}"
        if key not in entries:
            missing.append(key)
            continue
        doc = own_docstring(obj)
        if doc is None:
            undocumented.append(key)
        elif skeleton(doc.splitlines()[0]) not in skeleton(entries[key]):
            wrong.append(f"{key}: {doc.splitlines()[0]!r}")
    assert not missing, (
        f"{REFERENCE_PAGE}.md does not list {len(missing)} public names of genai_lib: {missing[:10]}. "
        "A module in a new subpackage needs a ```{genai-modules} genai_lib.<subpackage}``` block there."
    )
    assert not wrong, f"The reference shows another first line of the docstring for: {wrong[:10]}"
    # Objects without a docstring of their own are listed too (with their signature); say which.
    print(f"{len(objects)} public objects documented; without a docstring of their own: {undocumented}")


def test_the_build_serves_mathjax_itself_when_asked(built_book):
    """The test build is made as `make book OFFLINE=1` makes it: MathJax from _static/, no CDN."""
    from test_book import local_mathjax

    if local_mathjax() is None:
        pytest.skip("MathJax has not been fetched (`make mathjax`), so the test build used the CDN")
    page = (built_book / "book/part0/01_generative_modelling.html").read_text(encoding="utf8")
    sources = re.findall(r'<script[^>]*src="([^"]*tex-mml-chtml[^"]*)"', page)
    assert sources, "The chapter loads no MathJax (tex-mml-chtml.js)."
    for source in sources:
        assert "://" not in source, f"MathJax is loaded from {source}, not from the build."
        target = (built_book / "book/part0" / source.split("?")[0]).resolve()
        assert target.is_file(), f"The page loads MathJax from {source}, which the build lacks ({target})."
    fonts = list((built_book / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    assert fonts, "MathJax's fonts were not copied into _static/mathjax/output/chtml/fonts/woff-v2."


# --------------------------------------------------------------------------------------------
# Exercises: a solution is folded until the reader clicks (tests/test_notebooks.py tags the cells)

SOLUTION_PAGES = ["book/part1/03_dcgan", "book/part2/05_vae", "book/part3/10_training_gpt"]


def test_no_built_page_shows_solution_code_without_a_click(pages):
    folded = 0
    for name, page in pages.items():
        for match in re.finditer(r"BEGIN SOLUTION", page.html):
            before = page.html[: match.start()]
            assert before.rfind("<details") > before.rfind("</details>"), (
                f"{name}.html shows solution code outside a folded <details> block: tag its cell hide-input."
            )
            folded += 1
    assert folded >= 40, f"only {folded} folded solutions in the book"


@pytest.mark.parametrize("docname", SOLUTION_PAGES)
def test_a_solution_opens_on_click(visit, docname):
    page = visit(docname).page
    cell = page.locator("div.cell.tag_hide-input", has_text="BEGIN SOLUTION").first
    code = cell.locator("div.cell_input").first
    assert not code.is_visible(), f"{docname}: a solution is visible before any click"
    cell.locator("summary").first.click()
    code.wait_for(state="visible", timeout=5_000)
    assert "BEGIN SOLUTION" in code.inner_text()


def test_chapter_pages_link_their_exercise_edition_in_colab(pages):
    editions = {p.stem for p in (ROOT / "exercises").glob("*.ipynb")}
    assert len(editions) >= 18
    for name, page in pages.items():
        stem = name.rsplit("/", 1)[-1]
        if stem in editions:
            link = (
                f"https://colab.research.google.com/github/genai-textbook/genai-book/blob/main/exercises/{stem}.ipynb"
            )
            assert link in page.links, f"{name}.html does not link its exercise edition in Colab ({link})"


AUDIO_FACTS = """async () => {
  const players = [...(document.querySelector('main') || document.body).querySelectorAll('audio')];
  if (!players.length) return {count: 0};
  const a = players[0];
  a.load();
  const loaded = await new Promise(ok => {
    if (a.readyState >= 1) return ok('loaded');
    a.addEventListener('loadedmetadata', () => ok('loaded'));
    a.addEventListener('error', () => ok('error ' + (a.error ? a.error.code : '?')), true);
    setTimeout(() => ok('timeout'), 10000);
  });
  const source = a.currentSrc || (a.querySelector('source') || {}).src || '';
  return {count: players.length, loaded, duration: a.duration, embedded: source.startsWith('data:audio/wav;base64,')};
}"""


def test_a_browser_loads_the_audio_a_page_embeds(visit):
    """A reader can play chapter 19's notes: the first <audio> element decodes its embedded WAV and knows its
    length. The note is sampled at 4 kHz, which some browsers refuse; genai_lib.audio.player resamples it."""
    page = visit(AUDIO_PAGE)
    facts = page.page.evaluate(AUDIO_FACTS)
    assert facts["count"] >= 4, f"{AUDIO_PAGE}: expected the chapter's audio players, found {facts['count']}."
    assert facts["embedded"], f"{AUDIO_PAGE}: the first player's WAV is not embedded in the page (a data: URL)."
    assert facts["loaded"] == "loaded", f"{AUDIO_PAGE}: the browser could not load the first player's WAV: {facts}."
    assert abs(facts["duration"] - 0.5) < 0.01, f"{AUDIO_PAGE}: the first note should last 0.5 s, got {facts}."
    assert not page.errors, page.errors
