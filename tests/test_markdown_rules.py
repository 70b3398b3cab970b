"""Markdown rules as fixture files: tests/fixtures/markdown/*.md.

Each case is a description, the Markdown of one slide, and the HTML remark's
converter (marked 0.3, GFM, pedantic, smart lists) writes for it, in
markdown-it-py's fixture format (`.` lines between the three parts). A new
rule is a new case in a file, not new Python.

The expected HTML is the converter's: code blocks as `<pre><code>` before
remark gives them their lines. `test_fixture_is_what_remark_shows` runs each
case through the reference remark fork in Chromium (read where it lies, in
../shared) and compares what the slide shows, with the facts
`python -m labdeck.compare` reads, with labdeck's finished slide.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it.common.utils import normalizeReference
from markdown_it.utils import read_fixture_file

from labdeck import remark
from labdeck.markdown import convert, finish
from shared import SHARED

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "markdown"
REMARK_JS = SHARED / "corpus" / "container.training" / "reference" / "remark.min.js"
FACTS_JS = (ROOT / "labdeck" / "compare_facts.js").read_text(encoding="utf-8")

CASES = [pytest.param(md, html, id=f"{path.stem}:{line + 1}:{title}")
         for path in sorted(FIXTURES.glob("*.md"))
         for line, title, md, html in read_fixture_file(path)]


def render_slide(text: str, code: bool = False) -> str:
    """One slide's Markdown as labdeck renders it (its own link definitions only)."""
    slide = remark.parse(text)[0]
    refs = {normalizeReference(k): {"href": h, "title": t or ""} for k, (h, t, _) in slide.links.items()}
    return finish(convert(slide.content, refs), code=code)


def test_there_are_fixtures():
    assert len(CASES) >= 40


@pytest.mark.parametrize("md,html", CASES)
def test_fixture(md, html):
    assert render_slide(md) == html.rstrip("\n")


# ---- the fixtures against remark itself ------------------------------------------

@pytest.fixture(scope="module")
def remark_page(browser):
    if not REMARK_JS.is_file():
        pytest.skip(f"reference remark fork absent ({REMARK_JS}): cannot check the fixtures against it")
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("about:", "data:")) else r.abort())
    page.goto("about:blank")
    page.add_script_tag(content=REMARK_JS.read_text(encoding="utf-8"))
    yield page
    page.close()


REMARK_SLIDE = """(src) => {
  document.body.innerHTML = '';
  remark.create({source: src, highlightSpans: true});
}"""
OUR_SLIDE = """(html) => {
  document.body.innerHTML = '<div class="remark-slides-area"><div class="remark-slide-container">' +
    '<div class="remark-slide-content"></div></div></div>';
  document.querySelector('.remark-slide-content').innerHTML = html;
}"""


@pytest.mark.parametrize("md,html", CASES)
def test_fixture_is_what_remark_shows(remark_page, md, html):
    remark_page.evaluate(REMARK_SLIDE, md)
    theirs = remark_page.evaluate(FACTS_JS)
    remark_page.evaluate(OUR_SLIDE, render_slide(md, code=True))
    ours = remark_page.evaluate(FACTS_JS)
    assert len(theirs) == 1
    assert ours[0] == theirs[0]


def test_list_rule_found_line_by_line_ends_where_marked_s_regex_ends():
    """marked.match_list (the list rule tried at newlines only) against marked's own
    regular expression, at every position of many small sources built from the
    pieces that end a list: blank lines, hr lines, bullets, indents, trailing space."""
    import random

    from labdeck import marked
    pieces = ["- ", "* ", "+ ", "1. ", "12. ", "  ", "   - ", "\n", "\n\n", "\n\n\n", "x", " ", "a b",
              "---", "***", "_ _ _", "-", "\t", "\r", "\f"]
    rng = random.Random(7)
    tried = 0
    for _ in range(6000):
        src = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        for pos in range(len(src)):
            expected = marked.R_LIST.match(src, pos)
            found = marked.match_list(src, pos)
            assert found == (expected and (expected.end(), expected.group(2))), (src, pos)
            tried += expected is not None
    assert tried > 5000          # the sources do hold lists
